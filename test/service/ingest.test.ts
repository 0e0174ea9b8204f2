import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LIMITS } from "../../domain/index.ts";
import { SLICE_FIRST } from "../../service/devices.ts";
import { MAX_REPORTED_ISSUES } from "../../service/ndjson.ts";
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
  push: { channel: "fcm" as const, token: "tok-1" },
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
    await service.services.idle();
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

  it(`reports at most ${MAX_REPORTED_ISSUES} issues, each naming its line and field`, async () => {
    const lines = [JSON.stringify(device()), "{not json", ...Array.from({ length: 30 }, () => JSON.stringify(device({ install_id: "nope" })))];
    const response = await post(`${APP}/ingest/devices/bulk`, lines.join("\n"), "application/x-ndjson");
    expect(response.statusCode).toBe(400);
    const issues = response.json().error.message.split("; ");
    expect(issues).toHaveLength(MAX_REPORTED_ISSUES);
    expect(issues[0]).toBe("line 2: not valid JSON");
    expect(issues[1]).toBe("line 3: install_id: Invalid UUID");
    expect(issues.at(-1)).toBe(`line ${MAX_REPORTED_ISSUES + 1}: install_id: Invalid UUID`);
    expect(countDevices()).toBe(0);
  });

  it("takes blank lines, CRLF line endings and a charset parameter in NDJSON", async () => {
    const lines = [JSON.stringify(device()), "", "   ", JSON.stringify(device())];
    const response = await post(`${APP}/ingest/devices/bulk`, `\r\n${lines.join("\r\n")}\r\n\r\n`, "application/x-ndjson; charset=utf-8");
    expect(response.json()).toEqual({ accepted: 2 });
  });

  it(`refuses a line over ${LIMITS.ingestLineBytes.value} bytes with 413, naming its line and the limit`, async () => {
    const long = JSON.stringify(device({ user_id: "x".repeat(LIMITS.ingestLineBytes.value) }));
    const response = await post(`${APP}/ingest/devices/bulk`, [JSON.stringify(device()), JSON.stringify(device()), long].join("\n"), "application/x-ndjson");
    expect(response.statusCode).toBe(413);
    expect(response.json().error).toEqual({ code: "BadRequest", message: "line 3 is longer than 65,536 bytes per NDJSON line (pushplane service)" });
    expect(countDevices()).toBe(0);
  });

  it(`refuses more than ${LIMITS.ingestBatchDevices.value} devices in one body, naming the line past the limit`, async () => {
    // The smallest valid device, repeated: the count, not the bytes, is what is over.
    const line = `${JSON.stringify({ install_id: randomUUID() })}\n`;
    const response = await post(`${APP}/ingest/devices/bulk`, line.repeat(LIMITS.ingestBatchDevices.value + 1), "application/x-ndjson");
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toBe("line 100001: the body holds more than 100,000 devices per bulk ingestion request (pushplane service); split it into several requests");
    expect(countDevices()).toBe(0);
  });

  it("takes bulk devices only as NDJSON, and only for the token's own app", async () => {
    const json = await post(`${APP}/ingest/devices/bulk`, [device()]);
    expect(json.statusCode).toBe(400);
    expect(json.json().error.message).toBe("bulk ingestion takes application/x-ndjson: one device JSON object per line");
    // Refused before the body is read (the parser checks the token's app first), so a body that is
    // not even JSON gets 404, not 400.
    const other = await post(`${APP}/ingest/devices/bulk`, "{not json", "application/x-ndjson", service.tokenFor("acme", "other"));
    expect(other.statusCode).toBe(404);
    expect(other.json().error.code).toBe("NotFound");
    expect(countDevices()).toBe(0);
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
  it("checks a body larger than one write slice whole before writing any of it", async () => {
    // 5,000 devices are several slices; the clash is in a late one, so a slice-by-slice check would have written the first.
    const lines = Array.from({ length: 5_000 }, () => JSON.stringify(device()));
    lines[4_500] = JSON.stringify(device({ custom_properties: { "dog-lover": "yes" } }));
    const rejected = await post(`${APP}/ingest/devices/bulk`, lines.join("\n"), "application/x-ndjson");
    expect(rejected.statusCode).toBe(400);
    expect(rejected.json().error.message).toContain("device 4501.custom_properties.dog-lover");
    expect(countDevices()).toBe(0);
  });

  it("answers other requests between the write slices of a large body", async () => {
    const devices = Array.from({ length: 10_000 }, () => device());
    const order: string[] = [];
    const upsert = service.services.devices.upsert.bind(service.services.devices);
    service.services.devices.upsert = (...args) => {
      order.push("slice");
      return upsert(...args);
    };
    setTimeout(() => order.push("another request"), 0);
    await service.services.devices.ingestDevices({ owner: "acme", app: "demo" }, devices, () => "digest-1", (i) => `device ${i + 1}`);
    expect(order.filter((o) => o === "slice").length).toBeGreaterThan(1);
    // The timer fired after the first slice and before the last: the loop turned in between.
    expect(order.indexOf("another request")).toBeGreaterThan(0);
    expect(order.indexOf("another request")).toBeLessThan(order.length - 1);
  });

  it("resumes a large body after a crash midway without writing its first slices twice, and writes a finished one once", async () => {
    const countEvents = () => (service.store.db.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n;
    const ids = Array.from({ length: 25_000 }, () => randomUUID());
    const body = ids.map((id) => JSON.stringify({ type: "session_start", install_id: id, timestamp: at })).join("\n");
    // The second slice dies as a crash would (not an API error): the first slice is in, the rest is not.
    const insert = service.services.devices.insertEvents.bind(service.services.devices);
    let slices = 0;
    service.services.devices.insertEvents = (...args) => {
      if (++slices === 2) throw new Error("the process died here");
      return insert(...args);
    };
    const crashed = await post(`${APP}/ingest/events`, body, "application/x-ndjson");
    expect(crashed.statusCode, crashed.body).toBe(500);
    expect(countEvents()).toBe(SLICE_FIRST.events);
    service.services.devices.insertEvents = insert;

    expect((await post(`${APP}/ingest/events`, body, "application/x-ndjson")).json()).toEqual({ accepted: 25_000 });
    expect(countEvents()).toBe(25_000);
    // A retry of a body whose answer was lost: answered, not written again.
    expect((await post(`${APP}/ingest/events`, body, "application/x-ndjson")).json()).toEqual({ accepted: 25_000 });
    expect(countEvents()).toBe(25_000);
    // A different body is written.
    expect((await post(`${APP}/ingest/events`, `${body}\n`, "application/x-ndjson")).json()).toEqual({ accepted: 25_000 });
    expect(countEvents()).toBe(50_000);
  });

  it("writes a small events body sent again within the retry window once", async () => {
    const countEvents = () => (service.store.db.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n;
    const before = countEvents();
    const body = [1, 2, 3, 4].map(() => JSON.stringify({ type: "purchase", install_id: randomUUID(), timestamp: at, product_id: "p", amount: 1, currency: "USD" })).join("\n");
    for (let attempt = 0; attempt < 2; attempt++) expect((await post(`${APP}/ingest/events`, body, "application/x-ndjson")).json()).toEqual({ accepted: 4 });
    expect(countEvents()).toBe(before + 4);
    const json = { events: [{ type: "session_start", install_id: randomUUID(), timestamp: at }] };
    for (let attempt = 0; attempt < 2; attempt++) expect((await post(`${APP}/ingest/events`, json)).json()).toEqual({ accepted: 1 });
    expect(countEvents()).toBe(before + 5);
  });

  it("writes a large body sent twice at once exactly once", async () => {
    const countEvents = () => (service.store.db.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n;
    const body = Array.from({ length: 30_000 }, () => JSON.stringify({ type: "session_start", install_id: randomUUID(), timestamp: at })).join("\n");
    const answers = await Promise.all([post(`${APP}/ingest/events`, body, "application/x-ndjson"), post(`${APP}/ingest/events`, body, "application/x-ndjson")]);
    expect(answers.map((a) => a.statusCode)).toContain(200);
    for (const answer of answers.filter((a) => a.statusCode !== 200)) expect(answer.json().error.message).toContain("being written by another request");
    expect(countEvents()).toBe(30_000);
  });

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

  it("takes events as NDJSON, all or nothing, naming the bad line", async () => {
    const id = randomUUID();
    const events = [
      { type: "session_start", install_id: id, timestamp: at },
      { type: "custom", install_id: id, timestamp: at, name: "add_to_cart", properties: { sku: "a" } },
      { type: "session_end", install_id: id, timestamp: at },
    ].map((event) => JSON.stringify(event));
    const bad = [events[0], JSON.stringify({ type: "session_end", install_id: id, timestamp: "yesterday" }), events[2]].join("\n");
    const rejected = await post(`${APP}/ingest/events`, bad, "application/x-ndjson");
    expect(rejected.statusCode).toBe(400);
    expect(rejected.json().error.message).toContain("line 2: timestamp");
    expect((await post(`${APP}/ingest/events`, events.join("\n"), "application/x-ndjson")).json()).toEqual({ accepted: 3 });
    const stored = (service.store.db.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n;
    expect(stored).toBe(3);
  });

  it(`refuses a JSON events body over ${LIMITS.ingestJsonBodyBytes.value} bytes with 413, pointing to NDJSON`, async () => {
    const event = JSON.stringify({ type: "session_start", install_id: randomUUID(), timestamp: at });
    const count = Math.ceil(LIMITS.ingestJsonBodyBytes.value / (event.length + 1)) + 1;
    const response = await post(`${APP}/ingest/events`, `{"events":[${`${event},`.repeat(count)}${event}]}`);
    expect(response.statusCode).toBe(413);
    expect(response.json().error).toEqual({
      code: "BadRequest",
      message:
        "request body is longer than 16,777,216 bytes per JSON events request (pushplane service); send more events as application/x-ndjson, one event per line, up to 67,108,864 bytes per NDJSON ingestion request (pushplane service)",
    });
  });

  it.each([
    [{ type: "purchase", install_id: randomUUID(), timestamp: at, product_id: "p", amount: 1, currency: "usd" }, "events.0.currency"],
    [{ type: "purchase", install_id: randomUUID(), timestamp: at, product_id: "p", amount: 1e308, currency: "EUR" }, "events.0.amount: must be at most 1,000,000,000 units of its currency per purchase"],
    [{ type: "teleport", install_id: randomUUID(), timestamp: at }, "events.0.type"],
    [{ type: "session_start", install_id: randomUUID(), timestamp: "yesterday" }, "events.0.timestamp"],
  ])("rejects %j naming the field", async (event, field) => {
    const response = await post(`${APP}/ingest/events`, { events: [event] });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain(field);
  });
});
