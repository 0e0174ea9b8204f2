import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DeviceInput } from "../../domain/index.ts";
import type { PushSender } from "../../service/notifications.ts";
import { createServices } from "../../service/services.ts";
import { startService, type TestService } from "../helpers/service.ts";

const PUSH = "/v0.1/apps/acme/demo/push";
const FCM_KEY = "AAAA-fcm-server-key-0123456789-secret";
let service: TestService;
beforeEach(async () => {
  service = await startService();
});
afterEach(async () => {
  await service.close();
});

const call = (method: "GET" | "POST" | "PUT" | "DELETE" | "HEAD", url: string, payload?: unknown) =>
  service.app.inject({ method, url, headers: { "x-api-token": service.token }, ...(payload !== undefined ? { payload: payload as object } : {}) });
const content = (extra: Record<string, unknown> = {}) => ({ name: "Weekend event", title: "Crossover", body: "Do your dogs ride bikes?", ...extra });
const devices = (n: number, extra: Partial<DeviceInput> = {}): DeviceInput[] =>
  Array.from({ length: n }, (_, i) => ({
    install_id: randomUUID(),
    user_id: `user-${i % 50}`,
    properties: { carrierCountry: "US" },
    custom_properties: { "dog-lover": i % 2 === 0 },
    push: { channel: "fcm", token: `token-${i}` },
    ...extra,
  }));
const ingest = (list: DeviceInput[]) => service.services.devices.upsert({ owner: "acme", app: "demo" }, list);

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("condition not reached");
}
const finished = (id: string) => until(async () => (await call("GET", `${PUSH}/notifications/${id}`)).json(), (n) => !["Queued", "Sending"].includes(n.state));

describe("sending", () => {
  it("broadcasts, answers 202 with Location, and records each device's outcome", async () => {
    await call("PUT", `${PUSH}/notifications_config`, { type: "gcm_config", server_key: FCM_KEY });
    ingest(devices(3));
    ingest([{ install_id: randomUUID(), properties: {}, custom_properties: {} }]);
    const sent = await call("POST", `${PUSH}/notifications`, { notification_content: content(), notification_target: null });
    expect(sent.statusCode).toBe(202);
    const id = sent.json().notification_id;
    expect(sent.headers.location).toBe(`${PUSH}/notifications/${id}`);
    expect(await finished(id)).toMatchObject({
      state: "Completed",
      pns_send_success: 3,
      pns_send_failure: 1,
      failure_outcomes: [{ failure_reason: "NoPushToken", count: 1 }],
      notification_content: content(),
    });
  });

  it("fails every device without credentials for its channel", async () => {
    ingest(devices(2));
    const id = (await call("POST", `${PUSH}/notifications`, { notification_content: content() })).json().notification_id;
    expect(await finished(id)).toMatchObject({ state: "Failed", failure_outcomes: [{ failure_reason: "MissingCredentials", count: 2 }] });
  });

  it("targets an audience, users and devices", async () => {
    await call("PUT", `${PUSH}/notifications_config`, { type: "gcm_config", server_key: FCM_KEY });
    const list = devices(10);
    ingest(list);
    await call("PUT", "/v0.1/apps/acme/demo/analytics/audiences/dogs", { definition: "dog-lover eq true", custom_properties: { "dog-lover": "boolean" } });
    const audience = (await call("POST", `${PUSH}/notifications`, { notification_content: content(), notification_target: { type: "audiences_target", audiences: ["dogs"] } })).json();
    expect(await finished(audience.notification_id)).toMatchObject({ pns_send_success: 5 });
    const users = (await call("POST", `${PUSH}/notifications`, { notification_content: content(), notification_target: { type: "user_ids_target", user_ids: ["user-1", "user-2"] } })).json();
    expect(await finished(users.notification_id)).toMatchObject({ pns_send_success: 2 });
    const some = (await call("POST", `${PUSH}/notifications`, { notification_content: content(), notification_target: { type: "devices_target", devices: [list[0]!.install_id] } })).json();
    expect(await finished(some.notification_id)).toMatchObject({ pns_send_success: 1 });
  });

  it("says NoTargetFound when nothing matches", async () => {
    const sent = (await call("POST", `${PUSH}/notifications`, { notification_content: content(), notification_target: { type: "devices_target", devices: [randomUUID()] } })).json();
    expect((await call("GET", `${PUSH}/notifications/${sent.notification_id}`)).json().state).toBe("NoTargetFound");
  });
});

describe("limits at, just under and just over their bounds", () => {
  it.each([
    [{ name: "ab" }, "notification_content.name must be at least 3 characters (got 2"],
    [{ name: "n".repeat(65) }, "notification_content.name must be at most 64 characters (got 65"],
    [{ title: "t".repeat(129) }, "notification_content.title must be at most 128 characters (got 129"],
    [{ body: "" }, "notification_content.body must be at least 1 characters (got 0"],
    [{ body: "b".repeat(4001) }, "notification_content.body must be at most 4000 characters (got 4001"],
    [{ custom_data: { k: "v".repeat(101) } }, "notification_content.custom_data.k must be at most 100 characters per custom_data value (got 101; seeds: Using the Push API)"],
  ])("content %j is refused", async (change, message) => {
    const response = await call("POST", `${PUSH}/notifications`, { notification_content: content(change) });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain(message);
  });

  it.each([
    [{ name: "abc" }],
    [{ name: "n".repeat(64) }],
    [{ title: "t".repeat(128) }],
    [{ body: "b" }],
    [{ body: "b".repeat(4000) }],
    [{ custom_data: { k: "v".repeat(100) } }],
  ])("content %j at the bound is accepted", async (change) => {
    expect((await call("POST", `${PUSH}/notifications`, { notification_content: content(change) })).statusCode).toBe(202);
  });

  it.each([
    ["devices_target", "devices", () => randomUUID(), 100],
    ["user_ids_target", "user_ids", (i: number) => `u${i}`, 100],
    ["account_ids_target", "account_ids", (i: number) => `a${i}`, 100],
  ] as const)("%s takes %i entries, not one more", async (type, field, make, limit) => {
    const at = await call("POST", `${PUSH}/notifications`, { notification_content: content(), notification_target: { type, [field]: Array.from({ length: limit }, (_, i) => make(i)) } });
    expect(at.statusCode).toBe(202);
    const over = await call("POST", `${PUSH}/notifications`, { notification_content: content(), notification_target: { type, [field]: Array.from({ length: limit + 1 }, (_, i) => make(i)) } });
    expect(over.statusCode).toBe(400);
    expect(over.json().error.message).toContain(`notification_target.${field} must be at most ${limit}`);
  });

  it("an audience of 1,000 devices can be sent to; 1,001 cannot (enforced when sending)", async () => {
    ingest(devices(1000, { custom_properties: { "dog-lover": true } }));
    await call("PUT", "/v0.1/apps/acme/demo/analytics/audiences/dogs", { definition: "dog-lover eq true", custom_properties: { "dog-lover": "boolean" } });
    const target = { type: "audiences_target", audiences: ["dogs"] };
    expect((await call("POST", `${PUSH}/notifications`, { notification_content: content(), notification_target: target })).statusCode).toBe(202);
    expect((await call("POST", `${PUSH}/notifications`, { notification_content: content() })).statusCode).toBe(202);
    ingest(devices(1, { custom_properties: { "dog-lover": true } }));
    const over = await call("POST", `${PUSH}/notifications`, { notification_content: content(), notification_target: target });
    expect(over.statusCode).toBe(400);
    expect(over.json().error.message).toBe(
      "notification_target: audience 'dogs' has more than 1000 devices; any API notification targets at most 1000 devices (seeds: Using the Push API)",
    );
    // The audience itself may be larger: it says how large.
    await service.services.idle();
    expect((await call("GET", "/v0.1/apps/acme/demo/analytics/audiences/dogs")).json().estimated_count).toBe(1001);
    expect((await call("POST", `${PUSH}/notifications`, { notification_content: content() })).json().error.message).toContain("a broadcast reaches more than 1000 devices");
  });

  it("names an unknown audience", async () => {
    const response = await call("POST", `${PUSH}/notifications`, { notification_content: content(), notification_target: { type: "audiences_target", audiences: ["nope"] } });
    expect(response.json().error.message).toBe("notification_target.audiences[0]: audience 'nope' not found in app 'acme/demo'");
  });
});

describe("listing", () => {
  const send = async (name: string) => (await call("POST", `${PUSH}/notifications`, { notification_content: content({ name }) })).json().notification_id as string;

  it("pages stably while notifications are sent between pages", async () => {
    const original: string[] = [];
    for (let i = 0; i < 25; i++) original.push(await send(`first-${i}`));
    const seen: string[] = [];
    let url: string | undefined = `${PUSH}/notifications?$top=10&$orderby=send_time%20desc&$inlinecount=allpages`;
    let pages = 0;
    while (url) {
      const body = (await call("GET", url)).json() as { values: { notification_id: string }[]; nextLink?: string; total?: number };
      if (pages === 0) expect(body.total).toBe(25);
      seen.push(...body.values.map((v) => v.notification_id));
      for (let i = 0; i < 3; i++) await send(`during-${pages}-${i}`);
      url = body.nextLink;
      pages++;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => original.includes(id)).sort()).toEqual([...original].sort());
  });

  it("$top 0 returns everything; $top over 2000 is refused", async () => {
    for (let i = 0; i < 3; i++) await send(`n-${i}`);
    expect((await call("GET", `${PUSH}/notifications?$top=0`)).json().values).toHaveLength(3);
    expect((await call("GET", `${PUSH}/notifications?$top=2001`)).statusCode).toBe(400);
    expect((await call("GET", `${PUSH}/notifications?$orderby=color%20desc`)).json().error.message).toContain("$orderby must be one of send_time, name, count");
    // Names every object has (its prototype's) are not columns either.
    for (const inherited of ["toString", "__proto__", "constructor"]) {
      const answer = await call("GET", `${PUSH}/notifications?$orderby=${inherited}%20desc`);
      expect(answer.statusCode, inherited).toBe(400);
    }
  });

  it("delete archives: gone from the list, back with include_archived", async () => {
    const id = await send("to-archive");
    expect((await call("DELETE", `${PUSH}/notifications`, { values: [id] })).statusCode).toBe(200);
    expect((await call("GET", `${PUSH}/notifications`)).json().values).toEqual([]);
    expect((await call("GET", `${PUSH}/notifications?include_archived=true`)).json().values).toHaveLength(1);
  });
});

describe("notifications_config", () => {
  it("stores the secret encrypted, answers it masked with a fingerprint", async () => {
    expect((await call("HEAD", `${PUSH}/notifications_config`)).statusCode).toBe(404);
    const put = await call("PUT", `${PUSH}/notifications_config`, { type: "gcm_config", server_key: FCM_KEY });
    expect(put.json()).toEqual({ type: "gcm_config", server_key: "****cret", secret_fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect((await call("HEAD", `${PUSH}/notifications_config`)).statusCode).toBe(204);
    expect((await call("GET", `${PUSH}/notifications_config`)).json()).toEqual(put.json());
    const stored = JSON.stringify(service.store.db.prepare("SELECT * FROM push_configs").all());
    expect(stored).not.toContain(FCM_KEY);
    expect((await call("DELETE", `${PUSH}/notifications_config`)).statusCode).toBe(200);
    expect((await call("GET", `${PUSH}/notifications_config`)).statusCode).toBe(404);
  });

  it("names the bad field of an APNs config", async () => {
    const response = await call("PUT", `${PUSH}/notifications_config`, { type: "apns_token_config", key_id: "short", prefix: "ABCDE12345", token: "x".repeat(40), endpoint_type: "production" });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain("key_id: must be the 10-character APNs key id");
  });
});

describe("isolation", () => {
  it("another app's token sees none of this app's notifications or credentials", async () => {
    await call("PUT", `${PUSH}/notifications_config`, { type: "gcm_config", server_key: FCM_KEY });
    const id = (await call("POST", `${PUSH}/notifications`, { notification_content: content() })).json().notification_id;
    const other = service.tokenFor("acme", "other");
    const as = (method: "GET" | "HEAD", url: string) => service.app.inject({ method, url, headers: { "x-api-token": other } });
    expect((await as("GET", `${PUSH}/notifications/${id}`)).statusCode).toBe(404);
    expect((await as("GET", `${PUSH}/notifications_config`)).statusCode).toBe(404);
    // Its own app has no such notification either.
    expect((await as("GET", `/v0.1/apps/acme/other/push/notifications/${id}`)).statusCode).toBe(404);
    expect((await as("GET", "/v0.1/apps/acme/other/push/notifications")).json().values).toEqual([]);
    expect((await as("HEAD", "/v0.1/apps/acme/other/push/notifications_config")).statusCode).toBe(404);
  });
});

describe("delivery as a background item", () => {
  it("a delivery stopped mid-way is finished by another runner on the store, each device once", async () => {
    await call("PUT", `${PUSH}/notifications_config`, { type: "gcm_config", server_key: FCM_KEY });
    ingest(devices(6));
    // This test's own parts play two processes on one store: the app's runner steps aside.
    await service.services.runner.close();
    const sends: string[] = [];
    // Delivers two devices, then hangs until it is stopped: the process goes away here.
    const stopping: PushSender = {
      send: (delivery) => {
        if (sends.length >= 2) return new Promise(() => {});
        sends.push(delivery.installId);
        return Promise.resolve({ ok: true });
      },
    };
    const first = createServices(service.store, { sender: stopping, runner: { pollMs: 10 } });
    first.start();
    const { id } = await first.notifications.send({ owner: "acme", app: "demo" }, { notification_content: content() });
    await until(async () => sends.length, (n) => n === 2);
    await first.close();
    const resumed: string[] = [];
    const second = createServices(service.store, { sender: { send: async (d) => (resumed.push(d.installId), { ok: true }) }, runner: { pollMs: 10 } });
    second.start();
    await second.idle();
    await second.close();
    expect(resumed).toHaveLength(4);
    expect(resumed.filter((d) => sends.includes(d))).toEqual([]);
    expect(second.notifications.get({ owner: "acme", app: "demo" }, id)).toMatchObject({ state: "Completed", pns_send_success: 6 });
  });

  it("a sender that throws every time: the notification ends Failed with the reason, the item is set aside, the service keeps answering", async () => {
    await call("PUT", `${PUSH}/notifications_config`, { type: "gcm_config", server_key: FCM_KEY });
    ingest(devices(3));
    await service.services.runner.close();
    const throwing = createServices(service.store, { sender: { send: () => Promise.reject(new Error("push gateway exploded")) }, runner: { pollMs: 10, backoffMs: 5 } });
    throwing.start();
    const { id } = await throwing.notifications.send({ owner: "acme", app: "demo" }, { notification_content: content() });
    await throwing.idle();
    await throwing.close();
    expect((await call("GET", `${PUSH}/notifications/${id}`)).json()).toMatchObject({ state: "Failed", pns_send_failure: 3 });
    // The deliveries it gave up on are bounces on their devices' channel (the Braze campaign series counts them there).
    expect(service.services.repositories.notifications.outcomesByChannel(id)).toEqual([{ channel: devices(1)[0]!.push!.channel, sent: 0, bounces: 3 }]);
    const dead = (await call("GET", "/v0.1/apps/acme/demo/background_work?state=dead")).json().values;
    expect(dead).toEqual([expect.objectContaining({ kind: "notification.deliver", key: id, attempts: 5, last_error: expect.stringContaining("push gateway exploded") })]);
    expect((await service.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
  });
});
