import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NotificationTarget } from "../../domain/index.ts";
import { startService, type TestService } from "../helpers/service.ts";

const APP = "/v0.1/apps/acme/demo";
const CK = "/cloudkit/v1/broadcast-metrics";
const DAY = 86_400_000;
const APNS = { type: "apns_token_config", key_id: "ABCDE12345", prefix: "TEAM123456", token: "-----BEGIN PRIVATE KEY-----MIGTAgEAMBMGByqGSM49", endpoint_type: "production" };
let service: TestService;
const key = { owner: "acme", app: "demo" };
const date = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY).toISOString().slice(0, 10);
const api = (method: "GET" | "POST" | "PUT", url: string, payload?: object) => service.app.inject({ method, url, headers: { "x-api-token": service.token }, ...(payload ? { payload } : {}) });
const ck = (method: "GET" | "POST", url: string, token: string, payload?: object) =>
  service.app.inject({ method, url, headers: { "x-apple-cloudkit-management-token": token }, ...(payload ? { payload } : {}) });

async function tokenFor(dataset: string, expires = new Date(Date.now() + 30 * DAY)): Promise<string> {
  return (await api("POST", `${APP}/data_export_tokens`, { name: "m", bundle_id: "com.acme.demo", dataset, expires_at: expires.toISOString() })).json().token;
}

/** A sent notification to `devices` apns devices, `opened` of them opened, `daysAgo` days back. */
async function pastNotification(devices: number, opened: number, daysAgo: number, target?: NotificationTarget) {
  const installIds = Array.from({ length: devices }, () => randomUUID());
  service.services.devices.upsert(key, installIds.map((id) => ({ install_id: id, properties: {}, custom_properties: { vip: true }, push: { channel: "apns" as const, token: `t-${id}` } })));
  service.store.db.prepare("UPDATE devices SET updated_at = ?").run(Date.now() - 20 * DAY);
  const { id } = await service.services.notifications.send(key, {
    notification_content: { name: "Broadcast", body: "Hello" },
    notification_target: target ?? { type: "devices_target", devices: installIds },
  });
  await service.services.idle();
  const at = Date.now() - daysAgo * DAY;
  service.store.db.prepare("UPDATE notifications SET send_time = ? WHERE id = ?").run(at, id);
  service.services.devices.insertEvents(
    key,
    installIds.slice(0, opened).map((installId) => ({ type: "push_opened" as const, install_id: installId, timestamp: new Date(at + 60_000).toISOString(), notification_id: id })),
  );
}

async function report(token: string, route: "application" | "channel", body: object): Promise<string[][]> {
  const { statusUrl } = (await ck("POST", `${CK}/${route}/export`, token, body)).json();
  let status = (await ck("GET", statusUrl, token)).json();
  for (let i = 0; i < 50 && status.status === "PROCESSING"; i++) {
    await service.services.idle();
    status = (await ck("GET", statusUrl, token)).json();
  }
  expect(status.status).toBe("SUCCESS");
  const minutes = (Date.parse(status.downloadDetails.expiration) - Date.now()) / 60_000;
  expect(minutes).toBeGreaterThanOrEqual(20);
  expect(minutes).toBeLessThanOrEqual(60);
  const download = await service.app.inject({ method: "GET", url: status.downloadDetails.dataUrl });
  expect(download.headers["content-type"]).toContain("text/csv");
  return download.body.trimEnd().split("\n").map((line) => line.split(","));
}

beforeEach(async () => {
  service = await startService();
  await api("PUT", `${APP}/push/notifications_config`, APNS);
});
afterEach(async () => {
  await service.close();
});

describe("CloudKit-style broadcast metrics export (seeds: CloudKit broadcast-metrics export)", () => {
  it("reports daily subscribers, sent, delivered and opened, suppressing small counts as -1", async () => {
    await pastNotification(20, 12, 3);
    await pastNotification(15, 3, 2);
    const token = await tokenFor("broadcast_application_metrics");
    const rows = await report(token, "application", { startDate: date(4), endDate: date(1) });
    expect(rows[0]).toEqual(["date", "bundle_id", "channel_id", "subscribers", "messages_sent", "messages_delivered", "messages_opened"]);
    expect(rows.slice(1)).toEqual([
      [date(4), "com.acme.demo", "", "35", "0", "0", "0"],
      [date(3), "com.acme.demo", "", "35", "20", "20", "12"],
      [date(2), "com.acme.demo", "", "35", "15", "15", "-1"],
      [date(1), "com.acme.demo", "", "35", "0", "0", "0"],
    ]);
  });

  it("channel metrics count only the channel's (audience's) notifications", async () => {
    await api("PUT", `${APP}/analytics/audiences/vips`, { definition: "vip eq true", custom_properties: { vip: "boolean" } });
    await pastNotification(12, 11, 2, { type: "audiences_target", audiences: ["vips"] });
    await pastNotification(30, 30, 2);
    const token = await tokenFor("broadcast_channel_metrics");
    const channelId = Buffer.from("vips").toString("base64");
    const rows = await report(token, "channel", { startDate: date(2), endDate: date(2), channelId });
    expect(rows[1]!.slice(2, 7)).toEqual([channelId, "42", "12", "12", "11"]);
  });

  it("a repeat request within 24 hours gets the same status URL", async () => {
    const token = await tokenFor("broadcast_application_metrics");
    const first = (await ck("POST", `${CK}/application/export`, token, { startDate: date(5), endDate: date(2) })).json().statusUrl;
    const again = (await ck("POST", `${CK}/application/export`, token, { startDate: date(5), endDate: date(2) })).json().statusUrl;
    const other = (await ck("POST", `${CK}/application/export`, token, { startDate: date(5), endDate: date(3) })).json().statusUrl;
    expect(again).toBe(first);
    expect(other).not.toBe(first);
  });

  it("refuses a start more than 30 days back and an end less than a day ago", async () => {
    const token = await tokenFor("broadcast_application_metrics");
    const early = await ck("POST", `${CK}/application/export`, token, { startDate: date(31), endDate: date(2) });
    expect(early.statusCode).toBe(400);
    expect(early.json().error.message).toContain("startDate must be at most 30 days back");
    expect((await ck("POST", `${CK}/application/export`, token, { startDate: date(30), endDate: date(1) })).statusCode).toBe(200);
    const late = await ck("POST", `${CK}/application/export`, token, { startDate: date(3), endDate: date(0) });
    expect(late.json().error.message).toContain("endDate must be at least 1 day ago");
  });

  it("authenticates by data export token, its dataset, and signed download URLs", async () => {
    const body = { startDate: date(3), endDate: date(2) };
    expect((await ck("POST", `${CK}/application/export`, "dxt_wrong", body)).statusCode).toBe(401);
    expect((await service.app.inject({ method: "POST", url: `${CK}/application/export`, headers: { "x-api-token": service.token }, payload: body })).statusCode).toBe(401);
    const channelToken = await tokenFor("broadcast_channel_metrics");
    expect((await ck("POST", `${CK}/application/export`, channelToken, body)).json().error.message).toContain("is for broadcast_channel_metrics");
    const token = await tokenFor("broadcast_application_metrics");
    const { statusUrl } = (await ck("POST", `${CK}/application/export`, token, body)).json();
    await service.services.idle();
    // A token reads its own dataset's reports only: the channel-metrics token does not see this one.
    expect((await ck("GET", statusUrl, channelToken)).statusCode).toBe(404);
    const { dataUrl } = (await ck("GET", statusUrl, token)).json().downloadDetails;
    const tampered = dataUrl.replace(/expires=\d+/, `expires=${Date.now() + 10 * DAY}`);
    expect((await service.app.inject({ method: "GET", url: tampered })).statusCode).toBe(401);
  });
});
