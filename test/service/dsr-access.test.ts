// Access requests (GDPR Art. 15) against the real service and Azurite: one JSON document of what the
// store holds for the subject, written through a SAS URL; its content equals the store's (a property
// test over generated apps and subjects); nothing is removed; the receipt says where it went.
import { randomUUID } from "node:crypto";
import { BlobServiceClient, ContainerSASPermissions, type ContainerClient } from "@azure/storage-blob";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessDocumentSchema, type DeviceInput, type EventInput } from "../../domain/index.ts";
import { startAzurite, type Azurite } from "../helpers/azurite.ts";
import { startService, type TestService } from "../helpers/service.ts";
import { until } from "../helpers/until.ts";

let azurite: Azurite;
let service: TestService;
let container: ContainerClient;
let sas: string;

beforeAll(async () => {
  azurite = await startAzurite();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("access");
  await container.create();
  sas = await container.generateSasUrl({ permissions: ContainerSASPermissions.parse("cw"), expiresOn: new Date(Date.now() + 3_600_000) });
  service = await startService();
}, 60_000);
afterAll(async () => {
  await service?.close();
  await azurite?.stop();
});

const call = (method: "GET" | "POST" | "PUT", url: string, payload?: object) =>
  service.app.inject({ method, url, headers: { "x-api-token": service.tokenFor(url.split("/")[3]!, url.split("/")[4]!) }, ...(payload ? { payload } : {}) });

async function access(app: string, subject: object) {
  const created = await call("POST", `/v0.1/apps/acme/${app}/data_subject_requests`, { kind: "access", subject, blob_container_sas_uri: sas });
  expect(created.statusCode).toBe(202);
  const request = await until(async () => (await call("GET", `/v0.1/apps/acme/${app}/data_subject_requests/${created.json().id}`)).json(), (r) => r.state !== "Pending" && r.state !== "Running");
  expect(request).toMatchObject({ state: "Completed", error: null });
  const blob = request.receipt.document.blob as string;
  const document = accessDocumentSchema.parse(JSON.parse((await container.getBlockBlobClient(blob).downloadToBuffer()).toString("utf8")));
  return { request, document };
}

describe("an access request", () => {
  it("writes the subject's devices, events, notifications, audiences and Braze user as one document, and removes nothing", async () => {
    const key = { owner: "acme", app: "access-demo" };
    const ada = [randomUUID(), randomUUID()];
    const device = (installId: string, userId: string, email: string): DeviceInput => ({ install_id: installId, user_id: userId, properties: { carrierCountry: "GB" }, custom_properties: { email }, push: { channel: "fcm", token: `t-${installId}` } });
    service.services.devices.upsert(key, [device(ada[0]!, "ada", "ada@example.org"), device(ada[1]!, "ada-tablet", "ada@example.org"), device(randomUUID(), "alan", "alan@example.org")]);
    service.services.devices.insertEvents(key, [{ type: "custom", name: "viewed", install_id: ada[1]!, timestamp: new Date().toISOString(), properties: { screen: "home" } }] as never);
    const base = "/v0.1/apps/acme/access-demo";
    await call("PUT", `${base}/analytics/audiences/ada-only`, { definition: "email eq 'ada@example.org'", custom_properties: { email: "string" } });
    await call("PUT", `${base}/analytics/audiences/all`, { definition: "carrierCountry eq 'GB'" });
    await call("PUT", `${base}/push/notifications_config`, { type: "gcm_config", server_key: "AAAA-fcm-server-key-0123456789-secret" });
    const sent = (await call("POST", `${base}/push/notifications`, { notification_content: { name: "Hello Ada", body: "Hello" }, notification_target: { type: "user_ids_target", user_ids: ["ada"] } })).json();
    await service.services.idle();
    const before = service.store.db.prepare("SELECT count(*) AS n FROM devices").get();

    const { request, document } = await access("access-demo", { custom_properties: { email: "ada@example.org" } });
    expect(document.devices.map((d) => d.install_id).sort()).toEqual([...ada].sort());
    expect(document.events).toEqual([expect.objectContaining({ install_id: ada[1], type: "custom", name: "viewed", properties: { screen: "home" } })]);
    expect(document.notifications).toEqual([expect.objectContaining({ id: sent.notification_id, deliveries: [{ install_id: ada[0], outcome: expect.any(String) }] })]);
    expect(document.audiences.map((a) => a.name)).toEqual(["ada-only"]);
    expect(document.braze_users.map((u) => u.external_id).sort()).toEqual(["ada", "ada-tablet"]);
    expect(request.receipt).toMatchObject({ devices: { found: 2, removed: 0 }, document: { container: container.url, blob: `dsr-access/${request.id}.json` } });
    expect(service.store.db.prepare("SELECT count(*) AS n FROM devices").get()).toEqual(before);
    // The request itself keeps no identifier once it ended, nor the SAS.
    expect(JSON.stringify(service.store.db.prepare("SELECT * FROM dsr_requests WHERE id = ?").get(request.id))).not.toMatch(/ada@example\.org|sig=/);
  });

  it("answers exactly what the store holds, for generated apps and subjects", { timeout: 120_000 }, async () => {
    const person = fc.record({ devices: fc.integer({ min: 1, max: 3 }), events: fc.integer({ min: 0, max: 3 }), sharesEmail: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(person, { minLength: 2, maxLength: 6 }), fc.nat(), fc.constantFrom("user_id", "install_id", "email"), async (people, pick, by) => {
        const app = `gen-${randomUUID().slice(0, 8)}`;
        const key = { owner: "acme", app };
        const devices: DeviceInput[] = [];
        const events: EventInput[] = [];
        people.forEach((p, i) => {
          for (let d = 0; d < p.devices; d++) {
            const installId = randomUUID();
            devices.push({ install_id: installId, user_id: `user-${i}`, properties: { carrierCountry: "US" }, custom_properties: { email: p.sharesEmail ? "shared@example.org" : `p${i}@example.org`, n: d } });
            for (let e = 0; e < p.events; e++) events.push({ type: "session_start", install_id: installId, timestamp: new Date(Date.now() - e * 1000).toISOString() } as EventInput);
          }
        });
        service.services.devices.upsert(key, devices);
        if (events.length > 0) service.services.devices.insertEvents(key, events as never);
        const chosen = pick % people.length;
        const mine = devices.filter((d) => d.user_id === `user-${chosen}`);
        const email = mine[0]!.custom_properties!.email as string;
        const subject = by === "user_id" ? { user_id: `user-${chosen}` } : by === "install_id" ? { install_ids: [mine[0]!.install_id] } : { custom_properties: { email } };
        // What the store holds, read independently of the service's code.
        const appId = service.store.appId(key);
        const expectedDevices = (
          by === "user_id"
            ? service.store.db.prepare("SELECT install_id FROM devices WHERE app_id = ? AND user_id = ?").all(appId, `user-${chosen}`)
            : by === "install_id"
              ? service.store.db.prepare("SELECT install_id FROM devices WHERE app_id = ? AND install_id = ?").all(appId, mine[0]!.install_id)
              : devices.filter((d) => d.custom_properties!.email === email).map((d) => ({ install_id: d.install_id }))
        ).map((row) => (row as { install_id: string }).install_id);
        const expectedEvents = service.store.db
          .prepare(`SELECT id FROM events WHERE app_id = ? AND install_id IN (SELECT value FROM json_each(?)) ORDER BY occurred_at, id`)
          .all(appId, JSON.stringify(expectedDevices))
          .map((row) => (row as { id: number }).id);
        const { document } = await access(app, subject);
        expect(document.devices.map((d) => d.install_id).sort()).toEqual([...expectedDevices].sort());
        for (const line of document.devices) {
          const input = devices.find((d) => d.install_id === line.install_id)!;
          expect(line).toMatchObject({ user_id: input.user_id, custom_properties: input.custom_properties });
          expect(line).not.toHaveProperty("push_channel");
        }
        expect(document.events.map((e) => e.id)).toEqual(expectedEvents);
        expect(new Set(document.braze_users.map((u) => u.external_id))).toEqual(new Set(devices.filter((d) => expectedDevices.includes(d.install_id)).map((d) => d.user_id)));
      }),
      { numRuns: 12 },
    );
  });
});
