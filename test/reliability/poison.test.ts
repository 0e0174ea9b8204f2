// Poison inputs and black holes: work that fails every time is set aside (dead, with its reason, in
// the app's background_work route) while the service keeps answering; a storage endpoint that never
// answers ends a run Failed in bounded time and never delays another tenant's work.
import { BlobServiceClient, ContainerSASPermissions, type ContainerClient } from "@azure/storage-blob";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateApp } from "../../service/synthetic.ts";
import { startAzurite, type Azurite } from "../helpers/azurite.ts";
import { until } from "../helpers/until.ts";
import { startService, type TestService } from "../helpers/service.ts";

const APP = "/v0.1/apps/acme/demo";
const key = { owner: "acme", app: "demo" };
let azurite: Azurite;
let container: ContainerClient;
let service: TestService;
let blackHole: Server;
let blackHolePort: number;
const sockets = new Set<Socket>();

const call = (method: "GET" | "POST" | "PUT", url: string, payload?: object, token = service.token) =>
  service.app.inject({ method, url, headers: { "x-api-token": token }, ...(payload ? { payload } : {}) });


/** A SAS for the real container whose signature the storage refuses (403 on the first write). */
const refusedSas = async () =>
  (await container.generateSasUrl({ permissions: ContainerSASPermissions.parse("cw"), expiresOn: new Date(Date.now() + 3_600_000) })).replace(/sig=[^&]+/, "sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D");

/** A SAS-shaped URL for a container on the black hole: signed, unexpired, create+write. */
const blackHoleSas = () =>
  `http://127.0.0.1:${blackHolePort}/devstoreaccount1/exports?sv=2025-01-05&se=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}&sr=c&sp=cwdl&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D`;

beforeAll(async () => {
  azurite = await startAzurite();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("poison");
  await container.create();
  // Accepts connections and never answers a byte.
  blackHole = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
  blackHolePort = (blackHole.address() as { port: number }).port;
  // Short timeouts and backoff so the bounds are seconds here (production: 10 s connect, 30 s per request).
  service = await startService({ rateLimitPerMinute: 1_000_000, runner: { pollMs: 20, backoffMs: 10 }, outbound: { allowLoopback: true, requestTimeoutMs: 700, connectTimeoutMs: 700 } });
  generateApp(service.services.devices, key, { devices: 500, eventsPerDevice: 0, seed: 8 });
});
afterAll(async () => {
  await service?.close();
  for (const socket of sockets) socket.destroy();
  blackHole?.close();
  await azurite?.stop();
});

describe("poison inputs are set aside, the service keeps answering", () => {
  it("a job whose stored schedule the parser refuses (the 7-field cron that once crash-looped the service)", async () => {
    const job = (await call("POST", `${APP}/export_jobs`, { kind: "device_export", schedule: "0 2 * * *", blob_container_sas_uri: container.url + "?sp=cw&se=2099-01-01T00:00:00Z&sig=x" })).json();
    // Written by another version, or by hand: the API refuses it, the store may still hold it.
    service.store.db.prepare("UPDATE export_jobs SET schedule = '0 33 20 23 11 * 2026', next_run_at = ? WHERE id = ?").run(Date.now() - 1, job.id);
    service.store.db.prepare("UPDATE work_items SET run_at = 0 WHERE kind = 'export.schedule' AND key = ?").run(job.id);
    const dead = await until(async () => (await call("GET", `${APP}/background_work?state=dead`)).json().values, (items: { key: string }[]) => items.some((i) => i.key === job.id));
    expect(dead.find((i: { key: string }) => i.key === job.id)).toMatchObject({ kind: "export.schedule", attempts: 5, last_error: expect.stringContaining("has 7 fields") });
    expect((await call("GET", `${APP}/export_jobs/${job.id}`)).json()).toMatchObject({ next_run_time: null, schedule_error: expect.stringContaining("has 7 fields") });
    expect((await service.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
  });

  it("a report whose building fails every time ends FAILED with the reason, and a repeat request starts a new one", async () => {
    const token = (
      await call("POST", `${APP}/data_export_tokens`, { name: "p", bundle_id: "com.acme.demo", dataset: "broadcast_application_metrics", expires_at: new Date(Date.now() + 86_400_000 * 30).toISOString() })
    ).json().token as string;
    const id = randomUUID();
    // A request whose dates cannot be read: the report's SQL fails on every attempt.
    service.store.db
      .prepare("INSERT INTO broadcast_metric_requests (id, app_id, token_id, dataset, start_date, end_date, status, created_at) VALUES (?, ?, 'x', 'broadcast_application_metrics', 'garbage', 'garbage', 'PROCESSING', ?)")
      .run(id, service.store.appId(key), Date.now());
    service.services.broadcastReports.resumeLegacy();
    const status = await until(
      async () => (await service.app.inject({ method: "GET", url: `/cloudkit/v1/broadcast-metrics/requests/${id}`, headers: { "x-apple-cloudkit-management-token": token } })).json(),
      (s: { status: string }) => s.status !== "PROCESSING",
    );
    expect(status).toMatchObject({ status: "FAILED", error: expect.stringContaining("gave up after 3 attempts") });
    expect((await service.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
  });
});

describe("failures that once took the process down or leaked", () => {
  it("a raw event export whose upload fails ends Failed, and the process goes on (once an uncaught stream error)", async () => {
    const installId = (service.store.db.prepare("SELECT install_id AS id FROM devices LIMIT 1").get() as { id: string }).id;
    const at = new Date(Date.now() - 3_600_000).toISOString();
    // Several 4 MiB blocks of zip that barely compresses: the CSV writers are still waiting for the
    // upload to drain when its first block is refused.
    service.services.devices.insertEvents(
      key,
      Array.from({ length: 60_000 }, (_, i) => ({ type: "custom" as const, install_id: installId, timestamp: at, name: `event-${i % 50}`, properties: { n: i, noise: randomBytes(150).toString("base64") } })),
    );
    const missing = await refusedSas();
    const started = await call("POST", `${APP}/raw_data/export`, {
      starting_at: new Date(Date.now() - 2 * 3_600_000).toISOString(),
      ending_at: new Date().toISOString(),
      blob_container_sas_uri: missing,
    });
    expect(started.statusCode).toBe(202);
    const run = await until(async () => (await call("GET", `${APP}/export_runs/${started.json().export_id}`)).json() as { status: string; error: string }, (r) => r.status !== "InProgress");
    expect(run).toMatchObject({ status: "Failed", error: expect.stringContaining("refused the SAS") });
    expect((await service.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
  });

  it("a run whose processes kept dying is set aside once its attempts are spent, its run Failed with why", async () => {
    const appId = service.store.appId(key);
    service.store.db
      .prepare("INSERT INTO export_runs (id, app_id, job_id, kind, state, started_at, blob_name, sas_sealed) VALUES ('crash-looping', ?, NULL, 'device_export', 'InProgress', ?, 'x.jsonl', ?)")
      .run(appId, Date.now(), service.services.box.seal(blackHoleSas()));
    // Three holders claimed it and died without a word (attempts are counted at the claim).
    service.store.db
      .prepare(
        `INSERT INTO work_items (kind, key, app_id, payload, run_at, attempts, max_attempts, locked_by, locked_until, created_at, updated_at)
         VALUES ('export.run', 'crash-looping', ?, '{"runId":"crash-looping"}', 0, 3, 3, 'dead-process', 0, 0, 0)`,
      )
      .run(appId);
    const run = await until(async () => (await call("GET", `${APP}/export_runs/crash-looping`)).json() as { status: string; error: string }, (r) => r.status !== "InProgress");
    expect(run).toMatchObject({ status: "Failed", error: expect.stringContaining("stopped before it finished, 3 times") });
    expect(service.services.runner.item("export.run", "crash-looping")).toMatchObject({ state: "dead" });
  });

  it("failed device exports leave no reader threads behind", async () => {
    const threads = () => Number(/^Threads:\s+(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"))![1]);
    // Enough devices that the reader is pages ahead when the first 4 MiB block is refused.
    const big = { owner: "acme", app: "big" };
    const bigToken = service.tokenFor(big.owner, big.app);
    generateApp(service.services.devices, big, { devices: 40_000, eventsPerDevice: 0, seed: 10 });
    // The storage refuses the signature: each run fails mid-read, its reader still holding pages.
    const refused = await refusedSas();
    const before = threads();
    for (let i = 0; i < 6; i++) {
      const { export_id: id } = (await call("POST", "/v0.1/apps/acme/big/push/device_exports", { blob_container_sas_uri: refused }, bigToken)).json();
      await until(async () => (await call("GET", `/v0.1/apps/acme/big/push/device_exports/${id}`, undefined, bigToken)).json() as { status: string }, (r) => r.status !== "InProgress");
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Each leaked reader was a thread of its own; the SQL worker pool may add up to its two.
    expect(threads() - before).toBeLessThanOrEqual(2);
  });
});

describe("a storage endpoint that never answers", () => {
  it("ends a device export Failed in bounded time, while another tenant's export completes meanwhile", async () => {
    const other = service.tokenFor("acme", "other");
    generateApp(service.services.devices, { owner: "acme", app: "other" }, { devices: 200, eventsPerDevice: 0, seed: 9 });
    const started = Date.now();
    const stuck = (await call("POST", `${APP}/push/device_exports`, { blob_container_sas_uri: blackHoleSas() })).json();
    const healthy = (
      await call("POST", "/v0.1/apps/acme/other/push/device_exports", { blob_container_sas_uri: await container.generateSasUrl({ permissions: ContainerSASPermissions.parse("cw"), expiresOn: new Date(Date.now() + 3_600_000) }) }, other)
    ).json();
    const healthyRun = await until(async () => (await call("GET", `/v0.1/apps/acme/other/push/device_exports/${healthy.export_id}`, undefined, other)).json(), (r: { status: string }) => r.status !== "InProgress");
    const healthySeconds = (Date.now() - started) / 1000;
    expect(healthyRun.status).toBe("Completed");
    const run = await until(async () => (await call("GET", `${APP}/push/device_exports/${stuck.export_id}`)).json() as { status: string; error: string }, (r) => r.status !== "InProgress");
    const seconds = (Date.now() - started) / 1000;
    console.log(`black hole: Failed after ${seconds.toFixed(1)} s; the other tenant's export completed after ${healthySeconds.toFixed(1)} s`);
    expect(run.status).toBe("Failed");
    expect(run.error).toMatch(/did not answer|timed out|could not reach/);
    expect(run.error).not.toContain("sig=");
    expect(run.error).not.toContain("c2VjcmV0");
    // Bounded: a few request timeouts (0.7 s each here), not minutes.
    expect(seconds).toBeLessThan(20);
  });

  it("a retention grant pointing at it does not stall another tenant's sweep", async () => {
    const other = service.tokenFor("acme", "sweeper");
    expect((await call("PUT", `${APP}/retention_policies`, { blob_container_sas_uri: blackHoleSas(), retention_days: 1 })).statusCode).toBe(200);
    const grant = await container.generateSasUrl({ permissions: ContainerSASPermissions.parse("dl"), expiresOn: new Date(Date.now() + 3_600_000) });
    expect((await call("PUT", "/v0.1/apps/acme/sweeper/retention_policies", { blob_container_sas_uri: grant, retention_days: 1 }, other)).statusCode).toBe(200);
    const started = Date.now();
    const [stuck, healthy] = await Promise.all([
      service.services.retention.sweepNow(key, blackHoleSas().split("?")[0]!),
      (async () => {
        const policy = await service.services.retention.sweepNow({ owner: "acme", app: "sweeper" }, container.url);
        return { policy, seconds: (Date.now() - started) / 1000 };
      })(),
    ]);
    expect(healthy.policy).toMatchObject({ last_sweep_error: null });
    expect(healthy.seconds).toBeLessThan(5);
    expect(stuck).toMatchObject({ last_sweep_error: expect.stringContaining("failed") });
    expect(stuck?.last_sweep_error).not.toContain("c2VjcmV0");
  });
});
