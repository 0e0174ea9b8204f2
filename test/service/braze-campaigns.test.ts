// Braze campaigns (README: "Campaigns"): a notification sent through the API is a campaign; its
// daily series equals a brute-force count of the same deliveries, opens and purchases — sent and
// bounces per push channel on the send day, opens and unique opens on their own day, conversions
// (first purchase within 72 h of a device's first open) on the purchase's day and on the send day —
// for series ending on any day around it. The list pages 100 at a time, newest first, archived ones
// only when asked; an unknown campaign is the seed's 400 naming campaign_id.
import fc from "fast-check";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BRAZE_BASE, BRAZE_PUSH_MESSAGE_TYPES, CONVERSION_WINDOW_HOURS, seriesBuckets, usdCents, type DeviceInput, type EventInput } from "../../domain/index.ts";
import { generateApp, generateCampaigns } from "../../service/synthetic.ts";
import { brazeSuite } from "../helpers/braze.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const NOW = Date.now();
const TODAY = Math.floor(NOW / DAY);
const key = { owner: "acme", app: "campaigns" };
const suite = brazeSuite(key, { runner: { pollMs: 20 } });
const get = suite.get;
const PUSH = `/v0.1/apps/${key.owner}/${key.app}/push`;

// Android devices (the app's credentials are FCM's: delivered), iOS devices (no APNs credentials:
// bounced), and one without a push token (no channel: in no channel's stats).
const devices: DeviceInput[] = [
  ...Array.from({ length: 5 }, (_, i) => ({ install_id: randomUUID(), properties: {}, custom_properties: {}, push: { channel: "fcm" as const, token: `fcm-${i}` } })),
  ...Array.from({ length: 3 }, (_, i) => ({ install_id: randomUUID(), properties: {}, custom_properties: {}, push: { channel: "apns" as const, token: `apns-${i}` } })),
  { install_id: randomUUID(), properties: {}, custom_properties: {} },
];
const channelOf = (installId: string) => devices.find((d) => d.install_id === installId)?.push?.channel;

async function sendCampaign(name: string): Promise<string> {
  const service = suite.service();
  const call = (method: "PUT" | "POST" | "GET", url: string, payload?: object) =>
    service.app.inject({ method, url, headers: { "x-api-token": service.tokenFor(key.owner, key.app) }, ...(payload ? { payload } : {}) });
  await call("PUT", `${PUSH}/notifications_config`, { type: "gcm_config", server_key: "AAAA-fcm-server-key-0123456789-secret" });
  const sent = await call("POST", `${PUSH}/notifications`, { notification_content: { name, title: "t", body: "b" }, notification_target: null });
  expect(sent.statusCode, sent.body).toBe(202);
  const id = sent.json().notification_id as string;
  for (let i = 0; i < 300; i++) {
    const state = (await call("GET", `${PUSH}/notifications/${id}`)).json().state;
    if (!["Queued", "Sending"].includes(state)) return id;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the notification was not delivered");
}

/** What the series should say, counted from the deliveries and events themselves. */
function bruteForce(events: readonly EventInput[], sendTime: number, length: number, endingAt: string) {
  const buckets = seriesBuckets({ unit: "day", length, ending_at: endingAt }, NOW);
  if ("problem" in buckets) throw new Error(buckets.problem);
  // An open dated before the send is not one (README: "Campaigns").
  const opens = events.filter((e): e is Extract<EventInput, { type: "push_opened" }> => e.type === "push_opened" && Date.parse(e.timestamp) >= sendTime);
  const firstOpen = new Map<string, number>();
  for (const open of opens) firstOpen.set(open.install_id, Math.min(firstOpen.get(open.install_id) ?? Infinity, Date.parse(open.timestamp)));
  // Each opener's first purchase within the window after its first open (ties: the earlier ingested).
  const conversions: { at: number; cents: number }[] = [];
  for (const [installId, opened] of firstOpen) {
    const purchase = events
      .filter((e): e is Extract<EventInput, { type: "purchase" }> => e.type === "purchase" && e.install_id === installId)
      .filter((e) => Date.parse(e.timestamp) >= opened && Date.parse(e.timestamp) < opened + CONVERSION_WINDOW_HOURS * HOUR)
      .sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp))[0];
    if (purchase) conversions.push({ at: Date.parse(purchase.timestamp), cents: usdCents(purchase.amount, purchase.currency) });
  }
  const inside = (bucket: { start: number; end: number }, at: number) => at >= bucket.start && at < bucket.end;
  return buckets.map((bucket) => {
    const onSendDay = inside(bucket, sendTime);
    const push = (channel: "fcm" | "apns") => {
      const channelOpens = opens.filter((e) => channelOf(e.install_id) === channel && inside(bucket, Date.parse(e.timestamp)));
      const recipients = devices.filter((d) => d.push?.channel === channel).length;
      const sent = onSendDay && channel === "fcm" ? recipients : 0;
      return [
        {
          sent,
          direct_opens: channelOpens.length,
          total_opens: channelOpens.length,
          unique_opens: new Set(channelOpens.map((e) => e.install_id)).size,
          bounces: onSendDay && channel === "apns" ? recipients : 0,
          unique_recipients: sent,
        },
      ];
    };
    const converted = conversions.filter((c) => inside(bucket, c.at));
    return {
      time: bucket.label,
      conversions: converted.length,
      revenue: converted.reduce((sum, c) => sum + c.cents, 0) / 100,
      conversions_by_send_time: onSendDay ? conversions.length : 0,
      messages: { [BRAZE_PUSH_MESSAGE_TYPES.apns]: push("apns"), [BRAZE_PUSH_MESSAGE_TYPES.fcm]: push("fcm") },
    };
  });
}

describe("Braze campaigns", () => {
  it("a campaign's daily stats agree with a brute-force count of its deliveries, opens and purchases", async () => {
    const service = suite.service();
    service.services.devices.upsert(key, devices);
    const id = await sendCampaign("Weekend sale");
    // The campaign went out 20 days ago, at a random time of that day.
    const sendTime = (TODAY - 20) * DAY + 13 * HOUR + 17;
    service.store.db.prepare("UPDATE notifications SET send_time = ? WHERE id = ?").run(sendTime, id);
    const scenario = fc.record({
      events: fc.array(
        fc.record({
          device: fc.integer({ min: 0, max: devices.length - 1 }),
          // Most events close to the send and to each other (an open and a purchase 72 hours apart,
          // on the window's edge), the rest anywhere in the 20 days since.
          hoursAfter: fc.oneof(fc.integer({ min: -3, max: 6 }), fc.integer({ min: 68, max: 78 }), fc.integer({ min: -30, max: 20 * 24 - 1 })),
          ms: fc.oneof(fc.constant(0), fc.constant(HOUR - 1), fc.integer({ min: 0, max: HOUR - 1 })),
          kind: fc.constantFrom("push_opened", "push_opened", "purchase", "other_open"),
          amount: fc.integer({ min: 1, max: 5000 }).map((cents) => cents / 100),
          currency: fc.constantFrom("USD", "EUR", "JPY"),
          // A purchase placed on an edge of its device's conversion window instead (ms after its first open).
          edge: fc.constantFrom(undefined, -1, 0, 1, CONVERSION_WINDOW_HOURS * HOUR - 1, CONVERSION_WINDOW_HOURS * HOUR),
        }),
        { minLength: 20, maxLength: 100 },
      ),
      // Often ending on the send day or the day after: conversions after the series still count on the send day.
      endDaysAgo: fc.oneof(fc.constant(20), fc.constant(19), fc.integer({ min: 0, max: 25 })),
      length: fc.oneof(fc.constant(1), fc.constant(100), fc.integer({ min: 2, max: 30 })),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ events: drawn, endDaysAgo, length }) => {
        service.store.db.prepare("DELETE FROM events").run();
        const at = (e: (typeof drawn)[number]) => Math.min(sendTime + e.hoursAfter * HOUR + e.ms, NOW - 1);
        const firstOpen = (device: number) => Math.min(...drawn.filter((o) => o.kind === "push_opened" && o.device === device).map(at).filter((time) => time >= sendTime));
        const events = drawn.map((e): EventInput => {
          const install_id = devices[e.device]!.install_id;
          const opened = firstOpen(e.device);
          const timestamp = new Date(e.kind === "purchase" && e.edge !== undefined && Number.isFinite(opened) ? opened + e.edge : at(e)).toISOString();
          if (e.kind === "purchase") return { type: "purchase", install_id, timestamp, product_id: "p", amount: e.amount, currency: e.currency };
          // An open of another notification is not this campaign's.
          return { type: "push_opened", install_id, timestamp, notification_id: e.kind === "other_open" ? "another" : id };
        });
        service.services.devices.insertEvents(key, events);
        const endingAt = new Date(Math.min((TODAY - endDaysAgo + 1) * DAY - 1, NOW)).toISOString();
        const answer = await get("/campaigns/data_series", { campaign_id: id, length: String(length), ending_at: endingAt });
        const own = events.filter((e) => e.type !== "push_opened" || e.notification_id === id);
        expect(answer.data).toEqual(bruteForce(own, sendTime, length, endingAt));
      }),
      { numRuns: 25, seed: 1124 },
    );

    const details = (await get("/campaigns/details", { campaign_id: id })) as unknown as Record<string, unknown>;
    expect(details).toEqual({
      message: "success",
      created_at: new Date(sendTime).toISOString(),
      updated_at: new Date(sendTime).toISOString(),
      name: "Weekend sale",
      archived: false,
      schedule_type: "api_triggered",
      channels: ["apple_push", "android_push"],
      first_sent: new Date(sendTime).toISOString(),
      last_sent: new Date(sendTime).toISOString(),
      tags: [],
    });
  });

  it("lists campaigns 100 a page, newest first; archived ones only with include_archived", async () => {
    const service = suite.service();
    const appId = service.store.appId(key);
    service.store.db.prepare("DELETE FROM notifications").run();
    const ids = Array.from({ length: 205 }, (_, i) => `campaign-${String(i).padStart(3, "0")}`);
    service.store.transaction(() => {
      for (const [i, id] of ids.entries()) {
        service.services.repositories.notifications.insert({ id, app_id: appId, name: `Campaign ${i}`, content: "{}", target: null, state: "Completed", send_time: NOW - (205 - i) * HOUR }, []);
      }
    });
    service.services.repositories.notifications.archive(appId, ["campaign-204", "campaign-000"]);
    const page = async (query: Record<string, string>) => ((await get("/campaigns/list", query)) as unknown as { campaigns: { id: string; name: string; is_api_campaign: boolean }[] }).campaigns;
    const newestFirst = [...ids].reverse();
    const unarchived = newestFirst.filter((id) => id !== "campaign-204" && id !== "campaign-000");
    expect((await page({})).map((c) => c.id)).toEqual(unarchived.slice(0, 100));
    expect((await page({ page: "2" })).map((c) => c.id)).toEqual(unarchived.slice(200));
    expect((await page({ page: "3" })).map((c) => c.id)).toEqual([]);
    expect((await page({ page: "2", include_archived: "true" })).map((c) => c.id)).toEqual(newestFirst.slice(200));
    expect((await page({ include_archived: "true" }))[0]).toEqual({ id: "campaign-204", name: "Campaign 204", is_api_campaign: true, tags: [] });
    // An archived campaign is still found by id, and says it is archived.
    expect(((await get("/campaigns/details", { campaign_id: "campaign-204" })) as unknown as { archived: boolean }).archived).toBe(true);
  });

  it("the generator's campaigns have deliveries, opens naming them and conversions", async () => {
    const service = suite.service();
    service.store.db.prepare("DELETE FROM notifications").run();
    service.store.db.prepare("DELETE FROM events").run();
    generateApp(service.services.devices, key, { devices: 400, eventsPerDevice: 0, seed: 7 });
    const sent = generateCampaigns(service.services, key, { campaigns: 2, recipients: 300, seed: 7, now: NOW });
    expect(sent).toMatchObject({ campaigns: 2, deliveries: 600 });
    const { campaigns } = (await get("/campaigns/list", {})) as unknown as { campaigns: { id: string }[] };
    expect(campaigns).toHaveLength(2);
    for (const { id } of campaigns) {
      const { data } = (await get("/campaigns/data_series", { campaign_id: id, length: "35" })) as unknown as { data: { conversions_by_send_time: number; messages: Record<string, { sent: number; bounces: number; direct_opens: number }[]> }[] };
      const total = (stat: "sent" | "bounces" | "direct_opens") => data.reduce((sum, day) => sum + Object.values(day.messages).reduce((s, [stats]) => s + stats![stat], 0), 0);
      expect(total("sent")).toBeGreaterThan(200);
      expect(total("sent") + total("bounces")).toBeLessThanOrEqual(300);
      expect(total("direct_opens")).toBeGreaterThan(20);
      expect(data.reduce((sum, day) => sum + day.conversions_by_send_time, 0)).toBeGreaterThan(0);
    }
  });

  it("an unknown campaign, a missing campaign_id or another app's campaign is the seed's 400 naming campaign_id", async () => {
    const service = suite.service();
    const other = { owner: "acme", app: "elsewhere" };
    service.services.repositories.notifications.insert(
      { id: "not-yours", app_id: service.store.appId(other), name: "x", content: "{}", target: null, state: "Completed", send_time: NOW - HOUR },
      [],
    );
    const token = service.tokenFor(key.owner, key.app);
    for (const [path, query] of [
      ["/campaigns/details", "campaign_id=nope"],
      ["/campaigns/data_series", "campaign_id=nope&length=3"],
      ["/campaigns/details", "campaign_id=not-yours"],
      ["/campaigns/details", ""],
    ] as const) {
      const response = await service.app.inject({ method: "GET", url: `${BRAZE_BASE}${path}?app_group_id=${key.owner}/${key.app}&${query}`, headers: { authorization: `Bearer ${token}` } });
      expect(response.statusCode, `${path}?${query}`).toBe(400);
      expect(response.json().message).toMatch(/campaign_id/);
    }
  });
});
