// A crash (SIGKILL) at any moment of an erasure loses nothing and repeats nothing: restarted, the
// service completes the request, the subject is gone from rows and bytes — and from the export blob
// it rewrites — everyone else is whole, and the receipt counts what was erased once.
import { randomUUID } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { BlobServiceClient, ContainerSASPermissions } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiToken } from "../../service/auth.ts";
import { Store } from "../../service/store.ts";
import { startAzurite, type Azurite } from "../helpers/azurite.ts";
import { startServiceProcess } from "../helpers/service-process.ts";

const OTHERS = 5_000;
const LEASE = ["--lease-seconds", "2"];
const EMAIL = "grace.hopper@example.org";
const line = (userId: string, email: string) => JSON.stringify({ install_id: randomUUID(), user_id: userId, properties: { carrierCountry: "US" }, custom_properties: { email } });
const body = [...Array.from({ length: OTHERS }, (_, i) => line(`user-${i}`, `user${i}@example.org`)), line("grace", EMAIL), line("grace", EMAIL), line("grace-ipad", EMAIL)].join("\n");

/** Kills the service `killAfter` ms from now, starts it again on the same store, and waits for the request to end; answers it. */
async function killRestartAndWait<R extends { state: string }>(first: ChildProcess, killAfter: number, dataDir: string, args: string[], id: string, headers: Record<string, string>): Promise<R> {
  const exited = new Promise((resolve) => first.on("exit", resolve));
  await new Promise((resolve) => setTimeout(resolve, killAfter));
  first.kill("SIGKILL");
  await exited;
  const second = await startServiceProcess(dataDir, args);
  let request: R | undefined;
  for (let i = 0; i < 400; i++) {
    request = (await (await fetch(`${second.url}/v0.1/apps/acme/demo/data_subject_requests/${id}`, { headers })).json()) as R;
    if (request.state === "Completed") break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  second.child.kill("SIGKILL");
  return request!;
}

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
      const request = await killRestartAndWait<{ state: string; receipt: { devices: { removed: number } } | null }>(first.child, killAfter, dataDir, LEASE, id, headers);
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

describe("crash during an erasure that rewrites an export blob", () => {
  let azurite: Azurite;
  beforeAll(async () => {
    azurite = await startAzurite();
  }, 60_000);
  afterAll(async () => {
    await azurite?.stop();
  });
  const checksum = (lines: string[]) => createHash("sha256").update(lines.join("\n")).digest("hex");

  it.each([0, 30, 90, 250])("SIGKILL %s ms after the request is accepted: restarted, the blob is rewritten once, everyone else's lines kept", { timeout: 90_000 }, async (killAfter) => {
    const dataDir = mkdtempSync(join(tmpdir(), "pushplane-dsr-crash-blob-"));
    const args = [...LEASE, "--outbound-allow-loopback"];
    try {
      const setup = new Store(dataDir);
      const { token } = createApiToken(setup, { owner: "acme", app: "demo" });
      setup.close();
      const headers = { "x-api-token": token, "content-type": "application/json" };
      const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(`crash-${randomUUID().slice(0, 8)}`);
      await container.create();
      const sas = (permissions: string) => container.generateSasUrl({ permissions: ContainerSASPermissions.parse(permissions), expiresOn: new Date(Date.now() + 3_600_000) });

      const first = await startServiceProcess(dataDir, args);
      const api = (path: string, init: { method?: string; body?: string } = {}) => fetch(`${first.url}/v0.1/apps/acme/demo${path}`, { ...init, headers: path.includes("bulk") ? { ...headers, "content-type": "application/x-ndjson" } : headers });
      expect((await api("/ingest/devices/bulk", { method: "POST", body })).status).toBe(200);
      expect((await api("/retention_policies", { method: "PUT", body: JSON.stringify({ blob_container_sas_uri: await sas("rwdl"), retention_days: 30 }) })).status).toBe(200);
      const started = (await (await api("/push/device_exports", { method: "POST", body: JSON.stringify({ blob_container_sas_uri: await sas("cw") }) })).json()) as { export_id: string };
      let run: { status: string; blob_name: string } | undefined;
      for (let i = 0; i < 400 && run?.status !== "Completed"; i++) {
        run = (await (await api(`/push/device_exports/${started.export_id}`)).json()) as typeof run;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(run!.status).toBe("Completed");
      const read = async () => (await container.getBlockBlobClient(run!.blob_name).downloadToBuffer()).toString("utf8").trimEnd().split("\n");
      const before = await read();
      const others = before.filter((line) => !line.includes(EMAIL));
      expect(before.length - others.length).toBe(3);

      const created = await api("/data_subject_requests", { method: "POST", body: JSON.stringify({ kind: "erasure", subject: { user_id: "grace", custom_properties: { email: EMAIL } } }) });
      expect(created.status).toBe(202);
      const { id } = (await created.json()) as { id: string };
      const request = await killRestartAndWait<{ state: string; receipt: unknown }>(first.child, killAfter, dataDir, args, id, headers);
      expect(request).toMatchObject({ state: "Completed", receipt: { devices: { removed: 3 }, export_blobs: [{ action: "rewritten", lines_removed: 3 }] } });
      const after = await read();
      expect(after.some((line) => line.includes(EMAIL) || line.includes('"grace'))).toBe(false);
      expect(checksum(after)).toBe(checksum(others));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
