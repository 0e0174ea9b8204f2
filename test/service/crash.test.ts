// A crash (SIGKILL) during bulk ingestion leaves no half-written batch: the store holds all of the
// batch or none of it, and opens cleanly afterwards.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createApiToken } from "../../service/auth.ts";
import { Store } from "../../service/store.ts";
import { REPO_ROOT } from "../helpers/pulumi.ts";

const BATCH = 60_000;
const body = Array.from({ length: BATCH }, (_, i) =>
  JSON.stringify({ install_id: randomUUID(), properties: { carrierCountry: "US", osApiLevel: i % 30 }, custom_properties: { visits: i } }),
).join("\n");

async function startServiceProcess(dataDir: string) {
  const child = spawn("tsx", ["service/cli.ts", "serve", "--port", "0", "--data-dir", dataDir], { cwd: REPO_ROOT, env: { ...process.env, PUSHPLANE_LOG_LEVEL: "warn" } });
  const url = await new Promise<string>((resolve, reject) => {
    let seen = "";
    child.stdout.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(seen);
      if (match) resolve(match[1]!);
    });
    child.on("exit", (code) => reject(new Error(`service exited ${code} before listening`)));
  });
  return { child, url };
}

describe("crash during bulk ingestion", () => {
  it.each([400, 1500, 3000])("SIGKILL %i ms into a bulk request leaves all or nothing", { timeout: 60_000 }, async (killAfterMs) => {
    const dataDir = mkdtempSync(join(tmpdir(), "pushplane-crash-"));
    try {
      const setup = new Store(dataDir);
      const { token } = createApiToken(setup, { owner: "acme", app: "demo" });
      setup.close();

      const { child, url } = await startServiceProcess(dataDir);
      const exited = new Promise((resolve) => child.on("exit", resolve));
      const request = fetch(`${url}/v0.1/apps/acme/demo/ingest/devices/bulk`, {
        method: "POST",
        headers: { "x-api-token": token, "content-type": "application/x-ndjson" },
        body,
      }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, killAfterMs));
      child.kill("SIGKILL");
      await Promise.all([exited, request]);

      const store = new Store(dataDir);
      const devices = (store.db.prepare("SELECT count(*) AS n FROM devices").get() as { n: number }).n;
      const attributes = (store.db.prepare("SELECT count(*) AS n FROM device_attributes").get() as { n: number }).n;
      const integrity = store.db.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
      store.close();
      expect([0, BATCH]).toContain(devices);
      expect(attributes).toBe(devices);
      expect(integrity.integrity_check).toBe("ok");
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
