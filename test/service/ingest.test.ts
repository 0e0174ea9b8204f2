import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LIMITS } from "../../domain/index.ts";
import { startService, type TestService } from "../helpers/service.ts";

const APP = "/v0.1/apps/acme/demo";
let service: TestService;
beforeEach(async () => {
  service = await startService();
});
afterEach(async () => {
  await service.close();
});

const post = (url: string, payload: unknown, contentType = "application/json", token = service.token) =>
  service.app.inject({
    method: "POST",
    url,
    headers: { "x-api-token": token, "content-type": contentType },
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
  });
const device = (extra: Record<string, unknown> = {}) => ({
  install_id: randomUUID(),
  user_id: "ana@example.com",
  properties: { carrierCountry: "US", osApiLevel: 33, locale: "en_US" },
  custom_properties: { "dog-lover": true, "dog-breed": "Golden Retriever" },
  push: { channel: "fcm", token: "tok-1" },
  ...extra,
});
const countDevices = () => (service.store.db.prepare("SELECT count(*) AS n FROM devices").get() as { n: number }).n;

describe("device ingestion", () => {
  it("registers a device and the audience counts it", async () => {
    await service.app.inject({
      method: "PUT",
      url: `${APP}/analytics/audiences/dogs`,
      headers: { "x-api-token": service.token },
      payload: { definition: "dog-lover eq true and carrierCountry eq 'US'", custom_properties: { "dog-lover": "boolean" } },
    });
    expect((await post(`${APP}/ingest/devices`, device())).statusCode).toBe(200);
    await new Promise((resolve) => setImmediate(resolve));
    const audience = await service.app.inject({ method: "GET", url: `${APP}/analytics/audiences/dogs`, headers: { "x-api-token": service.token } });
    expect(audience.json()).toMatchObject({ state: "Ready", estimated_count: 1, estimated_total_count: 1 });
  });

  it("updates a device in place, keeping what the update does not name, clearing nulls", async () => {
    const first = device();
    await post(`${APP}/ingest/devices`, first);
    await post(`${APP}/ingest/devices`, { install_id: first.install_id, properties: { locale: "de_DE" }, custom_properties: { "dog-breed": null } });
    const test = await post(`${APP}/analytics/audiences/definition/test`, { definition: "locale eq 'de_DE' and carrierCountry eq 'US' and dog-breed eq 'Golden Retriever'", custom_properties: { "dog-breed": "string" } });
    expect(test.json()).toMatchObject({ estimated_count: 0, estimated_total_count: 1 });
    const kept = await post(`${APP}/analytics/audiences/definition/test`, { definition: "locale eq 'de_DE' and dog-lover eq true", custom_properties: { "dog-lover": "boolean" } });
    expect(kept.json().estimated_count).toBe(1);
  });

  it.each([
    [{ properties: { carrier: "US" } }, 'properties: Unrecognized key: "carrier"'],
    [{ properties: { osApiLevel: "33" } }, "properties.osApiLevel: Invalid input: expected number"],
    [{ install_id: "not-a-uuid" }, "install_id: Invalid UUID"],
    [{ custom_properties: { "bad name!": 1 } }, "custom_properties.bad name!"],
    [{ custom_properties: { note: "x".repeat(101) } }, "custom_properties.note: Too big"],
    [{ push: { channel: "sms", token: "t" } }, "push.channel"],
    [{ extra: 1 }, 'Unrecognized key: "extra"'],
  ])("rejects %j naming the field", async (change, message) => {
    const response = await post(`${APP}/ingest/devices`, device(change));
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain(message);
    expect(countDevices()).toBe(0);
  });

  it("rejects a custom property whose type changes, and one named like a device property", async () => {
    await post(`${APP}/ingest/devices`, device());
    const changed = await post(`${APP}/ingest/devices`, device({ custom_properties: { "dog-lover": "yes" } }));
    expect(changed.json().error.message).toBe("device.custom_properties.dog-lover: 'dog-lover' is a boolean custom property in this app, got a string");
    const shadow = await post(`${APP}/ingest/devices`, device({ custom_properties: { locale: "x" } }));
    expect(shadow.json().error.message).toContain("'locale' is a device property");
  });

  it(`accepts ${LIMITS.customPropertiesPerApp.value} custom properties per app and refuses one more`, async () => {
    const many = Object.fromEntries(Array.from({ length: LIMITS.customPropertiesPerApp.value }, (_, i) => [`p${i}`, i]));
    expect((await post(`${APP}/ingest/devices`, device({ custom_properties: many }))).statusCode).toBe(200);
    const over = await post(`${APP}/ingest/devices`, device({ custom_properties: { "one-more": 1 } }));
    expect(over.statusCode).toBe(400);
    expect(over.json().error.message).toContain("already has 32 custom properties, the limit is 32");
  });

  it("takes NDJSON in bulk, all or nothing, naming the bad line", async () => {
    const good = Array.from({ length: 50 }, () => JSON.stringify(device()));
    const bad = [...good.slice(0, 10), JSON.stringify(device({ properties: { osApiLevel: "x" } })), ...good.slice(10)];
    const rejected = await post(`${APP}/ingest/devices/bulk`, bad.join("\n"), "application/x-ndjson");
    expect(rejected.statusCode).toBe(400);
    expect(rejected.json().error.message).toContain("line 11: properties.osApiLevel");
    expect(countDevices()).toBe(0);

    const typeClash = [...good.slice(0, 10), JSON.stringify(device({ custom_properties: { "dog-lover": 1 } }))];
    expect((await post(`${APP}/ingest/devices/bulk`, typeClash.join("\n"), "application/x-ndjson")).json().error.message).toContain("device 11.custom_properties.dog-lover");
    expect(countDevices()).toBe(0);

    const accepted = await post(`${APP}/ingest/devices/bulk`, `${good.join("\n")}\n`, "application/x-ndjson");
    expect(accepted.json()).toEqual({ accepted: 50 });
    expect(countDevices()).toBe(50);
  });

  it("lists a device property's values, filtered by contains", async () => {
    await post(`${APP}/ingest/devices`, device());
    await post(`${APP}/ingest/devices`, device({ properties: { carrierCountry: "CA" } }));
    const values = await service.app.inject({ method: "GET", url: `${APP}/analytics/audiences/metadata/device_properties/carrierCountry/values`, headers: { "x-api-token": service.token } });
    expect(values.json()).toEqual({ values: ["CA", "US"] });
    const filtered = await service.app.inject({ method: "GET", url: `${APP}/analytics/audiences/metadata/device_properties/carrierCountry/values?contains=u`, headers: { "x-api-token": service.token } });
    expect(filtered.json()).toEqual({ values: ["US"] });
  });

  it("deletes a device (swagger Push_DeleteInstallId)", async () => {
    const d = device();
    await post(`${APP}/ingest/devices`, d);
    const del = () => service.app.inject({ method: "DELETE", url: `${APP}/push/devices/${d.install_id}`, headers: { "x-api-token": service.token } });
    expect((await del()).statusCode).toBe(200);
    expect((await del()).statusCode).toBe(404);
    expect(countDevices()).toBe(0);
  });

  it("keeps apps apart: another app's token cannot ingest here and sees nothing", async () => {
    const other = service.tokenFor("acme", "other");
    expect((await post(`${APP}/ingest/devices`, device(), "application/json", other)).statusCode).toBe(404);
    await post("/v0.1/apps/acme/other/ingest/devices", device(), "application/json", other);
    const test = await post(`${APP}/analytics/audiences/definition/test`, { definition: "carrierCountry eq 'US'" });
    expect(test.json()).toMatchObject({ estimated_count: 0, estimated_total_count: 0 });
  });
});

describe("event ingestion", () => {
  const at = "2026-11-01T10:00:00Z";
  it("stores session, push, custom and purchase events", async () => {
    const id = randomUUID();
    const response = await post(`${APP}/ingest/events`, {
      events: [
        { type: "session_start", install_id: id, timestamp: at },
        { type: "push_opened", install_id: id, timestamp: at, notification_id: "n1" },
        { type: "custom", install_id: id, timestamp: at, name: "add_to_cart", properties: { sku: "a" } },
        { type: "purchase", install_id: id, timestamp: at, product_id: "sku-1", amount: 9.99, currency: "USD" },
        { type: "session_end", install_id: id, timestamp: at },
      ],
    });
    expect(response.json()).toEqual({ accepted: 5 });
  });

  it.each([
    [{ type: "purchase", install_id: randomUUID(), timestamp: at, product_id: "p", amount: 1, currency: "usd" }, "events.0.currency"],
    [{ type: "teleport", install_id: randomUUID(), timestamp: at }, "events.0.type"],
    [{ type: "session_start", install_id: randomUUID(), timestamp: "yesterday" }, "events.0.timestamp"],
  ])("rejects %j naming the field", async (event, field) => {
    const response = await post(`${APP}/ingest/events`, { events: [event] });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain(field);
  });
});
