// Data-subject erasure against the real service: what is removed and rewritten, what is left of
// everyone else, what the receipt says (keyed hashes, never an identifier), and bad input.
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DeviceInput } from "../../domain/index.ts";
import { startService, type TestService } from "../helpers/service.ts";

const APP = "/v0.1/apps/acme/demo";
const key = { owner: "acme", app: "demo" };
let service: TestService;
beforeEach(async () => {
  service = await startService();
});
afterEach(async () => {
  await service.close();
});

const call = (method: "GET" | "POST" | "PUT", url: string, payload?: unknown) =>
  service.app.inject({ method, url, headers: { "x-api-token": service.token }, ...(payload !== undefined ? { payload: payload as object } : {}) });

const EMAIL = "ada.lovelace@example.org";
const subjectInstall = randomUUID();
function device(userId: string, email: string, installId = randomUUID()): DeviceInput {
  return { install_id: installId, user_id: userId, properties: { carrierCountry: "GB" }, custom_properties: { email, plan: "gold" }, push: { channel: "fcm", token: `t-${installId}` } };
}

/** Ada (two devices, one found by her email only), and forty others. */
async function seed() {
  const others = Array.from({ length: 40 }, (_, i) => device(`user-${i}`, `person${i}@example.org`));
  const ada = [device("ada", EMAIL, subjectInstall), device("ada-on-tablet", EMAIL)];
  service.services.devices.upsert(key, [...others, ...ada]);
  service.services.devices.insertEvents(key, [
    { type: "session_start", install_id: subjectInstall, timestamp: new Date().toISOString() },
    { type: "session_start", install_id: others[0]!.install_id, timestamp: new Date().toISOString() },
  ] as never);
  expect((await call("PUT", `${APP}/analytics/audiences/ada-only`, { definition: `email eq '${EMAIL}'`, custom_properties: { email: "string" } })).statusCode).toBe(200);
  expect((await call("PUT", `${APP}/analytics/audiences/gold`, { definition: "plan eq 'gold'", description: `gold, like ${EMAIL}`, custom_properties: { plan: "string" } })).statusCode).toBe(200);
  expect((await call("PUT", `${APP}/analytics/audiences/gb`, { definition: "carrierCountry eq 'GB'", description: "everyone in GB" })).statusCode).toBe(200);
  await call("PUT", `${APP}/push/notifications_config`, { type: "gcm_config", server_key: "AAAA-fcm-server-key-0123456789-secret" });
  const sent = await call("POST", `${APP}/push/notifications`, {
    notification_content: { name: "Hello Ada", title: "Hi", body: `Welcome back, ${EMAIL}` },
    notification_target: { type: "user_ids_target", user_ids: ["ada"] },
  });
  expect(sent.statusCode).toBe(202);
  const broadcast = await call("POST", `${APP}/push/notifications`, { notification_content: { name: "Everyone", body: "News from Canada" }, notification_target: { type: "audiences_target", audiences: ["gb"] } });
  expect(broadcast.statusCode).toBe(202);
  await service.services.idle();
  return { others, adaNotification: (sent.json() as { notification_id: string }).notification_id, broadcast: (broadcast.json() as { notification_id: string }).notification_id };
}

const rowsOf = (table: string) => service.store.db.prepare(`SELECT * FROM ${table}`).all();
/** Every row of every table, as text. */
const everything = () =>
  (service.store.db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as { name: string }[]).map(({ name }) => JSON.stringify(rowsOf(name))).join("\n");

async function erase(subject: Record<string, unknown>) {
  const created = await call("POST", `${APP}/data_subject_requests`, { kind: "erasure", subject });
  expect(created.statusCode).toBe(202);
  const id = (created.json() as { id: string }).id;
  expect(created.headers.location).toBe(`${APP}/data_subject_requests/${id}`);
  await service.services.idle();
  return (await call("GET", `${APP}/data_subject_requests/${id}`)).json();
}

describe("an erasure", () => {
  it("removes the subject's devices, properties, events and deliveries, rewrites what names them, leaves everyone else", async () => {
    const { others, adaNotification, broadcast } = await seed();
    const before = { devices: rowsOf("devices").length, events: rowsOf("events").length };
    const adaInstalls = (service.store.db.prepare("SELECT install_id FROM devices WHERE user_id IN ('ada', 'ada-on-tablet')").all() as { install_id: string }[]).map((d) => d.install_id);
    const adaEvents = (rowsOf("events") as { install_id: string }[]).filter((event) => adaInstalls.includes(event.install_id)).length;
    expect(adaEvents).toBeGreaterThan(0);
    // Her notification, and the broadcast to GB (both her devices).
    const adaDeliveries = (rowsOf("notification_deliveries") as { install_id: string }[]).filter((delivery) => adaInstalls.includes(delivery.install_id)).length;
    expect(adaDeliveries).toBe(3);
    const request = await erase({ user_id: "ada", custom_properties: { email: EMAIL } });

    expect(request).toMatchObject({ state: "Completed", error: null });
    expect(request.receipt).toEqual({
      devices: { found: 2, removed: 2 },
      events: { removed: adaEvents },
      notification_deliveries: { removed: adaDeliveries },
      notifications_rewritten: [adaNotification],
      audiences_deleted: ["ada-only"],
      audiences_rewritten: ["gold"],
      export_jobs_rewritten: [],
      export_jobs_deleted: [],
      export_blobs: [],
      document: null,
      note: null,
    });
    // Identifiers are shown as keyed hashes only.
    expect(request.subject).toEqual([
      { type: "user_id", hash: expect.stringMatching(/^hmac-sha256:/) },
      { type: "custom_property:email", hash: expect.stringMatching(/^hmac-sha256:/) },
    ]);
    expect(JSON.stringify(request)).not.toContain(EMAIL);
    expect(JSON.stringify(request)).not.toMatch(/"ada"/);

    // Nothing of Ada anywhere in the store: not her email, her install id, nor her user id as a value.
    const stored = everything();
    expect(stored).not.toContain(EMAIL);
    expect(stored).not.toContain(subjectInstall);
    expect(stored).not.toMatch(/"ada"/);
    // Nor in the bytes of the database file and its log: deleted space is zeroed, the log truncated.
    const bytes = Buffer.concat([readFileSync(service.store.path), ...[`${service.store.path}-wal`].filter(existsSync).map((path) => readFileSync(path))]);
    for (const identifier of [EMAIL, subjectInstall]) expect(bytes.includes(Buffer.from(identifier)), identifier).toBe(false);
    // Everyone else is untouched.
    expect(rowsOf("devices")).toHaveLength(before.devices - 2);
    expect(rowsOf("events")).toHaveLength(before.events - adaEvents);
    for (const other of others) expect(stored).toContain(other.install_id);
    expect((await call("GET", `${APP}/analytics/audiences/gb`)).json()).toMatchObject({ estimated_count: others.length, description: "everyone in GB" });
    expect((await call("GET", `${APP}/analytics/audiences/gold`)).json()).toMatchObject({ estimated_count: others.length, description: "gold, like [erased]" });
    expect((await call("GET", `${APP}/push/notifications/${adaNotification}`)).statusCode).toBe(200);
    // A value is erased where it stands as a token: user id "ada" is not in "Canada".
    expect(JSON.stringify(service.store.db.prepare("SELECT content FROM notifications WHERE id = ?").get(broadcast))).toContain("News from Canada");
  });

  it("takes the subject's user id out of users-by-id export jobs and their runs; a job naming only the subject is deleted", async () => {
    await seed();
    const sas = "http://127.0.0.1:10000/devstoreaccount1/exports?sv=2024-08-04&se=2099-01-01T00%3A00%3A00Z&sr=c&sp=cw&sig=c2ln";
    // A one-off job runs at once (its run, failing to reach storage, records the ids it was given); a yearly one waits.
    const job = async (ids: string[], schedule?: string) => {
      const created = await call("POST", `${APP}/export_jobs`, { kind: "users_by_id_export", ...(schedule ? { schedule } : {}), options: { external_ids: ids }, blob_container_sas_uri: sas });
      expect(created.statusCode, created.body).toBe(201);
      return created.json().id as string;
    };
    const [both, adaOnly, others] = [await job(["user-1", "ada"]), await job(["ada"], "0 3 1 1 *"), await job(["user-2"], "0 3 1 1 *")];
    await service.services.idle();
    expect(JSON.stringify(rowsOf("export_runs"))).toContain('\\"ada\\"');
    const request = await erase({ user_id: "ada" });
    expect(request.receipt).toMatchObject({ export_jobs_rewritten: [both], export_jobs_deleted: [adaOnly] });
    expect((await call("GET", `${APP}/export_jobs/${both}`)).json().options).toMatchObject({ external_ids: ["user-1"] });
    expect((await call("GET", `${APP}/export_jobs/${adaOnly}`)).statusCode).toBe(404);
    expect((await call("GET", `${APP}/export_jobs/${others}`)).json().options).toMatchObject({ external_ids: ["user-2"] });
    expect(JSON.stringify([...rowsOf("export_jobs"), ...rowsOf("export_runs")])).not.toContain('\\"ada\\"');
  });

  it("by email takes the user id the subject's devices carried out of users-by-id jobs, and refuses a job naming it again", async () => {
    await seed();
    const sas = "http://127.0.0.1:10000/devstoreaccount1/exports?sv=2024-08-04&se=2099-01-01T00%3A00%3A00Z&sr=c&sp=cw&sig=c2ln";
    const created = await call("POST", `${APP}/export_jobs`, { kind: "users_by_id_export", schedule: "0 3 1 1 *", options: { external_ids: ["ada", "ada-on-tablet", "user-1"] }, blob_container_sas_uri: sas });
    expect(created.statusCode, created.body).toBe(201);
    const request = await erase({ custom_properties: { email: EMAIL } });
    expect(request.receipt).toMatchObject({ devices: { found: 2 }, export_jobs_rewritten: [created.json().id] });
    expect((await call("GET", `${APP}/export_jobs/${created.json().id}`)).json().options).toMatchObject({ external_ids: ["user-1"] });
    // An erasure by user id is remembered by keyed hash: a job may not name that user again (an `up` would undo the erasure).
    const byUserId = await erase({ user_id: "user-2" });
    expect(byUserId.state).toBe("Completed");
    const again = await call("POST", `${APP}/export_jobs`, { kind: "users_by_id_export", options: { external_ids: ["user-3", "user-2"] }, blob_container_sas_uri: sas });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.message).toBe(`options.external_ids names 1 user(s) erased by data-subject request ${byUserId.id}; remove them from the job (they are not shown here)`);
    const updated = await call("PUT", `${APP}/export_jobs/${created.json().id}`, { kind: "users_by_id_export", schedule: "0 3 1 1 *", options: { external_ids: ["user-2"] }, blob_container_sas_uri: sas });
    expect(updated.statusCode).toBe(409);
  });

  it("of a subject the store does not know completes with a receipt of zeros; repeated, it finds nothing more", async () => {
    await seed();
    const nobody = await erase({ user_id: "nobody" });
    expect(nobody).toMatchObject({ state: "Completed", receipt: { devices: { found: 0, removed: 0 }, events: { removed: 0 }, audiences_deleted: [] } });
    expect((await erase({ install_ids: [subjectInstall] })).receipt.devices).toEqual({ found: 1, removed: 1 });
    expect((await erase({ install_ids: [subjectInstall] })).receipt.devices).toEqual({ found: 0, removed: 0 });
  });

  it("twice at once for the same subject: both complete, and what was there is erased once", async () => {
    await seed();
    const subject = { user_id: "ada", custom_properties: { email: EMAIL } };
    const created = await Promise.all([0, 1].map(() => call("POST", `${APP}/data_subject_requests`, { kind: "erasure", subject })));
    await service.services.idle();
    const receipts = await Promise.all(created.map(async (response) => (await call("GET", `${APP}/data_subject_requests/${response.json().id}`)).json()));
    expect(receipts.map((request) => request.state)).toEqual(["Completed", "Completed"]);
    expect(receipts.reduce((sum, request) => sum + request.receipt.devices.removed, 0)).toBe(2);
    expect(receipts.flatMap((request) => request.receipt.audiences_deleted)).toEqual(["ada-only"]);
    expect(JSON.stringify(rowsOf("devices"))).not.toContain(EMAIL);
  });

  it("is what App Center's DELETE …/push/devices/{install_id} does: the device, its events and deliveries go at once", async () => {
    await seed();
    const removed = await service.app.inject({ method: "DELETE", url: `${APP}/push/devices/${subjectInstall.toUpperCase()}`, headers: { "x-api-token": service.token } });
    expect(removed.statusCode).toBe(200);
    expect(JSON.stringify(rowsOf("devices"))).not.toContain(subjectInstall);
    expect(JSON.stringify(rowsOf("events"))).not.toContain(subjectInstall);
    expect(JSON.stringify(rowsOf("notification_deliveries"))).not.toContain(subjectInstall);
    await service.services.idle();
    const [request] = (await call("GET", `${APP}/data_subject_requests`)).json().values;
    expect(request).toMatchObject({ kind: "erasure", state: "Completed", subject: [{ type: "install_id" }], receipt: { devices: { found: 1, removed: 1 } } });
    const again = await service.app.inject({ method: "DELETE", url: `${APP}/push/devices/${subjectInstall}`, headers: { "x-api-token": service.token } });
    expect(again.statusCode).toBe(404);
  });

  it("is what Braze's /users/delete asks for, one request per external id", async () => {
    await seed();
    const deleted = await call("POST", `${APP}/users/delete`, { external_ids: ["ada", "ada-on-tablet", "ada"] });
    expect(deleted.statusCode).toBe(201);
    expect(deleted.json()).toEqual({ message: "success", deleted: 2 });
    await service.services.idle();
    expect(JSON.stringify(rowsOf("devices"))).not.toContain(subjectInstall);
    const requests = (await call("GET", `${APP}/data_subject_requests`)).json().values as { state: string; receipt: { devices: { removed: number } } }[];
    expect(requests.map((r) => [r.state, r.receipt.devices.removed])).toEqual([
      ["Completed", 1],
      ["Completed", 1],
    ]);
    const tooMany = await call("POST", `${APP}/users/delete`, { external_ids: Array.from({ length: 51 }, (_, i) => `u${i}`) });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().error.message).toContain("external_ids");
  });

  it("is listed, and can be cancelled only before it starts", async () => {
    const done = await erase({ user_id: "someone" });
    expect((await call("POST", `${APP}/data_subject_requests/${done.id}/cancel`)).statusCode).toBe(409);
    expect((await call("GET", `${APP}/data_subject_requests`)).json().values.map((r: { id: string }) => r.id)).toEqual([done.id]);

    await service.close();
    service = await startService({ runner: { concurrency: 0 } });
    const pending = (await call("POST", `${APP}/data_subject_requests`, { kind: "erasure", subject: { user_id: "someone" } })).json();
    expect(pending.state).toBe("Pending");
    const cancelled = await call("POST", `${APP}/data_subject_requests/${pending.id}/cancel`);
    expect(cancelled.json()).toMatchObject({ state: "Cancelled", receipt: null });
    expect(JSON.stringify(rowsOf("dsr_requests"))).not.toContain("someone");
    expect((await call("GET", `${APP}/data_subject_requests/nope`)).statusCode).toBe(404);
  });
});

describe("bad input: a 400 naming the field and the limit", () => {
  it.each([
    ["an empty subject", {}, "subject: names no one"],
    ["an install id that is not a UUID", { install_ids: ["not-a-uuid"] }, "subject.install_ids.0: must be an install id (a UUID)"],
    ["51 identifiers", { install_ids: Array.from({ length: 51 }, () => randomUUID()) }, "must be at most 50 identifiers per data-subject request"],
    ["an empty user id", { user_id: "" }, "subject.user_id"],
  ])("%s", async (_case, subject, message) => {
    const response = await call("POST", `${APP}/data_subject_requests`, { kind: "erasure", subject });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain(message);
  });

  it.each([
    ["no container", undefined, "blob_container_sas_uri: an access request writes its document into a container"],
    ["a SAS without write permission", "https://acct.blob.core.windows.net/c?sp=rl&se=2099-01-01T00:00:00Z&sig=x", "blob_container_sas_uri: the SAS allows 'rl' but writing exports needs create (c) and write (w)"],
    ["a URL without a SAS", "https://acct.blob.core.windows.net/c", "blob_container_sas_uri: the URL carries no SAS signature (sig)"],
    ["an expired SAS", "https://acct.blob.core.windows.net/c?sp=cw&se=2020-01-01T00:00:00Z&sig=x", "blob_container_sas_uri: the SAS expired at 2020-01-01T00:00:00Z"],
  ])("an access request with %s", async (_case, sas, message) => {
    const response = await call("POST", `${APP}/data_subject_requests`, { kind: "access", subject: { user_id: "x" }, ...(sas ? { blob_container_sas_uri: sas } : {}) });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain(message);
    expect(rowsOf("dsr_requests")).toEqual([]);
  });
});

describe("SAS URLs and recheck, as an attacker tried them", () => {
  it.each([
    ["an expiry that is not a date", "https://acct.blob.core.windows.net/c?sp=cw&se=garbage&sig=x", "blob_container_sas_uri: the SAS expiry (se) 'garbage' is not a date"],
    ["no expiry at all", "https://acct.blob.core.windows.net/c?sp=cw&sig=x", "blob_container_sas_uri: the SAS names no expiry (se) nor stored access policy (si)"],
  ])("an access request's SAS with %s is a 400", async (_case, sas, message) => {
    const response = await call("POST", `${APP}/data_subject_requests`, { kind: "access", subject: { user_id: "x" }, blob_container_sas_uri: sas });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toBe(message);
  });

  it("rechecks only a completed erasure: an access request is no oracle for whoever it names", async () => {
    await seed();
    const access = (await call("POST", `${APP}/data_subject_requests`, { kind: "access", subject: { user_id: "ada" }, blob_container_sas_uri: "https://acct.blob.core.windows.net/c?sp=cw&se=2099-01-01T00:00:00Z&sig=x" })).json();
    const recheck = await call("POST", `${APP}/data_subject_requests/${access.id}/recheck`, { subject: { user_id: "ada" } });
    expect(recheck.statusCode).toBe(409);
    expect(recheck.json().error.message).toContain("only a completed erasure's subject is checked again");
    // The same install id in two cases is one identifier (one keyed hash).
    const twice = (await call("POST", `${APP}/data_subject_requests`, { kind: "erasure", subject: { install_ids: [subjectInstall.toUpperCase(), subjectInstall] } })).json();
    expect(twice.subject).toHaveLength(1);
  });
});
