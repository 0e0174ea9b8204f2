import { BlobServiceClient, ContainerSASPermissions, type ContainerClient } from "@azure/storage-blob";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { gunzipSync } from "node:zlib";
import yauzl from "yauzl";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PassThrough } from "node:stream";
import { followExport } from "../../service/follow.ts";
import { createServices } from "../../service/services.ts";
import { generateApp } from "../../service/synthetic.ts";
import { startAzurite, type Azurite } from "../helpers/azurite.ts";
import { REPO_ROOT } from "../helpers/pulumi.ts";
import { startService, TEST_SERVICE_OPTIONS, type TestService } from "../helpers/service.ts";

const APP = "/v0.1/apps/acme/demo";
const key = { owner: "acme", app: "demo" };
let azurite: Azurite;
let service: TestService;
let container: ContainerClient;

const sasFor = (client: ContainerClient, permissions = "cw", expiresOn = new Date(Date.now() + 3_600_000)) =>
  client.generateSasUrl({ permissions: ContainerSASPermissions.parse(permissions), expiresOn });
const call = (method: "GET" | "POST" | "PUT" | "DELETE", url: string, payload?: object) =>
  service.app.inject({ method, url, headers: { "x-api-token": service.token }, ...(payload ? { payload } : {}) });

async function finished(url: string) {
  for (let i = 0; i < 300; i++) {
    const run = (await call("GET", url)).json();
    if (run.status !== "InProgress") return run;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("export did not finish");
}

async function download(blobName: string): Promise<string> {
  return (await container.getBlockBlobClient(blobName).downloadToBuffer()).toString("utf8");
}

beforeAll(async () => {
  azurite = await startAzurite();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("exports");
  await container.create();
  service = await startService();
  generateApp(service.services.devices, key, { devices: 2_500, eventsPerDevice: 0, seed: 3 });
}, 60_000);
afterAll(async () => {
  await service?.close();
  await azurite?.stop();
});

describe("App Center device export into blob storage (Azurite)", () => {
  it("writes every device as one JSON object per line, with progress", async () => {
    const started = await call("POST", `${APP}/push/device_exports`, { blob_container_sas_uri: await sasFor(container) });
    expect(started.statusCode).toBe(202);
    const run = await finished(`${APP}/push/device_exports/${started.json().export_id}`);
    expect(run).toMatchObject({ status: "Completed", rows_written: 2_500, total_rows: 2_500, percent: 100, error: null });
    const text = await download(run.blob_name);
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(2_500);
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ install_id: expect.any(String), properties: expect.any(Object), custom_properties: { visits: expect.any(Number), "signed-up": expect.stringMatching(/^\d{4}-/) } });
    // The file as a whole is not JSON (seeds: Export Push Data).
    expect(() => JSON.parse(text)).toThrow();
  });

  it("`export follow` shows the run's progress and exits 0 when it completes", { timeout: 30_000 }, async () => {
    const endpoint = await service.listen();
    const started = await call("POST", `${APP}/push/device_exports`, { blob_container_sas_uri: await sasFor(container) });
    const runId = started.json().export_id;
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve) => {
      const child = spawn("tsx", ["service/cli.ts", "export", "follow", "--endpoint", endpoint, "--app", "acme/demo", "--run", runId], {
        cwd: REPO_ROOT,
        env: { ...process.env, PUSHPLANE_API_TOKEN: service.token },
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      child.on("exit", (exitCode) => resolve({ stdout: out, stderr: err, code: exitCode }));
    });
    expect(code).toBe(0);
    expect(stdout).toContain(`${runId}: Completed, 2500 rows → device-exports/`);
    expect(stderr).toMatch(/export [0-9a-f]{8} \|.*\| 100% 2500\/2500 rows Completed/);
    expect(`${stdout}${stderr}`).not.toContain(service.token);
  });

  it("`export follow --job` waits for a new job's first run, and refuses to wait for a nightly one", { timeout: 30_000 }, async () => {
    const endpoint = await service.listen();
    const follow = { endpoint, apiToken: service.token, owner: "acme", app: "demo", intervalMs: 50, out: new PassThrough() as unknown as NodeJS.WriteStream };
    const sas = await sasFor(container);
    const oneOff = (await call("POST", `${APP}/export_jobs`, { kind: "device_export", blob_container_sas_uri: sas, prefix: "follow/" })).json();
    const followed = followExport({ ...follow, jobId: oneOff.id });
    // The follower waits for the job's first run, which the runner starts at once.
    expect(await followed).toMatchObject({ status: "Completed", rows_written: 2_500, job_id: oneOff.id });

    const nightly = (await call("POST", `${APP}/export_jobs`, { kind: "device_export", schedule: "0 2 * * *", blob_container_sas_uri: sas })).json();
    await expect(followExport({ ...follow, jobId: nightly.id })).rejects.toThrow(`export job '${nightly.id}' has not run yet; next run at ${nightly.next_run_time}`);
    await call("DELETE", `${APP}/export_jobs/${oneOff.id}`);
    await call("DELETE", `${APP}/export_jobs/${nightly.id}`);
  });

  it.each([
    ["r", "the SAS allows 'r' but writing exports needs create (c) and write (w)"],
    ["c", "needs write (w)"],
  ])("refuses a SAS with permissions '%s'", async (permissions, message) => {
    const response = await call("POST", `${APP}/push/device_exports`, { blob_container_sas_uri: await sasFor(container, permissions) });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain(message);
  });

  it("refuses an expired SAS and a URL without a signature", async () => {
    const expired = await call("POST", `${APP}/push/device_exports`, { blob_container_sas_uri: await sasFor(container, "cw", new Date(Date.now() - 60_000)) });
    expect(expired.json().error.message).toMatch(/blob_container_sas_uri: the SAS expired at /);
    const unsigned = await call("POST", `${APP}/push/device_exports`, { blob_container_sas_uri: container.url });
    expect(unsigned.json().error.message).toBe("blob_container_sas_uri: the URL carries no SAS signature (sig)");
  });

  it("fails the run, with the reason and without the signature, when the container does not exist", async () => {
    const missing = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("no-such-container");
    const started = await call("POST", `${APP}/push/device_exports`, { blob_container_sas_uri: await sasFor(missing) });
    const run = await finished(`${APP}/push/device_exports/${started.json().export_id}`);
    expect(run.status).toBe("Failed");
    expect(run.error).toContain("container http://127.0.0.1:");
    expect(run.error).toContain("/no-such-container does not exist");
    expect(run.error).not.toContain("sig=");
  });

  it("fails, not hangs, when the storage service cannot be reached", { timeout: 30_000 }, async () => {
    const sas = new URL(await sasFor(container));
    sas.port = "9"; // discard port: nothing listens
    const started = await call("POST", `${APP}/push/device_exports`, { blob_container_sas_uri: sas.toString() });
    const run = await finished(`${APP}/push/device_exports/${started.json().export_id}`);
    expect(run).toMatchObject({ status: "Failed", error: expect.stringContaining("could not reach the storage service at http://127.0.0.1:9") });
  });
});

describe("Braze-style user exports (seeds: Braze export)", () => {
  const userIds = () => (service.store.db.prepare("SELECT DISTINCT user_id AS id FROM devices WHERE user_id IS NOT NULL ORDER BY user_id LIMIT 60").all() as { id: string }[]).map((r) => r.id);

  it("exports up to 50 users by external id, naming the unknown ones", async () => {
    const ids = userIds().slice(0, 49);
    const response = await call("POST", `${APP}/users/export/ids`, { external_ids: [...ids, "nobody@example.com"], fields_to_export: ["devices", "push_tokens"] });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.message).toBe("success");
    expect(body.users).toHaveLength(49);
    expect(Object.keys(body.users[0]).sort()).toEqual(["devices", "external_id", "push_tokens"]);
    expect(body.invalid_user_ids).toEqual(["nobody@example.com"]);
  });

  it("refuses 51 external ids, a foreign app_group_id and an unknown field", async () => {
    const over = await call("POST", `${APP}/users/export/ids`, { external_ids: userIds().slice(0, 51) });
    expect(over.json().error.message).toBe("external_ids must be at most 50 external ids per users export request (got 51; seeds: Braze export)");
    const foreign = await call("POST", `${APP}/users/export/ids`, { app_group_id: "acme/other", external_ids: ["x"] });
    expect(foreign.json().error.message).toContain("app_group_id 'acme/other' is not this app");
    expect((await call("POST", `${APP}/users/export/ids`, { external_ids: ["x"], fields_to_export: ["ssn"] })).statusCode).toBe(400);
  });

  it.each(["zip", "gzip"] as const)("exports a segment (audience) as %s NDJSON parts and calls back", async (format) => {
    await call("PUT", `${APP}/analytics/audiences/dog-lovers`, { definition: "dog-lover eq true", custom_properties: { "dog-lover": "boolean" } });
    const callbacks: unknown[] = [];
    const receiver = createServer((request, response) => {
      let text = "";
      request.on("data", (c: Buffer) => (text += c.toString()));
      request.on("end", () => {
        callbacks.push(JSON.parse(text));
        response.end("ok");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    try {
      const started = await call("POST", `${APP}/users/export/segment`, {
        segment_id: "dog-lovers",
        output_format: format,
        callback_endpoint: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/ready`,
        blob_container_sas_uri: await sasFor(container),
      });
      expect(started.statusCode).toBe(202);
      const { object_prefix: prefix, export_id: runId } = started.json();
      expect(prefix).toMatch(/^[0-9a-f-]{36}-\d{10}$/);
      const run = await finished(`${APP}/export_runs/${runId}`);
      expect(run).toMatchObject({ status: "Completed", error: null });
      expect(run.blob_name).toMatch(new RegExp(`^segment-export/dog-lovers/\\d{4}-\\d{2}-\\d{2}/${prefix}/$`));
      const expected = [...service.services.counter.memberUserIds({ owner: "acme", app: "demo" }, "dog-lover eq true", { "dog-lover": "boolean" })].flat();
      const parts = (await Array.fromAsync(container.listBlobsFlat({ prefix: run.blob_name }))).map((b) => b.name);
      expect(parts[0]).toBe(`${run.blob_name}part-00000.json.${format === "zip" ? "zip" : "gz"}`);
      const lines: string[] = [];
      for (const part of parts) {
        const packed = await container.getBlockBlobClient(part).downloadToBuffer();
        const text = format === "gzip" ? gunzipSync(packed).toString("utf8") : await unzipSingle(packed);
        lines.push(...text.trimEnd().split("\n").filter(Boolean));
      }
      expect(lines).toHaveLength(expected.length);
      expect(JSON.parse(lines[0]!)).toMatchObject({ external_id: expected[0], custom_attributes: { "dog-lover": true } });
      expect(callbacks).toEqual([{ success: true, object_prefix: prefix, files: parts }]);
    } finally {
      receiver.close();
    }
  });

  it("refuses a segment that is not an audience", async () => {
    const response = await call("POST", `${APP}/users/export/segment`, { segment_id: "nope", blob_container_sas_uri: await sasFor(container) });
    expect(response.json().error.message).toBe("segment_id: audience 'nope' not found in app 'acme/demo'");
  });
});

describe("Braze-style raw event export (seeds: Braze export)", () => {
  const DAY = 86_400_000;
  const window = (fromDaysAgo: number, toDaysAgo: number) => ({
    starting_at: new Date(Date.now() - fromDaysAgo * DAY).toISOString(),
    ending_at: new Date(Date.now() - toDaysAgo * DAY).toISOString(),
  });

  it("writes events and event properties as zipped CSV, with Braze's event names", async () => {
    const installId = (service.store.db.prepare("SELECT install_id AS id FROM devices LIMIT 1").get() as { id: string }).id;
    const at = (hoursAgo: number) => new Date(Date.now() - hoursAgo * 3_600_000).toISOString();
    service.services.devices.insertEvents(key, [
      { type: "session_start", install_id: installId, timestamp: at(30) },
      { type: "custom", install_id: installId, timestamp: at(29), name: "add_to_cart", properties: { sku: "a-1", qty: 2 } },
      { type: "purchase", install_id: installId, timestamp: at(28), product_id: "sku-9", amount: 4.5, currency: "EUR" },
      { type: "session_end", install_id: installId, timestamp: at(27) },
      { type: "session_start", install_id: installId, timestamp: at(24 * 20) },
    ]);
    const started = await call("POST", `${APP}/raw_data/export`, { ...window(3, 0), blob_container_sas_uri: await sasFor(container) });
    expect(started.statusCode).toBe(202);
    expect(started.json()).toMatchObject({ success: true, message: "success" });
    const run = await finished(`${APP}/export_runs/${started.json().export_id}`);
    expect(run).toMatchObject({ status: "Completed", rows_written: 4 });
    expect(run.blob_name).toMatch(/^appboy-event-data\/app_groups\/acme-demo\/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-events\.csv\.zip$/);
    const events = (await unzipSingle(await container.getBlockBlobClient(run.blob_name).downloadToBuffer())).trimEnd().split("\n");
    expect(events[0]).toBe("id,time,event_name,external_user_id,install_id,notification_id,product_id,price,currency");
    expect(events.slice(1).map((line) => line.split(",")[2])).toEqual(["$session_started", "add_to_cart", "$iap", "$session_ended"]);
    const properties = (await unzipSingle(await container.getBlockBlobClient(run.blob_name.replace("-events.csv.zip", "-event_properties.csv.zip")).downloadToBuffer())).trimEnd().split("\n");
    expect(properties.slice(1).map((line) => line.split(",").slice(1).join("="))).toEqual(["sku=a-1", "qty=2"]);
  });

  it("refuses a window over a week, one reaching past 3 months, and a second export while one runs (429)", async () => {
    const sas = await sasFor(container);
    const long = await call("POST", `${APP}/raw_data/export`, { ...window(9, 1), blob_container_sas_uri: sas });
    expect(long.json().error.message).toContain("the window must be at most 7 days (days per raw event export request; got 8.0 days; seeds: Braze export)");
    const old = await call("POST", `${APP}/raw_data/export`, { ...window(100, 95), blob_container_sas_uri: sas });
    expect(old.json().error.message).toContain("starting_at must be within the last 90 days");
    service.store.db
      .prepare("INSERT INTO export_runs (id, app_id, job_id, kind, state, started_at) VALUES ('raw-busy', ?, NULL, 'raw_event_export', 'InProgress', ?)")
      .run(service.store.appId(key), Date.now());
    const busy = await call("POST", `${APP}/raw_data/export`, { ...window(2, 1), blob_container_sas_uri: sas });
    expect(busy.statusCode).toBe(429);
    expect(busy.headers["retry-after"]).toBe("30");
    expect(busy.json().error.message).toContain("only one runs at a time");
    service.store.db.prepare("UPDATE export_runs SET state = 'Failed' WHERE id = 'raw-busy'").run();
  });
});

async function unzipSingle(buffer: Buffer): Promise<string> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(buffer, { lazyEntries: true }, (error, file) => (error ? reject(error) : resolve(file))));
  return new Promise((resolve, reject) => {
    zip.readEntry();
    zip.on("entry", (entry: yauzl.Entry) => {
      zip.openReadStream(entry, async (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        resolve(Buffer.concat(chunks).toString("utf8"));
      });
    });
  });
}

describe("App Center continuous export configurations (swagger ExportConfigurations_*)", () => {
  it("creates (202, Pending → Enabled), appends new events, lists, patches, disables, enables and deletes", async () => {
    const created = await call("POST", `${APP}/export_configurations`, { type: "blob_storage_connection_string", connection_string: azurite.connectionString, export_entities: ["crashes"] });
    expect(created.statusCode).toBe(202);
    const config = created.json();
    expect(config).toMatchObject({ export_type: "BlobStorage", state: "Pending", export_entities: ["crashes"], export_configuration: { type: "blob_storage_connection_string" } });
    expect(JSON.stringify(config)).not.toContain("AccountKey");
    await service.services.idle();
    const installId = (service.store.db.prepare("SELECT install_id AS id FROM devices LIMIT 1").get() as { id: string }).id;
    service.services.devices.insertEvents(key, [{ type: "session_start", install_id: installId, timestamp: new Date().toISOString() }]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await service.services.continuousExports.runOne(config.id);
    const url = `${APP}/export_configurations/${config.id}`;
    expect((await call("GET", url)).json()).toMatchObject({ state: "Enabled", last_run_time: expect.any(String) });
    const exported = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("pushplane-export");
    const blobs = await Array.fromAsync(exported.listBlobsFlat({ prefix: "analytics/" }));
    expect(blobs).toHaveLength(1);
    const line = JSON.parse((await exported.getBlockBlobClient(blobs[0]!.name).downloadToBuffer()).toString("utf8").trim());
    expect(line).toMatchObject({ type: "$session_started", install_id: installId });
    expect((await call("GET", `${APP}/export_configurations`)).json()).toMatchObject({ total: 1 });
    expect((await service.app.inject({ method: "PATCH", url, headers: { "x-api-token": service.token }, payload: { export_entities: ["errors"] } })).json().export_entities).toEqual(["errors"]);
    expect((await call("POST", `${url}/disable`)).statusCode).toBe(200);
    expect((await call("GET", url)).json().state).toBe("Disabled");
    expect((await call("POST", `${url}/enable`)).statusCode).toBe(200);
    expect((await call("DELETE", url)).statusCode).toBe(200);
    expect((await call("GET", url)).statusCode).toBe(404);
  });

  it("marks a configuration Invalid, with the reason, when its storage cannot be reached", async () => {
    const unreachable = azurite.connectionString.replace(/127\.0\.0\.1:\d+/, "127.0.0.1:9");
    const config = (await call("POST", `${APP}/export_configurations`, { type: "blob_storage_connection_string", connection_string: unreachable })).json();
    await service.services.idle();
    expect((await call("GET", `${APP}/export_configurations/${config.id}`)).json()).toMatchObject({ state: "Invalid", state_info: expect.stringContaining("cannot write to the storage account") });
    await call("DELETE", `${APP}/export_configurations/${config.id}`);
  });

  it("refuses Application Insights and linked subscriptions", async () => {
    const response = await call("POST", `${APP}/export_configurations`, { type: "application_insights_instrumentation_key", instrumentation_key: "k" });
    expect(response.json().error.message).toBe("type: application_insights_instrumentation_key is not supported by pushplane; use blob_storage_connection_string");
  });
});

describe("retention", () => {
  it("deletes blobs older than the retention through the owner's list+delete grant", async () => {
    const grant = await sasFor(container, "dl");
    const registered = await call("PUT", `${APP}/retention_policies`, { blob_container_sas_uri: grant, retention_days: 30 });
    expect(registered.json()).toMatchObject({ container: container.url, retention_days: 30, last_sweep_at: null });
    await container.getBlockBlobClient("old/one.jsonl").upload("x", 1);
    const before = (await Array.fromAsync(container.listBlobsFlat())).length;
    await service.services.retention.sweepAll(Date.now());
    expect((await Array.fromAsync(container.listBlobsFlat())).length).toBe(before);
    await service.services.retention.sweepAll(Date.now() + 31 * 86_400_000);
    expect(await Array.fromAsync(container.listBlobsFlat())).toEqual([]);
    const after = (await call("GET", `${APP}/retention_policies?container=${encodeURIComponent(container.url)}`)).json();
    expect(after).toMatchObject({ last_sweep_deleted: before, last_sweep_error: null });
  });

  it("sweeps one container on demand, sharing a sweep already under way", async () => {
    const grant = await sasFor(container, "dl");
    await call("PUT", `${APP}/retention_policies`, { blob_container_sas_uri: grant, retention_days: 7 });
    await container.getBlockBlobClient("fresh/one.jsonl").upload("x", 1);
    const swept = await call("POST", `${APP}/retention_policies/sweep?container=${encodeURIComponent(container.url)}`);
    expect(swept.statusCode).toBe(200);
    expect(swept.json()).toMatchObject({ retention_days: 7, last_sweep_deleted: 0, last_sweep_error: null, last_sweep_at: expect.any(String) });
    expect((await Array.fromAsync(container.listBlobsFlat())).map((blob) => blob.name)).toContain("fresh/one.jsonl");

    // Eight days on, two callers at once: one sweep deletes the blob, both see its outcome.
    const later = Date.now() + 8 * 86_400_000;
    const [first, second] = await Promise.all([
      service.services.retention.sweepNow(key, container.url, later),
      service.services.retention.sweepNow(key, container.url, later),
    ]);
    expect(first).toMatchObject({ last_sweep_deleted: 1 });
    expect(second).toEqual(first);
    expect(await Array.fromAsync(container.listBlobsFlat())).toEqual([]);

    const unknown = await call("POST", `${APP}/retention_policies/sweep?container=${encodeURIComponent(`${container.url}-other`)}`);
    expect(unknown.statusCode).toBe(404);
  });

  it("refuses a grant without list and delete", async () => {
    const response = await call("PUT", `${APP}/retention_policies`, { blob_container_sas_uri: await sasFor(container, "cw"), retention_days: 30 });
    expect(response.json().error.message).toContain("needs delete (d) and list (l)");
  });
});

describe("export jobs", () => {
  it("a one-off job runs at once, once", async () => {
    const job = (await call("POST", `${APP}/export_jobs`, { kind: "device_export", blob_container_sas_uri: await sasFor(container), prefix: "backfill/" })).json();
    expect(job).toMatchObject({ kind: "device_export", container: container.url });
    expect(JSON.stringify(job)).not.toContain("sig=");
    await service.services.idle();
    expect(service.services.exports.fire(job.id)).toEqual({});
    const runs = (await call("GET", `${APP}/export_jobs/${job.id}/runs`)).json().values;
    expect(runs).toHaveLength(1);
    const runId = runs[0].export_id;
    const run = (await call("GET", `${APP}/export_runs/${runId}`)).json();
    expect(run).toMatchObject({ status: "Completed", job_id: job.id, rows_written: 2_500 });
    expect(run.blob_name).toMatch(/^backfill\/device-exports\/\d{4}-\d{2}-\d{2}\/.+\.jsonl$/);
    expect((await call("GET", `${APP}/export_jobs/${job.id}`)).json()).toMatchObject({ next_run_time: null, last_run: { export_id: runId } });
  });

  it("a users-by-id job exports the users it names as the segment export writes them; over 50 ids is a 400 naming the limit", async () => {
    const known = (service.store.db.prepare("SELECT DISTINCT user_id AS id FROM devices WHERE user_id IS NOT NULL LIMIT 3").all() as { id: string }[]).map((row) => row.id);
    const job = await call("POST", `${APP}/export_jobs`, {
      kind: "users_by_id_export",
      options: { external_ids: [...known, "nobody-by-this-id"], output_format: "gzip" },
      blob_container_sas_uri: await sasFor(container),
    });
    expect(job.statusCode, job.body).toBe(201);
    await service.services.idle();
    const runId = (await call("GET", `${APP}/export_jobs/${job.json().id}/runs`)).json().values[0].export_id;
    const run = await finished(`${APP}/export_runs/${runId}`);
    expect(run).toMatchObject({ status: "Completed", rows_written: known.length });
    expect(run.blob_name).toMatch(/^users-by-id\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}\/$/);
    const part = gunzipSync(await container.getBlockBlobClient(`${run.blob_name}part-00000.json.gz`).downloadToBuffer()).toString("utf8");
    expect(part.trimEnd().split("\n").map((line) => JSON.parse(line).external_id).sort()).toEqual([...known].sort());

    const tooMany = await call("POST", `${APP}/export_jobs`, {
      kind: "users_by_id_export",
      options: { external_ids: Array.from({ length: 51 }, (_, i) => `user-${i}`) },
      blob_container_sas_uri: await sasFor(container),
    });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().error.message).toContain("at most 50 external ids per users export request (seeds: Braze export)");
  });

  it("a cron job runs when due and is rescheduled; a bad cron expression is a 400", async () => {
    const bad = await call("POST", `${APP}/export_jobs`, { kind: "device_export", schedule: "every night", blob_container_sas_uri: await sasFor(container) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/^schedule: 'every night' has 2 fields; a schedule has 5/);
    // Croner's seconds and year fields are refused: the 7-field expression that once crash-looped the service.
    const sevenFields = await call("POST", `${APP}/export_jobs`, { kind: "device_export", schedule: "0 33 20 23 11 * 2026", blob_container_sas_uri: await sasFor(container) });
    expect(sevenFields.json().error.message).toMatch(/^schedule: '0 33 20 23 11 \* 2026' has 7 fields/);
    const never = await call("POST", `${APP}/export_jobs`, { kind: "device_export", schedule: "0 0 30 2 *", blob_container_sas_uri: await sasFor(container) });
    expect(never.json().error.message).toMatch(/^schedule: '0 0 30 2 \*' never fires/);
    const job = (await call("POST", `${APP}/export_jobs`, { kind: "device_export", schedule: "0 2 * * *", blob_container_sas_uri: await sasFor(container) })).json();
    const next = Date.parse(job.next_run_time);
    expect(new Date(next).getUTCHours()).toBe(2);
    expect(service.services.exports.fire(job.id, next - 1)).toEqual({ again: next });
    expect(service.services.exports.fire(job.id, next)).toEqual({ runId: expect.any(String), again: next + 86_400_000 });
    await service.services.idle();
    const after = (await call("GET", `${APP}/export_jobs/${job.id}`)).json();
    expect(Date.parse(after.next_run_time) - next).toBe(86_400_000);
    expect(after.last_run.status).toBe("Completed");
    await call("DELETE", `${APP}/export_jobs/${job.id}`);
  });

  it("two runners on one store never start the same run twice", async () => {
    const other = createServices(service.store, TEST_SERVICE_OPTIONS);
    other.start();
    try {
      const sas = await sasFor(container);
      const jobs = await Promise.all(Array.from({ length: 6 }, () => call("POST", `${APP}/export_jobs`, { kind: "device_export", blob_container_sas_uri: sas, prefix: "twice/" })));
      await Promise.all([service.services.idle(), other.idle()]);
      for (const job of jobs) expect((await call("GET", `${APP}/export_jobs/${job.json().id}/runs`)).json().values).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it("a scheduled raw event export covers the last window_days before each run, and never overlaps another", async () => {
    const sas = await sasFor(container);
    const bad = await call("POST", `${APP}/export_jobs`, { kind: "raw_event_export", schedule: "0 3 * * *", options: { window_days: 8 }, blob_container_sas_uri: sas });
    expect(bad.json().error.message).toContain("options.window_days");
    const job = (await call("POST", `${APP}/export_jobs`, { kind: "raw_event_export", schedule: "0 3 * * *", options: { window_days: 2 }, blob_container_sas_uri: sas })).json();
    expect(job.options).toEqual({ window_days: 2 });
    const due = Date.parse(job.next_run_time);
    expect(service.services.exports.fire(job.id, due).runId).toBeDefined();
    await service.services.idle();
    expect((await call("GET", `${APP}/export_jobs/${job.id}`)).json().last_run).toMatchObject({ status: "Completed", blob_name: expect.stringMatching(/-events\.csv\.zip$/) });

    service.store.db
      .prepare("INSERT INTO export_runs (id, app_id, job_id, kind, state, started_at) VALUES ('raw-running', ?, NULL, 'raw_event_export', 'InProgress', ?)")
      .run(service.store.appId(key), Date.now());
    expect(service.services.exports.fire(job.id, due + 86_400_000).runId).toBeDefined();
    await service.services.idle();
    expect((await call("GET", `${APP}/export_jobs/${job.id}`)).json().last_run).toMatchObject({ status: "Failed", error: expect.stringContaining("another raw event export (raw-running) was in progress") });
    service.store.db.prepare("UPDATE export_runs SET state = 'Failed' WHERE id = 'raw-running'").run();
    await call("DELETE", `${APP}/export_jobs/${job.id}`);
  });

  /** Fires a scheduled job as the runner does once it is due, its time moved to `dueAt` (a second ago by default). */
  const fireDue = (jobId: string, dueAt = Date.now() - 1_000) => {
    service.store.db.prepare("UPDATE export_jobs SET next_run_at = ? WHERE id = ?").run(dueAt, jobId);
    return service.services.exports.fire(jobId);
  };

  it("a scheduled broadcast-metrics export writes the CloudKit CSV for the last window_days, ending yesterday", async () => {
    const sas = await sasFor(container);
    const tooLong = await call("POST", `${APP}/export_jobs`, { kind: "broadcast_metrics_export", schedule: "0 4 * * *", options: { bundle_id: "com.acme.demo", window_days: 31 }, blob_container_sas_uri: sas });
    expect(tooLong.json().error.message).toContain("options.window_days");
    const noChannel = await call("POST", `${APP}/export_jobs`, { kind: "broadcast_metrics_export", options: { bundle_id: "com.acme.demo", dataset: "broadcast_channel_metrics" }, blob_container_sas_uri: sas });
    expect(noChannel.json().error.message).toContain("options.channel_id: is required for broadcast_channel_metrics");

    const job = (
      await call("POST", `${APP}/export_jobs`, { kind: "broadcast_metrics_export", schedule: "0 4 * * *", options: { bundle_id: "com.acme.demo", window_days: 3 }, blob_container_sas_uri: sas, prefix: "metrics/" })
    ).json();
    expect(job.options).toEqual({ dataset: "broadcast_application_metrics", bundle_id: "com.acme.demo", window_days: 3 });
    expect(fireDue(job.id).runId).toBeDefined();
    await service.services.idle();
    const run = (await call("GET", `${APP}/export_jobs/${job.id}`)).json().last_run;
    const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
    expect(run).toMatchObject({ status: "Completed", rows_written: 3, total_rows: 3, percent: 100, blob_name: `metrics/broadcast-metrics/broadcast_application_metrics/${day(3)}_${day(1)}.csv` });
    const rows = (await download(run.blob_name)).trimEnd().split("\n").map((line) => line.split(","));
    expect(rows[0]).toEqual(["date", "bundle_id", "channel_id", "subscribers", "messages_sent", "messages_delivered", "messages_opened"]);
    expect(rows.slice(1).map((row) => row.slice(0, 3))).toEqual([day(3), day(2), day(1)].map((date) => [date, "com.acme.demo", ""]));
    expect(rows.slice(1).every((row) => row.slice(3).every((count) => Number(count) === -1 || Number(count) === 0 || Number(count) > 9))).toBe(true);
    await call("DELETE", `${APP}/export_jobs/${job.id}`);
  });

  it("a scheduled Braze series export writes the points the series' route answers, as CSV or JSON lines", async () => {
    const sas = await sasFor(container);
    const refused = async (options: object) => (await call("POST", `${APP}/export_jobs`, { kind: "braze_series_export", options, blob_container_sas_uri: sas })).json().error.message;
    expect(await refused({ series: "custom_event" })).toContain("options.event: required for the custom_event series");
    expect(await refused({ series: "dau", product: "sku-1" })).toContain("options.product: the dau series takes no product (only revenue, purchase_quantity do)");
    expect(await refused({ series: "sessions", length: 101 })).toContain("options.length: must be between 1 and 100");
    expect(await refused({ series: "weather" })).toContain("options.series");

    // Sessions in each of the last 30 hours, and a campaign opened yesterday.
    const HOUR = 3_600_000;
    const installId = (service.store.db.prepare("SELECT install_id FROM devices LIMIT 1").get() as { install_id: string }).install_id;
    service.services.devices.insertEvents(
      key,
      Array.from({ length: 30 }, (_, i) => ({ type: "session_start" as const, install_id: installId, timestamp: new Date(Date.now() - (i + 1) * HOUR).toISOString() })),
    );
    service.services.repositories.notifications.insert(
      { id: "series-campaign", app_id: service.store.appId(key), name: "Series", content: "{}", target: null, state: "Completed", send_time: Date.now() - 30 * HOUR },
      [],
    );
    service.services.devices.insertEvents(key, [{ type: "push_opened", install_id: installId, timestamp: new Date(Date.now() - 25 * HOUR).toISOString(), notification_id: "series-campaign" }]);

    const runOf = async (options: object, dueAt = Date.now() - 1_000) => {
      const job = (await call("POST", `${APP}/export_jobs`, { kind: "braze_series_export", schedule: "0 * * * *", options, blob_container_sas_uri: sas, prefix: "series/" })).json();
      expect(fireDue(job.id, dueAt).runId).toBeDefined();
      await service.services.idle();
      const run = (await call("GET", `${APP}/export_jobs/${job.id}`)).json().last_run;
      await call("DELETE", `${APP}/export_jobs/${job.id}`);
      return run;
    };
    const brazeGet = async (path: string, query: Record<string, string>) =>
      (await service.app.inject({ method: "GET", url: `/braze${path}?${new URLSearchParams({ app_group_id: "acme/demo", ...query })}`, headers: { authorization: `Bearer ${service.token}` } })).json().data;

    // Hourly sessions as CSV: the 24 whole hours before the run, as the route answers them.
    const sessions = await runOf({ series: "sessions", unit: "hour", length: 24 });
    expect(sessions).toMatchObject({ status: "Completed", rows_written: 24, blob_name: expect.stringMatching(/^series\/braze-series\/sessions\/\d{4}-\d{2}-\d{2}\/[\w-]+\.csv$/) });
    const rows = (await download(sessions.blob_name)).trimEnd().split("\n").map((line) => line.split(","));
    expect(rows[0]).toEqual(["time", "sessions"]);
    const lastHour = rows.at(-1)![0]!;
    expect(Date.parse(lastHour)).toBe(Math.floor(Date.now() / HOUR) * HOUR - HOUR);
    const answer = await brazeGet("/sessions/data_series", { unit: "hour", length: "24", ending_at: lastHour });
    expect(rows.slice(1)).toEqual(answer.map((point: { time: string; sessions: number }) => [point.time, String(point.sessions)]));
    expect(rows.slice(1).every((row) => row[1] === "1")).toBe(true);

    // A run that fires late (the process was down over three hour boundaries) writes its own slot: the
    // 24 hours before the hour it was due in, in a blob dated that hour's day.
    const due = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR + 60_000;
    const late = await runOf({ series: "sessions", unit: "hour", length: 24 }, due);
    const lateRows = (await download(late.blob_name)).trimEnd().split("\n").map((line) => line.split(","));
    expect(Date.parse(lateRows.at(-1)![0]!)).toBe(Math.floor(due / HOUR) * HOUR - HOUR);
    expect(late.blob_name).toContain(`/sessions/${new Date(due).toISOString().slice(0, 10)}/`);

    // A campaign's days as JSON lines: each line the route's point, nested messages and all.
    const campaign = await runOf({ series: "campaign", campaign_id: "series-campaign", length: 3, format: "jsonl" });
    expect(campaign.blob_name).toMatch(/\.jsonl$/);
    const lines = (await download(campaign.blob_name)).trimEnd().split("\n").map((line) => JSON.parse(line));
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    expect(lines).toEqual(await brazeGet("/campaigns/data_series", { campaign_id: "series-campaign", length: "3", ending_at: `${yesterday}T23:59:59Z` }));

    // A campaign that does not exist is refused when the job is made; a segment (which the same stack
    // may be creating) is looked up when the run starts, and one that is not there ends the run, saying which.
    expect(await refused({ series: "campaign", campaign_id: "never-sent" })).toContain("options.campaign_id: unknown campaign 'never-sent' in app group 'acme/demo'");
    const gone = await runOf({ series: "segment_size", segment_id: "gone" });
    expect(gone).toMatchObject({ status: "Failed", error: expect.stringContaining("segment_size series: segment_id: unknown segment 'gone'") });
  });

  it("a run whose process died is resumed once its lease expires; one from before runs were resumable fails, saying why", async () => {
    const appId = service.store.appId(key);
    const sealed = service.services.box.seal(await sasFor(container));
    service.store.db
      .prepare("INSERT INTO export_runs (id, app_id, job_id, kind, state, started_at, blob_name, sas_sealed) VALUES ('orphaned-run', ?, NULL, 'device_export', 'InProgress', ?, 'orphaned.jsonl', ?)")
      .run(appId, Date.now(), sealed);
    // Claimed by a process that died: its lease runs out in 300 ms, then this process takes the item.
    service.store.db
      .prepare(
        `INSERT INTO work_items (kind, key, app_id, payload, run_at, attempts, max_attempts, locked_by, locked_until, created_at, updated_at)
         VALUES ('export.run', 'orphaned-run', ?, '{"runId":"orphaned-run"}', 0, 1, 3, 'dead-process', ?, 0, 0)`,
      )
      .run(appId, Date.now() + 300);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await call("GET", `${APP}/export_runs/orphaned-run`)).json().status).toBe("InProgress");
    expect(await finished(`${APP}/export_runs/orphaned-run`)).toMatchObject({ status: "Completed", rows_written: 2_500 });

    service.store.db
      .prepare("INSERT INTO export_runs (id, app_id, job_id, kind, state, started_at) VALUES ('legacy-run', ?, NULL, 'device_export', 'InProgress', ?)")
      .run(appId, Date.now());
    service.services.exports.resumeLegacy();
    expect((await call("GET", `${APP}/export_runs/legacy-run`)).json()).toMatchObject({ status: "Failed", error: expect.stringContaining("the service stopped while this run was in progress") });
  });

  it("keeps the SAS sealed in the store", () => {
    const rows = JSON.stringify(service.store.db.prepare("SELECT * FROM export_jobs").all());
    expect(rows).not.toContain("sig=");
  });
});
