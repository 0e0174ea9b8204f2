// A crash (SIGKILL) during bulk ingestion leaves no half-written slice: the store holds whole slices
// of the batch, opens cleanly afterwards, and the same body sent again completes it exactly once.
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createApiToken } from "../../service/auth.ts";
import { Store } from "../../service/store.ts";
import { startServiceProcess } from "../helpers/service-process.ts";

const BATCH = 60_000;
const body = Array.from({ length: BATCH }, (_, i) =>
  JSON.stringify({ install_id: randomUUID(), properties: { carrierCountry: "US", osApiLevel: i % 30 }, custom_properties: { visits: i } }),
).join("\n");

describe("crash during bulk ingestion", () => {
  // Spread over the second or so the batch takes to parse and write here (before, during, after).
  // "wal": the moment the batch's pages start reaching the write-ahead log, i.e. inside the write.
  it.each([400, 700, 1000, 1300, "wal"] as const)("SIGKILL %s ms into a bulk request leaves whole slices, and sending it again completes it", { timeout: 60_000 }, async (killAt) => {
    const dataDir = mkdtempSync(join(tmpdir(), "pushplane-crash-"));
    try {
      const setup = new Store(dataDir);
      const { token } = createApiToken(setup, { owner: "acme", app: "demo" });
      setup.close();

      const { child, url } = await startServiceProcess(dataDir);
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
      const request = fetch(`${url}/v0.1/apps/acme/demo/ingest/devices/bulk`, {
        method: "POST",
        headers: { "x-api-token": token, "content-type": "application/x-ndjson" },
        body,
      }).catch(() => undefined);
      if (killAt === "wal") {
        const wal = join(dataDir, "pushplane.sqlite-wal");
        const before = existsSync(wal) ? statSync(wal).size : 0;
        for (let i = 0; i < 2_000 && (existsSync(wal) ? statSync(wal).size : 0) <= before; i++) await new Promise((resolve) => setTimeout(resolve, 2));
      } else {
        await new Promise((resolve) => setTimeout(resolve, killAt));
      }
      child.kill("SIGKILL");
      const [signal, response] = await Promise.all([exited, request]);
      expect(signal).toBe("SIGKILL");

      const store = new Store(dataDir);
      const count = (table: string) => (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      const devices = count("devices");
      const attributes = count("device_attributes");
      const integrity = store.db.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
      const ledger = store.db.prepare("SELECT items_done AS n FROM ingest_batches").get() as { n: number } | undefined;
      store.close();
      // Whole slices: every committed slice is in the ledger, in the same transaction as its devices.
      if (devices > 0) expect(ledger?.n).toBe(devices);
      // An answered request was committed whole; an unanswered one may have been in part.
      if (response?.ok) expect(devices).toBe(BATCH);
      expect(attributes).toBe(devices);
      expect(integrity.integrity_check).toBe("ok");

      // The client did not get its answer and sends the same body again: the rest goes in.
      const restarted = await startServiceProcess(dataDir);
      try {
        const retry = await fetch(`${restarted.url}/v0.1/apps/acme/demo/ingest/devices/bulk`, {
          method: "POST",
          headers: { "x-api-token": token, "content-type": "application/x-ndjson" },
          body,
        });
        expect(await retry.json()).toEqual({ accepted: BATCH });
      } finally {
        restarted.child.kill("SIGKILL");
      }
      const after = new Store(dataDir);
      expect((after.db.prepare("SELECT count(*) AS n FROM device_attributes").get() as { n: number }).n).toBe(BATCH);
      after.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
