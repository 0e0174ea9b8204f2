// Several service processes on one data directory, and processes killed with SIGKILL mid-work: every
// notification device is delivered once, every export run executed once, and a restart converges
// (the send, the export and the report all finish) — the runner's claims and leases, tested with
// real processes rather than two sets of parts in one event loop.
import { BlobServiceClient, ContainerSASPermissions, type ContainerClient } from "@azure/storage-blob";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiToken } from "../../service/auth.ts";
import { createServices } from "../../service/services.ts";
import { Store } from "../../service/store.ts";
import { generateApp } from "../../service/synthetic.ts";
import { startAzurite, type Azurite } from "../helpers/azurite.ts";
import { until } from "../helpers/until.ts";
import { REPO_ROOT } from "../helpers/pulumi.ts";
import { listeningUrl } from "../helpers/service-process.ts";

const APP = "/v0.1/apps/acme/demo";
const BIG = "/v0.1/apps/acme/big";
const DAY = 86_400_000;
let azurite: Azurite;
let container: ContainerClient;

interface ServiceProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<NodeJS.Signals | null>;
}

async function startProcess(options: { dataDir: string; senderLog: string; senderDelayMs?: number }): Promise<ServiceProcess> {
  // Node with tsx's loader, not the tsx command, so SIGKILL reaches the process that works.
  const child = spawn(process.execPath, ["--import", "tsx", "test/reliability/serve.ts"], {
    cwd: REPO_ROOT,
    env: { ...process.env, PUSHPLANE_RELIABILITY: JSON.stringify({ leaseMs: 1_500, ...options }) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  return { child, url: await listeningUrl(child), exited };
}

/**
 * A data directory with acme/demo holding `devices` devices with push tokens (a broadcast reaches
 * them all) and, optionally, acme/big holding `bigDevices` (an export that takes a while).
 */
function prepare(devices: number, bigDevices = 0): { dataDir: string; token: string; bigToken: string; senderLog: string } {
  const dataDir = mkdtempSync(join(tmpdir(), "pushplane-processes-"));
  const store = new Store(dataDir);
  const { token } = createApiToken(store, { owner: "acme", app: "demo" });
  const { token: bigToken } = createApiToken(store, { owner: "acme", app: "big" });
  const services = createServices(store);
  generateApp(services.devices, { owner: "acme", app: "demo" }, { devices, eventsPerDevice: 0, seed: 5 });
  if (bigDevices > 0) generateApp(services.devices, { owner: "acme", app: "big" }, { devices: bigDevices, eventsPerDevice: 0, seed: 6 });
  const demo = store.appId({ owner: "acme", app: "demo" });
  // Exactly `devices`, every one with a push token.
  store.db.prepare("UPDATE devices SET push_channel = 'fcm', push_token = 'token-' || id WHERE app_id = ?").run(demo);
  store.db.prepare("DELETE FROM devices WHERE app_id = ? AND id > (SELECT min(id) + ? - 1 FROM devices WHERE app_id = ?)").run(demo, devices, demo);
  store.db.prepare("DELETE FROM device_attributes WHERE app_id = ? AND device_id NOT IN (SELECT id FROM devices)").run(demo);
  store.db.prepare("UPDATE apps SET device_count = (SELECT count(*) FROM devices WHERE app_id = apps.id)").run();
  void services.close();
  store.close();
  return { dataDir, token, bigToken, senderLog: join(dataDir, "deliveries.log") };
}

const call = async (base: string, token: string, method: string, path: string, body?: unknown) => {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { "x-api-token": token, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json().catch(() => undefined)) as Record<string, any> };
};


/** install id → how many times the sender saw it. */
function deliveries(senderLog: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(senderLog)) return counts;
  for (const line of readFileSync(senderLog, "utf8").split("\n")) {
    const installId = line.split(" ")[1];
    if (installId) counts.set(installId, (counts.get(installId) ?? 0) + 1);
  }
  return counts;
}

const sas = () => container.generateSasUrl({ permissions: ContainerSASPermissions.parse("cw"), expiresOn: new Date(Date.now() + 3_600_000) });

beforeAll(async () => {
  azurite = await startAzurite();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("reliability");
  await container.create();
});
afterAll(async () => {
  await azurite?.stop();
});

describe("two processes on one store", () => {
  it("deliver every notification device once and execute every export run once", async () => {
    const { dataDir, token, senderLog } = prepare(1_000);
    const processes = [await startProcess({ dataDir, senderLog }), await startProcess({ dataDir, senderLog })];
    try {
      const bases = processes.map((p) => p.url);
      const sends = await Promise.all(
        Array.from({ length: 10 }, (_, i) => call(bases[i % 2]!, token, "POST", `${APP}/push/notifications`, { notification_content: { name: `broadcast-${i}`, body: "Hello" } })),
      );
      const target = await sas();
      const jobs = await Promise.all(Array.from({ length: 10 }, (_, i) => call(bases[i % 2]!, token, "POST", `${APP}/export_jobs`, { kind: "device_export", blob_container_sas_uri: target, prefix: `twice-${i}/` })));
      for (const send of sends) {
        expect(send.status).toBe(202);
        await until(() => call(bases[0]!, token, "GET", `${APP}/push/notifications/${send.json.notification_id}`), (r) => r.json.state === "Completed");
      }
      for (const job of jobs) {
        expect(job.status).toBe(201);
        const runs = await until(
          () => call(bases[1]!, token, "GET", `${APP}/export_jobs/${job.json.id}/runs`),
          (r) => r.json.values.length > 0 && r.json.values.every((run: { status: string }) => run.status !== "InProgress"),
        );
        expect(runs.json.values).toHaveLength(1);
        expect(runs.json.values[0]).toMatchObject({ status: "Completed", rows_written: 1_000 });
      }
      const counts = deliveries(senderLog);
      expect(counts.size).toBe(1_000);
      expect([...counts.values()].filter((n) => n !== 10)).toEqual([]);
      const byProcess = new Set(readFileSync(senderLog, "utf8").trim().split("\n").map((line) => line.split(" ")[0]));
      console.log(`deliveries: ${[...counts.values()].reduce((a, b) => a + b, 0)} by ${byProcess.size} process(es)`);
    } finally {
      for (const p of processes) p.child.kill("SIGKILL");
      await Promise.all(processes.map((p) => p.exited));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("kill -9 mid-work", () => {
  it("a send, an export and a report under way when the process dies all finish after a restart", async () => {
    const { dataDir, token, bigToken, senderLog } = prepare(1_000, 100_000);
    // 5 ms per delivery: the broadcast takes about 5 s, so the kill lands in the middle of it.
    const first = await startProcess({ dataDir, senderLog, senderDelayMs: 5 });
    let second: ServiceProcess | undefined;
    try {
      const send = await call(first.url, token, "POST", `${APP}/push/notifications`, { notification_content: { name: "interrupted", body: "Hello" } });
      // 100,000 devices: the export is still being written when the process dies.
      const exported = await call(first.url, bigToken, "POST", `${BIG}/push/device_exports`, { blob_container_sas_uri: await sas() });
      const dataExportToken = (
        await call(first.url, token, "POST", `${APP}/data_export_tokens`, {
          name: "r",
          bundle_id: "com.acme.demo",
          dataset: "broadcast_application_metrics",
          expires_at: new Date(Date.now() + 30 * DAY).toISOString(),
        })
      ).json.token as string;
      const day = (n: number) => new Date(Date.now() - n * DAY).toISOString().slice(0, 10);
      const reportRequest = await fetch(`${first.url}/cloudkit/v1/broadcast-metrics/application/export`, {
        method: "POST",
        headers: { "x-apple-cloudkit-management-token": dataExportToken, "content-type": "application/json" },
        body: JSON.stringify({ startDate: day(30), endDate: day(1) }),
      });
      const { statusUrl } = (await reportRequest.json()) as { statusUrl: string };
      await until(async () => deliveries(senderLog).size, (n) => n >= 100);
      first.child.kill("SIGKILL");
      expect(await first.exited).toBe("SIGKILL");
      const deliveredBefore = deliveries(senderLog).size;
      expect(deliveredBefore).toBeLessThan(1_000);

      second = await startProcess({ dataDir, senderLog });
      const base = second.url;
      const notification = await until(() => call(base, token, "GET", `${APP}/push/notifications/${send.json.notification_id}`), (r) => r.json.state === "Completed", 90_000);
      expect(notification.json).toMatchObject({ pns_send_success: 1_000, pns_send_failure: 0 });
      const counts = deliveries(senderLog);
      expect(counts.size).toBe(1_000);
      // The device being sent to at the kill may be sent again (its outcome was not recorded); no other.
      expect([...counts.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(1);

      const run = await until(() => call(base, bigToken, "GET", `${BIG}/push/device_exports/${exported.json.export_id}`), (r) => r.json.status !== "InProgress", 90_000);
      expect(run.json).toMatchObject({ status: "Completed", total_rows: run.json.rows_written });
      expect(run.json.rows_written).toBeGreaterThanOrEqual(100_000);
      const lines = (await container.getBlockBlobClient(run.json.blob_name).downloadToBuffer()).toString("utf8").trimEnd().split("\n");
      expect(lines).toHaveLength(run.json.rows_written);
      expect(new Set(lines.map((line) => JSON.parse(line).install_id)).size).toBe(run.json.rows_written);

      const report = await until(
        async () => (await (await fetch(`${base}${statusUrl}`, { headers: { "x-apple-cloudkit-management-token": dataExportToken } })).json()) as { status: string },
        (r) => r.status !== "PROCESSING",
        90_000,
      );
      expect(report.status).toBe("SUCCESS");
    } finally {
      first.child.kill("SIGKILL");
      second?.child.kill("SIGKILL");
      await Promise.all([first.exited, second?.exited]);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
