// An erasure reaches the exported copies (Azurite): every export blob that holds the subject —
// device export (JSON lines), segment exports (gzip and zip), raw events (CSV in zips, with the
// event properties file), continuous export — is rewritten without the subject's records, every
// other line kept byte for byte; a blob no grant reaches is pending and retried, then rewritten
// once a grant allows it; the receipt lists each blob and never an identifier.
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { BlobServiceClient, ContainerSASPermissions, type ContainerClient } from "@azure/storage-blob";
import yauzl from "yauzl";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DeviceInput, EventInput } from "../../domain/index.ts";
import { startAzurite, type Azurite } from "../helpers/azurite.ts";
import { startService, type TestService } from "../helpers/service.ts";
import { until } from "../helpers/until.ts";

const APP = "/v0.1/apps/acme/demo";
const key = { owner: "acme", app: "demo" };
let azurite: Azurite;
let blobService: BlobServiceClient;
let service: TestService;

const call = (method: "GET" | "POST" | "PUT", url: string, payload?: object) =>
  service.app.inject({ method, url, headers: { "x-api-token": service.token }, ...(payload ? { payload } : {}) });
const sasFor = (client: ContainerClient, permissions: string) =>
  client.generateSasUrl({ permissions: ContainerSASPermissions.parse(permissions), expiresOn: new Date(Date.now() + 3_600_000) });

/** The subject: a user id, an email (custom property) and two devices, one known by the email alone. */
const ADA = { user: `ada-${randomUUID().slice(0, 8)}`, email: `ada.${randomUUID().slice(0, 8)}@example.org`, installs: [randomUUID(), randomUUID()] };
const subjectValues = [ADA.user, ADA.email, ...ADA.installs];

function device(userId: string, email: string, installId = randomUUID()): DeviceInput {
  return { install_id: installId, user_id: userId, properties: { carrierCountry: "GB" }, custom_properties: { email, plan: "gold" }, push: { channel: "fcm", token: `t-${installId}` } };
}

async function seed() {
  const others = Array.from({ length: 300 }, (_, i) => device(`user-${i}`, `person${i}@example.org`));
  const ada = [device(ADA.user, ADA.email, ADA.installs[0]), device(`${ADA.user}-tablet`, ADA.email, ADA.installs[1])];
  service.services.devices.upsert(key, [...others.slice(0, 150), ...ada, ...others.slice(150)]);
  const now = Date.now();
  const events: EventInput[] = [...others, ...ada].flatMap((d, i) => [
    { type: "session_start", install_id: d.install_id, timestamp: new Date(now - 3_600_000 + i).toISOString() },
    { type: "custom", name: "viewed", install_id: d.install_id, timestamp: new Date(now - 1_800_000 + i).toISOString(), properties: { screen: `s${i}`, note: "a, \"quoted\" value" } },
  ]);
  service.services.devices.insertEvents(key, events as never);
  expect((await call("PUT", `${APP}/analytics/audiences/gold`, { definition: "plan eq 'gold'", custom_properties: { plan: "string" } })).statusCode).toBe(200);
  await service.services.idle();
}

/** A blob's records as text lines, decoded as the export wrote it. */
async function linesOf(container: ContainerClient, name: string): Promise<string[]> {
  const bytes = await container.getBlockBlobClient(name).downloadToBuffer();
  let text: string;
  if (name.endsWith(".gz")) text = gunzipSync(bytes).toString("utf8");
  else if (name.endsWith(".zip")) text = await unzipOne(bytes);
  else text = bytes.toString("utf8");
  return text.split(/\r?\n/).filter((line) => line !== "");
}

function unzipOne(bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) =>
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      zip.once("entry", (entry: yauzl.Entry) =>
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError) return reject(streamError);
          const chunks: Buffer[] = [];
          stream.on("data", (chunk: Buffer) => chunks.push(chunk));
          stream.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        }),
      );
      zip.readEntry();
    }),
  );
}

/** Every blob of the containers with its decoded lines. */
async function allBlobs(containers: ContainerClient[]): Promise<Map<string, string[]>> {
  const blobs = new Map<string, string[]>();
  for (const container of containers) for await (const blob of container.listBlobsFlat()) blobs.set(`${container.containerName}/${blob.name}`, await linesOf(container, blob.name));
  return blobs;
}

const checksum = (lines: string[]) => createHash("sha256").update(lines.join("\n")).digest("hex");
const namesSubject = (line: string) => subjectValues.some((value) => line.includes(value));

async function finishedRun(url: string) {
  return until(async () => (await call("GET", url)).json(), (run) => run.status !== "InProgress");
}

async function exportEverything(container: ContainerClient) {
  const sas = await sasFor(container, "cw");
  const device = await call("POST", `${APP}/push/device_exports`, { blob_container_sas_uri: sas });
  expect((await finishedRun(`${APP}/push/device_exports/${device.json().export_id}`)).status).toBe("Completed");
  for (const output_format of ["gzip", "zip"]) {
    const segment = await call("POST", `${APP}/users/export/segment`, { segment_id: "gold", output_format, blob_container_sas_uri: sas });
    expect(segment.statusCode).toBe(202);
    expect((await finishedRun(`${APP}/push/device_exports/${segment.json().export_id}`)).status).toBe("Completed");
  }
  const raw = await call("POST", `${APP}/raw_data/export`, {
    starting_at: new Date(Date.now() - 2 * 3_600_000).toISOString(),
    ending_at: new Date(Date.now() + 60_000).toISOString(),
    blob_container_sas_uri: sas,
  });
  expect(raw.statusCode).toBe(202);
  expect((await finishedRun(`${APP}/push/device_exports/${raw.json().export_id}`)).status).toBe("Completed");
}

async function erase(subject: object) {
  const created = await call("POST", `${APP}/data_subject_requests`, { kind: "erasure", subject });
  expect(created.statusCode).toBe(202);
  return created.json().id as string;
}
const requestOf = async (id: string) => (await call("GET", `${APP}/data_subject_requests/${id}`)).json();

beforeAll(async () => {
  azurite = await startAzurite();
  blobService = BlobServiceClient.fromConnectionString(azurite.connectionString);
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
});
beforeEach(async () => {
  service = await startService({ dsr: { blobRetryMs: 100 }, continuousExportIntervalMs: 100 });
});
afterEach(async () => {
  await service.close();
});

describe("an erasure's exported copies", () => {
  it("rewrites every blob that holds the subject, in every format, and keeps everyone else's lines byte for byte", { timeout: 60_000 }, async () => {
    await seed();
    const container = blobService.getContainerClient(`exports-${randomUUID().slice(0, 8)}`);
    await container.create();
    expect((await call("PUT", `${APP}/retention_policies`, { blob_container_sas_uri: await sasFor(container, "rwdl"), retention_days: 30 })).statusCode).toBe(200);
    await exportEverything(container);
    // The continuous export writes into its own container of the account it is given.
    const configuration = await call("POST", `${APP}/export_configurations`, {
      type: "blob_storage_connection_string",
      connection_string: azurite.connectionString,
      export_entities: ["crashes"],
    } as object);
    expect(configuration.statusCode).toBeLessThan(300);
    // It exports events from its creation on: hers and a few others', arriving now.
    service.services.devices.insertEvents(key, [ADA.installs[0]!, ADA.installs[1]!, ...Array.from({ length: 5 }, () => randomUUID())].map((install_id) => ({ type: "session_start", install_id, timestamp: new Date().toISOString() })) as never);
    const continuous = blobService.getContainerClient("pushplane-export");
    await until(async () => (await continuous.exists()) && (await allBlobs([continuous])).size, (count) => count !== false && count > 0);

    const before = await allBlobs([container, continuous]);
    // Device export, segment export gzip and zip, raw events (two files), continuous export.
    expect(before.size).toBe(6);
    // Each blob holds the subject (the event properties file through her events' ids).
    expect([...before].filter(([name, lines]) => !name.endsWith("event_properties.csv.zip") && !lines.some(namesSubject))).toEqual([]);
    const id = await erase({ user_id: ADA.user, custom_properties: { email: ADA.email } });
    const request = await until(() => requestOf(id), (current) => current.state !== "Running" && current.state !== "Pending");
    expect(request).toMatchObject({ state: "Completed", error: null, waiting_for: null });

    // Nor anywhere in the store's file and log (the copies' filters hold keyed hashes only).
    const bytes = Buffer.concat([service.store.path, `${service.store.path}-wal`].filter(existsSync).map((path) => readFileSync(path)));
    for (const value of subjectValues) expect(bytes.includes(Buffer.from(value)), value).toBe(false);
    const after = await allBlobs([container, continuous]);
    const eventsFile = [...before.keys()].find((name) => name.endsWith("-events.csv.zip"))!;
    const herEvents = new Set(before.get(eventsFile)!.filter(namesSubject).map((line) => line.split(",")[0]!));
    expect(herEvents.size).toBe(4);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [name, lines] of after) {
      expect(lines.filter(namesSubject), name).toEqual([]);
      const others = before.get(name)!.filter((line) => !namesSubject(line));
      // The properties file's lines name only their event: hers are those of her events.
      const kept = name.endsWith("event_properties.csv.zip") ? before.get(name)!.filter((line) => !herEvents.has(line.split(",")[0]!)) : others;
      expect(checksum(lines), name).toBe(checksum(kept));
    }
    // Raw events: her two devices' four events went, with their properties rows.
    const outcomes = request.receipt.export_blobs as { container: string; blobs: string[]; action: string; lines_removed: number; retention_until: string | null }[];
    expect(outcomes.map((o) => o.action)).toEqual(Array(outcomes.length).fill("rewritten"));
    expect(outcomes).toHaveLength(5);
    expect(outcomes.flatMap((o) => o.blobs.map((blob) => `${o.container.split("/").at(-1)}/${blob}`)).sort()).toEqual([...before.keys()].sort());
    expect(outcomes.find((o) => o.blobs[0]!.endsWith(".jsonl"))!.lines_removed).toBe(2);
    expect(outcomes.find((o) => o.blobs[0]!.endsWith("-events.csv.zip"))).toMatchObject({ lines_removed: 4, blobs: [expect.stringMatching(/events\.csv\.zip$/), expect.stringMatching(/event_properties\.csv\.zip$/)] });
    expect(outcomes.find((o) => o.blobs[0]!.endsWith(".ndjson"))).toMatchObject({ lines_removed: 2, retention_until: null });
    expect(outcomes.find((o) => o.blobs[0]!.includes("segment-export") && o.blobs[0]!.endsWith(".gz"))!.lines_removed).toBe(2);
    expect(outcomes.find((o) => o.container === container.url)!.retention_until).toMatch(/^\d{4}-/);
    expect(JSON.stringify(request)).not.toMatch(new RegExp(subjectValues.join("|")));
  });

  it("leaves a blob no grant reaches pending, says so, retries, and rewrites it once a grant allows", { timeout: 60_000 }, async () => {
    await seed();
    const container = blobService.getContainerClient(`exports-${randomUUID().slice(0, 8)}`);
    await container.create();
    // The export's own SAS allows create and write only: it cannot read the blob back.
    const started = await call("POST", `${APP}/push/device_exports`, { blob_container_sas_uri: await sasFor(container, "cw") });
    expect((await finishedRun(`${APP}/push/device_exports/${started.json().export_id}`)).status).toBe("Completed");
    const id = await erase({ install_ids: [ADA.installs[0]] });
    const waiting = await until(() => requestOf(id), (current) => current.receipt?.export_blobs.length > 0);
    expect(waiting.state).toBe("Running");
    expect(waiting.receipt.export_blobs).toEqual([expect.objectContaining({ action: "pending", lines_removed: 0, retention_until: null, reason: expect.stringMatching(/allows read and write/) })]);
    expect(waiting.waiting_for).toMatch(/^1 export blob\(s\) not reached yet/);
    // The StorageContainer resource's grant arrives (pulumi up): the next attempt rewrites the blob.
    expect((await call("PUT", `${APP}/retention_policies`, { blob_container_sas_uri: await sasFor(container, "rwdl"), retention_days: 30 })).statusCode).toBe(200);
    const done = await until(() => requestOf(id), (current) => current.state === "Completed");
    expect(done.receipt.export_blobs).toEqual([expect.objectContaining({ action: "rewritten", lines_removed: 1, reason: null })]);
    const [blob] = [...(await allBlobs([container])).values()];
    expect(blob!.some((line) => line.includes(ADA.installs[0]!))).toBe(false);
    expect(blob!.some((line) => line.includes(ADA.installs[1]!))).toBe(true);
    expect(blob).toHaveLength(301);
    // Run again by the same request (a crash after the commit, before the receipt was saved): the
    // blob's mark says it was rewritten by this request, and how many lines went, not "unchanged".
    const again = await service.services.copies.erase(service.store.appId(key), [{ type: "install_id", value: ADA.installs[0]! }], id, new Set(), () => {});
    expect(again).toEqual([expect.objectContaining({ action: "rewritten", lines_removed: 1 })]);
  });

  it("does not touch a blob whose filter says it cannot hold the subject", { timeout: 60_000 }, async () => {
    await seed();
    const container = blobService.getContainerClient(`exports-${randomUUID().slice(0, 8)}`);
    await container.create();
    expect((await call("PUT", `${APP}/retention_policies`, { blob_container_sas_uri: await sasFor(container, "rwdl"), retention_days: 30 })).statusCode).toBe(200);
    const started = await call("POST", `${APP}/push/device_exports`, { blob_container_sas_uri: await sasFor(container, "cw") });
    const run = await finishedRun(`${APP}/push/device_exports/${started.json().export_id}`);
    const etag = (await container.getBlockBlobClient(run.blob_name).getProperties()).etag;
    const id = await erase({ user_id: "someone-never-exported" });
    const request = await until(() => requestOf(id), (current) => current.state === "Completed");
    expect(request.receipt.export_blobs).toEqual([]);
    expect(request.receipt.note).toMatch(/held nothing of this subject/);
    expect((await container.getBlockBlobClient(run.blob_name).getProperties()).etag).toBe(etag);
  });
});
