// A crash (SIGKILL) at any moment of an erasure loses nothing and repeats nothing: restarted, the
// service completes the request, the subject is gone from rows and bytes, everyone else is whole,
// and the receipt counts what was erased once.
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createApiToken } from "../../service/auth.ts";
import { Store } from "../../service/store.ts";
import { startServiceProcess } from "../helpers/service-process.ts";

const OTHERS = 5_000;
const LEASE = ["--lease-seconds", "2"];
const EMAIL = "grace.hopper@example.org";
const line = (userId: string, email: string) => JSON.stringify({ install_id: randomUUID(), user_id: userId, properties: { carrierCountry: "US" }, custom_properties: { email } });
const body = [...Array.from({ length: OTHERS }, (_, i) => line(`user-${i}`, `user${i}@example.org`)), line("grace", EMAIL), line("grace", EMAIL), line("grace-ipad", EMAIL)].join("\n");

describe("crash during an erasure", () => {
  it.each([0, 15, 40, 120])("SIGKILL %s ms after the request is accepted: restarted, it completes once, and nothing else is lost", { timeout: 60_000 }, async (killAfter) => {
    const dataDir = mkdtempSync(join(tmpdir(), "pushplane-dsr-crash-"));
    try {
      const setup = new Store(dataDir);
      const { token } = createApiToken(setup, { owner: "acme", app: "demo" });
      setup.close();
      const headers = { "x-api-token": token, "content-type": "application/json" };

      // Work a killed process held resumes once its lease (2 s here, 30 s by default) runs out.
      const first = await startServiceProcess(dataDir, LEASE);
      const ingested = await fetch(`${first.url}/v0.1/apps/acme/demo/ingest/devices/bulk`, { method: "POST", headers: { ...headers, "content-type": "application/x-ndjson" }, body });
      expect(ingested.status).toBe(200);
      const created = await fetch(`${first.url}/v0.1/apps/acme/demo/data_subject_requests`, {
        method: "POST",
        headers,
        body: JSON.stringify({ kind: "erasure", subject: { user_id: "grace", custom_properties: { email: EMAIL } } }),
      });
      expect(created.status).toBe(202);
      const { id } = (await created.json()) as { id: string };
      const exited = new Promise((resolve) => first.child.on("exit", resolve));
      await new Promise((resolve) => setTimeout(resolve, killAfter));
      first.child.kill("SIGKILL");
      await exited;

      const second = await startServiceProcess(dataDir, LEASE);
      let request: { state: string; receipt: { devices: { removed: number } } | null } | undefined;
      for (let i = 0; i < 200; i++) {
        request = (await (await fetch(`${second.url}/v0.1/apps/acme/demo/data_subject_requests/${id}`, { headers })).json()) as typeof request;
        if (request!.state === "Completed") break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      second.child.kill("SIGKILL");
      expect(request).toMatchObject({ state: "Completed", receipt: { devices: { removed: 3 } } });

      const store = new Store(dataDir);
      const devices = store.db.prepare("SELECT user_id FROM devices").all() as { user_id: string }[];
      const integrity = store.db.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
      store.close();
      expect(integrity.integrity_check).toBe("ok");
      expect(devices).toHaveLength(OTHERS);
      expect(devices.some((d) => d.user_id.startsWith("grace"))).toBe(false);
      const bytes = Buffer.concat([join(dataDir, "pushplane.sqlite"), join(dataDir, "pushplane.sqlite-wal")].filter(existsSync).map((path) => readFileSync(path)));
      expect(bytes.includes(Buffer.from(EMAIL))).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
