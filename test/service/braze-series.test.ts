// The Braze series equal a brute-force aggregation of the same events: generated events across hour
// and day boundaries (sessions, custom events, purchases in several products and currencies), series
// of length 1, 100 and in between, day and hour, ending on a boundary, just after one, or now; and
// after an erasure, the events left. The lists are the names recorded, alphabetically, by page.
import fc from "fast-check";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BRAZE_BASE, CURRENCIES, seriesBuckets, usdCents, type EventInput, type SeriesUnit } from "../../domain/index.ts";
import { brazeSuite } from "../helpers/braze.ts";

const HOUR = 3_600_000;
const NOW = Date.now();
const key = { owner: "acme", app: "series" };
const suite = brazeSuite(key);
const get = suite.get;

/**
 * Events of a few devices in and around the window a series covers (`spanHours` back from the hour
 * `endHour` starts), many of them on an hour boundary or a millisecond either side of one.
 */
const eventsArbitrary = (installIds: string[], endHour: number, spanHours: number) =>
  fc
    .array(
      fc.record({
        install: fc.constantFrom(...installIds),
        hour: fc.integer({ min: endHour - spanHours - 2, max: endHour + 1 }),
        offset: fc.oneof(fc.constant(0), fc.constant(1), fc.constant(HOUR - 1), fc.integer({ min: 0, max: HOUR - 1 })),
        kind: fc.constantFrom("session_start", "session_end", "custom", "purchase"),
        name: fc.constantFrom("view_item", "add_to_cart", "share"),
        product: fc.constantFrom("sku-1", "sku-2", "gift card"),
        amount: fc.integer({ min: 0, max: 99_999 }).map((cents) => cents / 100),
        currency: fc.constantFrom(...CURRENCIES),
      }),
      { minLength: 1, maxLength: 300 },
    )
    .map((drawn) =>
      drawn
        .filter((e) => e.hour * HOUR + e.offset < NOW)
        .map((e): EventInput => {
          const timestamp = new Date(e.hour * HOUR + e.offset).toISOString();
          if (e.kind === "custom") return { type: "custom", install_id: e.install, timestamp, name: e.name, properties: {} };
          if (e.kind === "purchase") return { type: "purchase", install_id: e.install, timestamp, product_id: e.product, amount: e.amount, currency: e.currency };
          return { type: e.kind as "session_start" | "session_end", install_id: e.install, timestamp };
        }),
    );

/** What each series should say, counted from the events themselves. */
function bruteForce(events: readonly EventInput[], unit: SeriesUnit, length: number, endingAt: string | undefined) {
  const buckets = seriesBuckets({ unit, length, ending_at: endingAt }, NOW);
  if ("problem" in buckets) throw new Error(buckets.problem);
  const within = (bucket: { start: number; end: number }, e: EventInput) => Date.parse(e.timestamp) >= bucket.start && Date.parse(e.timestamp) < bucket.end;
  return buckets.map((bucket) => {
    const inside = events.filter((e) => within(bucket, e));
    const purchases = inside.filter((e): e is Extract<EventInput, { type: "purchase" }> => e.type === "purchase");
    return {
      time: bucket.label,
      sessions: inside.filter((e) => e.type === "session_start").length,
      share: inside.filter((e) => e.type === "custom" && e.name === "share").length,
      revenue: purchases.reduce((sum, e) => sum + usdCents(e.amount, e.currency), 0) / 100,
      giftCards: purchases.filter((e) => e.product_id === "gift card").length,
    };
  });
}

describe("Braze series against a brute-force count of the same events", () => {
  it("sessions, a custom event, revenue and purchase quantity agree for any length, unit and ending", async () => {
    const installIds = Array.from({ length: 4 }, () => randomUUID());
    const nowHour = Math.floor(NOW / HOUR);
    const scenario = fc
      .record({
        unit: fc.constantFrom<SeriesUnit>("day", "hour"),
        length: fc.oneof(fc.constant(1), fc.constant(100), fc.integer({ min: 2, max: 99 })),
        // Now, or an hour boundary in the last 90 days, or a millisecond either side of one.
        ending: fc.oneof(fc.constant(undefined), fc.record({ hoursAgo: fc.integer({ min: 1, max: 24 * 90 }), ms: fc.constantFrom(0, 1, -1) })),
      })
      .chain(({ unit, length, ending }) => {
        const endingAt = ending === undefined ? undefined : new Date((nowHour - ending.hoursAgo) * HOUR + ending.ms).toISOString();
        const endHour = Math.floor((endingAt === undefined ? NOW : Date.parse(endingAt)) / HOUR);
        return eventsArbitrary(installIds, endHour, length * (unit === "day" ? 24 : 1) + 24).map((events) => ({ unit, length, endingAt, events }));
      });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ events, unit, length, endingAt }) => {
          // A fresh app per run: the rollups hold exactly these events.
          suite.service().store.db.prepare("DELETE FROM events").run();
          suite.service().store.db.prepare("DELETE FROM event_rollups").run();
          suite.service().services.devices.insertEvents(key, events);
          const query = { unit, length: String(length), ...(endingAt ? { ending_at: endingAt } : {}) };
          const expected = bruteForce(events, unit, length, query.ending_at);
          const [sessions, share, revenue, giftCards] = await Promise.all([
            get("/sessions/data_series", query),
            get("/events/data_series", { ...query, event: "share" }),
            get("/purchases/revenue_series", query),
            get("/purchases/quantity_series", { ...query, product: "gift card" }),
          ]);
          expect(sessions.data).toEqual(expected.map(({ time, sessions }) => ({ time, sessions })));
          expect(share.data).toEqual(expected.map(({ time, share }) => ({ time, count: share })));
          expect(revenue.data.map((point) => point.revenue)).toEqual(expected.map((point) => point.revenue));
          expect(giftCards.data).toEqual(expected.map(({ time, giftCards }) => ({ time, purchase_quantity: giftCards })));
        }),
      { numRuns: 25, seed: 1124 },
    );
  });

  it("narrowed to a segment, sessions and a custom event count only the events of the segment's members now", async () => {
    const service = suite.service();
    // Devices in Great Britain are the segment's members; a device moving there takes its past events along.
    const countries = ["GB", "GB", "US", "FR"];
    const installIds: string[] = countries.map(() => randomUUID());
    const upsert = (country: (i: number) => string) =>
      service.services.devices.upsert(key, installIds.map((install_id, i) => ({ install_id, properties: { carrierCountry: country(i) }, custom_properties: {} })));
    upsert((i) => countries[i]!);
    const put = await service.app.inject({
      method: "PUT",
      url: `/v0.1/apps/${key.owner}/${key.app}/analytics/audiences/britons`,
      headers: { "x-api-token": service.tokenFor(key.owner, key.app) },
      payload: { definition: "carrierCountry eq 'GB'" },
    });
    expect(put.statusCode, put.body).toBe(200);
    const nowHour = Math.floor(NOW / HOUR);
    const scenario = fc.record({
      events: eventsArbitrary(installIds, nowHour, 30),
      unit: fc.constantFrom<SeriesUnit>("day", "hour"),
      length: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 40 })),
      frenchMoves: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ events, unit, length, frenchMoves }) => {
        service.store.db.prepare("DELETE FROM events").run();
        service.store.db.prepare("DELETE FROM event_rollups").run();
        upsert((i) => (frenchMoves && countries[i] === "FR" ? "GB" : countries[i]!));
        service.services.devices.insertEvents(key, events);
        const members = new Set(installIds.filter((_, i) => countries[i] === "GB" || (frenchMoves && countries[i] === "FR")));
        const expected = bruteForce(events.filter((e) => members.has(e.install_id)), unit, length, undefined);
        const query = { unit, length: String(length), segment_id: "britons" };
        expect((await get("/sessions/data_series", query)).data).toEqual(expected.map(({ time, sessions }) => ({ time, sessions })));
        expect((await get("/events/data_series", { ...query, event: "share" })).data).toEqual(expected.map(({ time, share }) => ({ time, count: share })));
      }),
      { numRuns: 15, seed: 1125 },
    );
    const unknown = await service.app.inject({
      method: "GET",
      url: `${BRAZE_BASE}/sessions/data_series?app_group_id=${key.owner}/${key.app}&length=2&segment_id=nobody`,
      headers: { authorization: `Bearer ${service.tokenFor(key.owner, key.app)}` },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().message).toMatch(/^segment_id: unknown segment 'nobody'/);
  });

  it("lists custom events and products 250 a page, alphabetically", async () => {
    const service = suite.service();
    service.store.db.prepare("DELETE FROM events").run();
    service.store.db.prepare("DELETE FROM event_rollups").run();
    const names = Array.from({ length: 260 }, (_, i) => `name-${String(i).padStart(3, "0")}`);
    const at = new Date(NOW - HOUR).toISOString();
    const install_id = randomUUID();
    // Inserted in reverse: the order is the names', not the events'.
    service.services.devices.insertEvents(
      key,
      [...names].reverse().flatMap((name): EventInput[] => [
        { type: "custom", install_id, timestamp: at, name, properties: {} },
        { type: "purchase", install_id, timestamp: at, product_id: name, amount: 1, currency: "USD" },
      ]),
    );
    expect((await get("/events/list", {})).events).toEqual(names.slice(0, 250));
    expect((await get("/events/list", { page: "1" })).events).toEqual(names.slice(250));
    expect((await get("/events/list", { page: "2" })).events).toEqual([]);
    expect((await get("/purchases/product_list", {})).products).toEqual(names.slice(0, 250));
    expect((await get("/purchases/product_list", { page: "1" })).products).toEqual(names.slice(250));
  });

  it("after an erasure, counts only the events left; lists name what was recorded, alphabetically", async () => {
    suite.service().store.db.prepare("DELETE FROM events").run();
    suite.service().store.db.prepare("DELETE FROM event_rollups").run();
    const [kept, erased] = [randomUUID(), randomUUID()];
    const at = new Date(NOW - 2 * HOUR).toISOString();
    suite.service().services.devices.upsert(key, [{ install_id: erased, user_id: "gone", properties: {}, custom_properties: {} }] as never);
    suite.service().services.devices.insertEvents(key, [
      { type: "session_start", install_id: kept, timestamp: at },
      { type: "session_start", install_id: erased, timestamp: at },
      { type: "custom", install_id: erased, timestamp: at, name: "only-erased", properties: {} },
      { type: "custom", install_id: kept, timestamp: at, name: "Zebra", properties: {} },
      { type: "purchase", install_id: erased, timestamp: at, product_id: "erased-sku", amount: 5, currency: "EUR" },
    ]);
    expect((await get("/events/list", {})).events).toEqual(["Zebra", "only-erased"]);
    await suite.service().services.dataSubjectRequests.eraseStoreData(key, { user_id: "gone" });
    expect((await get("/sessions/data_series", { unit: "hour", length: "3" })).data.map((point) => point.sessions)).toEqual([1, 0, 0]);
    expect((await get("/events/list", {})).events).toEqual(["Zebra"]);
    expect((await get("/purchases/product_list", {})).products).toEqual([]);
    expect((await get("/purchases/revenue_series", { length: "1" })).data).toEqual([{ time: new Date(NOW).toISOString().slice(0, 10), revenue: 0 }]);
  });

  it("sums an hour past 2^53 cents (72,000 purchases of 1e9 GBP) without failing the read", async () => {
    const service = suite.service();
    for (const table of ["events", "event_rollups"]) service.store.db.prepare(`DELETE FROM ${table}`).run();
    const hour = Math.floor(NOW / HOUR) - 1;
    const purchases = Array.from({ length: 4 }, () => ({ type: "purchase" as const, install_id: randomUUID(), timestamp: new Date(hour * HOUR).toISOString(), product_id: "yacht", amount: 1e9, currency: "GBP" as const }));
    service.services.devices.insertEvents(key, purchases);
    // What 72,000 of them leave in the hour's rows (inserting them all would only take longer).
    const cents = usdCents(1e9, "GBP") * 72_000;
    expect(cents).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    service.store.db.prepare("UPDATE event_rollups SET count = 72000, usd_cents = ? WHERE kind IN ('purchase', 'purchase_total')").run(BigInt(cents));
    for (const query of [{}, { product: "yacht" }] as Record<string, string>[]) {
      const revenue = await get("/purchases/revenue_series", { length: "2", unit: "hour", ...query });
      expect(revenue.data.map((point) => point.revenue)).toEqual([cents / 100, 0]);
      const quantity = await get("/purchases/quantity_series", { length: "2", unit: "hour", ...query });
      expect(quantity.data.map((point) => point.purchase_quantity)).toEqual([72_000, 0]);
    }
  });
});
