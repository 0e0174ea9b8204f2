// The service's command line: `serve` runs the HTTP API, `token create` issues an API token.
import { parseArgs } from "node:util";
import { buildApp } from "./app.ts";
import { createApiToken } from "./auth.ts";
import { Store } from "./store.ts";

const USAGE = `usage:
  pushplane-service serve [--port 8080] [--host 127.0.0.1] [--data-dir .pushplane/data] [--rate-limit 1200]
  pushplane-service token create --owner <owner> --app <app> [--description text] [--data-dir .pushplane/data]`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: "string", default: "8080" },
      host: { type: "string", default: "127.0.0.1" },
      "data-dir": { type: "string", default: ".pushplane/data" },
      "rate-limit": { type: "string", default: "1200" },
      owner: { type: "string" },
      app: { type: "string" },
      description: { type: "string", default: "" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, sub] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  if (command === "serve") {
    const store = new Store(values["data-dir"]);
    const app = await buildApp({ store, logger: { level: process.env.PUSHPLANE_LOG_LEVEL ?? "info" }, rateLimitPerMinute: Number(values["rate-limit"]) });
    const address = await app.listen({ port: Number(values.port), host: values.host });
    // One machine-readable line first: scripts and tests read the address from it.
    process.stdout.write(`pushplane service listening on ${address}\n`);
    const stop = async () => {
      await app.close();
      store.close();
      process.exit(0);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    return;
  }
  if (command === "token" && sub === "create") {
    if (!values.owner || !values.app) throw new Error("token create needs --owner and --app");
    const store = new Store(values["data-dir"]);
    const { token } = createApiToken(store, { owner: values.owner, app: values.app }, values.description);
    store.close();
    process.stdout.write(`${token}\n`);
    return;
  }
  throw new Error(`unknown command '${positionals.join(" ")}'\n${USAGE}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`pushplane-service: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
