// Starts Azurite's blob service (npm azurite) on a free loopback port with its data in a temporary
// directory, and gives the connection string for its well-known development account.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Azurite's published development account (not a secret: the same in every Azurite).
const ACCOUNT = "devstoreaccount1";
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface Azurite {
  readonly connectionString: string;
  readonly blobEndpoint: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface AzuriteOptions {
  /** Keep blobs in memory instead of on disk (Azurite's --inMemoryPersistence): a faster sink for benchmarks. */
  inMemory?: boolean;
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  const location = mkdtempSync(join(tmpdir(), "pushplane-azurite-"));
  const port = await freePort();
  const child: ChildProcess = spawn(
    "azurite-blob",
    [
      "--blobHost", "127.0.0.1", "--blobPort", String(port), "--silent", "--skipApiVersionCheck", "--disableProductStyleUrl",
      ...(options.inMemory ? ["--inMemoryPersistence"] : ["--location", location]),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const blobEndpoint = `http://127.0.0.1:${port}/${ACCOUNT}`;
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  for (let attempt = 0; ; attempt++) {
    try {
      await fetch(`${blobEndpoint}?comp=list`);
      break;
    } catch {
      if (child.exitCode !== null || attempt > 100) {
        child.kill();
        throw new Error(`Azurite did not start (is npm's azurite installed? run npm install):\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    blobEndpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=${blobEndpoint};`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill();
        // Azurite waits for open keep-alive connections on SIGTERM; do not wait for it long.
        const force = setTimeout(() => child.kill("SIGKILL"), 2_000);
        await exited;
        clearTimeout(force);
      }
      rmSync(location, { recursive: true, force: true });
    },
  };
}
