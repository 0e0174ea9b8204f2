// The service's command line: `serve` runs the HTTP API, `token create` issues an API token.
import { parseArgs } from "node:util";
import { scopeOf } from "../domain/index.ts";
import { buildApp } from "./app.ts";
import { createApiToken } from "./auth.ts";
import { followExport } from "./follow.ts";
import { defaultOutboundPolicy } from "./outbound.ts";
import { createServices } from "./services.ts";
import { Store } from "./store.ts";
import { GENERATED_UNTIL, generateApp, generateCampaigns } from "./synthetic.ts";

/** How many devices each generated campaign goes to (the first by id). */
const CAMPAIGN_RECIPIENTS = 50_000;

const USAGE = `usage:
  pushplane-service serve [--port 8080] [--host 127.0.0.1] [--data-dir .pushplane/data] [--rate-limit 1200] [--retention-sweep-minutes 60]
                          [--outbound-allow-host PATTERN]... [--outbound-allow-loopback] [--trust-proxy ADDRESS]... [--lease-seconds 30]
                          [--account-delete-grace-minutes 60]
      --account-delete-grace-minutes  how long an account deletion (POST /v0.1/user/dsr/delete) waits before it runs: the
                              window in which it can be cancelled
      --lease-seconds         how long a process holds a piece of background work without renewing it: after a crash,
                              the work resumes (in this process restarted, or another on the same store) that long after
      --trust-proxy           a reverse proxy (address or CIDR) whose X-Forwarded-For names the client; repeatable
      --outbound-allow-host   a host the service may connect to (SAS URLs, callbacks, storage accounts), e.g.
                              hooks.example.com or *.example.com; repeatable; Azure Blob endpoints are always allowed
      --outbound-allow-loopback  allow http:// to 127.0.0.1/localhost (Azurite in development and tests; never in production)
  pushplane-service token create --owner <owner> [--app <app>]... [--description text] [--data-dir .pushplane/data]
      no --app: every app of the owner; one or more: those apps (an --app may name another owner as owner/app)
  PUSHPLANE_API_TOKEN=<token> pushplane-service export follow --endpoint http://127.0.0.1:8787 --app owner/app (--run <id> | --job <id>)
  pushplane-service generate --app owner/app [--app owner/app2] [--devices 10000] [--events-per-device 2] [--campaigns 0] [--seed 42] [--data-dir .pushplane/data]
      --campaigns             notifications as if sent in the 30 days before the generator's clock (to up to 50,000 devices each), with opens and purchases after them
      everything generated happened before ${new Date(GENERATED_UNTIL).toISOString()}: ask for series with ending_at=${new Date(GENERATED_UNTIL - 1000).toISOString().replace(".000", "")}`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: "string", default: "8080" },
      host: { type: "string", default: "127.0.0.1" },
      "data-dir": { type: "string", default: ".pushplane/data" },
      "rate-limit": { type: "string", default: "1200" },
      "retention-sweep-minutes": { type: "string", default: "60" },
      "lease-seconds": { type: "string", default: "30" },
      "account-delete-grace-minutes": { type: "string", default: "60" },
      "outbound-allow-host": { type: "string", multiple: true },
      "outbound-allow-loopback": { type: "boolean", default: false },
      "trust-proxy": { type: "string", multiple: true },
      owner: { type: "string" },
      description: { type: "string", default: "" },
      app: { type: "string", multiple: true },
      devices: { type: "string", default: "10000" },
      "events-per-device": { type: "string", default: "2" },
      campaigns: { type: "string", default: "0" },
      seed: { type: "string", default: "42" },
      endpoint: { type: "string", default: "http://127.0.0.1:8787" },
      run: { type: "string" },
      job: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, sub] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  if (command === "serve") {
    const sweepMinutes = Number(values["retention-sweep-minutes"]);
    if (!(sweepMinutes >= 1)) throw new Error(`--retention-sweep-minutes must be a number of minutes ≥ 1, got '${values["retention-sweep-minutes"]}'`);
    const leaseSeconds = Number(values["lease-seconds"]);
    if (!(leaseSeconds >= 1)) throw new Error(`--lease-seconds must be a number of seconds ≥ 1, got '${values["lease-seconds"]}'`);
    const graceMinutes = Number(values["account-delete-grace-minutes"]);
    if (!(graceMinutes >= 0)) throw new Error(`--account-delete-grace-minutes must be a number of minutes ≥ 0, got '${values["account-delete-grace-minutes"]}'`);
    const store = new Store(values["data-dir"]);
    const app = await buildApp({
      runner: { leaseMs: leaseSeconds * 1000 },
      accountDeleteGraceMs: graceMinutes * 60_000,
      store,
      logger: { level: process.env.PUSHPLANE_LOG_LEVEL ?? "info" },
      rateLimitPerMinute: Number(values["rate-limit"]),
      retentionSweepIntervalMs: sweepMinutes * 60_000,
      ...(values["trust-proxy"] ? { trustProxy: values["trust-proxy"] } : {}),
      outbound: {
        allowedHosts: [...defaultOutboundPolicy.allowedHosts, ...(values["outbound-allow-host"] ?? [])],
        allowLoopback: values["outbound-allow-loopback"],
      },
    });
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
  if (command === "export" && sub === "follow") {
    const [owner, app] = (values.app?.[0] ?? "").split("/");
    const apiToken = process.env.PUSHPLANE_API_TOKEN;
    if (!owner || !app) throw new Error("export follow needs --app owner/app");
    if (!apiToken) throw new Error("export follow reads the API token from PUSHPLANE_API_TOKEN (kept out of the process list)");
    if (!values.run === !values.job) throw new Error("export follow needs one of --run <id> or --job <id>");
    const run = await followExport({ endpoint: values.endpoint, apiToken, owner, app, ...(values.run ? { runId: values.run } : { jobId: values.job! }) });
    console.log(`${run.export_id}: ${run.status}, ${run.rows_written} rows${run.blob_name ? ` → ${run.blob_name}` : ""}${run.error ? ` (${run.error})` : ""}`);
    process.exitCode = run.status === "Completed" ? 0 : 1;
    return;
  }
  if (command === "generate") {
    const apps = (values.app ?? []).map((text) => {
      const [owner, app, ...rest] = text.split("/");
      if (!owner || !app || rest.length > 0) throw new Error(`--app takes owner/app, got '${text}'`);
      return { owner, app };
    });
    if (apps.length === 0) throw new Error("generate needs at least one --app owner/app");
    const store = new Store(values["data-dir"]);
    const services = createServices(store);
    for (const [i, key] of apps.entries()) {
      const started = performance.now();
      const result = generateApp(services.devices, key, {
        devices: Number(values.devices),
        eventsPerDevice: Number(values["events-per-device"]),
        seed: Number(values.seed) + i,
        onProgress: (done, total) => process.stderr.write(`\r${key.owner}/${key.app}: ${done.toLocaleString()} / ${total.toLocaleString()} devices`),
      });
      const seconds = (performance.now() - started) / 1000;
      process.stderr.write("\n");
      console.log(
        `${key.owner}/${key.app}: ${result.devices} devices, ${result.users} users, ${result.events} events in ${seconds.toFixed(1)} s ` +
          `(${Math.round(result.devices / seconds).toLocaleString()} devices/s)`,
      );
      if (Number(values.campaigns) > 0) {
        const sent = generateCampaigns(services, key, { campaigns: Number(values.campaigns), recipients: CAMPAIGN_RECIPIENTS, seed: Number(values.seed) + i });
        console.log(`${key.owner}/${key.app}: campaigns ${sent.campaigns}, deliveries ${sent.deliveries}, opens and purchases after them ${sent.events}`);
      }
    }
    await services.close();
    store.close();
    return;
  }
  if (command === "token" && sub === "create") {
    if (!values.owner) throw new Error("token create needs --owner (and --app for each app it may touch; none: every app of the owner)");
    const scope = scopeOf(values.owner, values.app ?? []);
    const store = new Store(values["data-dir"]);
    const { token } = createApiToken(store, scope, values.description);
    store.close();
    // The token alone on stdout (for scripts); what it may touch on stderr.
    process.stderr.write(`scope: ${scope.join(", ")}\n`);
    process.stdout.write(`${token}\n`);
    return;
  }
  throw new Error(`unknown command '${positionals.join(" ")}'\n${USAGE}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`pushplane-service: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
