// The Braze KPIs equal a brute-force count of the same events (README: "What the KPIs count"): users
// with one or several devices and anonymous devices, events over many days ingested in any order
// (a day's events may arrive after a later day's), uninstalls, and an erasure that takes one user
// away — DAU, MAU (30-day window), new users and uninstalls, for series ending on any day.
import fc from "fast-check";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { seriesBuckets, type EventInput } from "../../domain/index.ts";
import { brazeSuite } from "../helpers/braze.ts";
import { startService } from "../helpers/service.ts";

const DAY = 86_400_000;
const NOW = Date.now();
const TODAY = Math.floor(NOW / DAY);
const key = { owner: "acme", app: "kpis" };
const suite = brazeSuite(key);
const get = async (path: string, query: Record<string, string>) => (await suite.get(path, query)).data;

// Three users (one with two devices) and two anonymous devices.
const devices = [
  { install_id: randomUUID(), user_id: "ada" },
  { install_id: randomUUID(), user_id: "ada" },
  { install_id: randomUUID(), user_id: "bob" },
  { install_id: randomUUID(), user_id: "cy" },
  { install_id: randomUUID(), user_id: undefined },
  { install_id: randomUUID(), user_id: undefined },
];
const userOf = (installId: string) => {
  const device = devices.find((d) => d.install_id === installId)!;
  return device.user_id ?? `install:${installId}`;
};

const scenario = fc.record({
  events: fc.array(
    fc.record({
      device: fc.integer({ min: 0, max: devices.length - 1 }),
      daysAgo: fc.integer({ min: 0, max: 150 }),
      ms: fc.oneof(fc.constant(0), fc.constant(DAY - 1), fc.integer({ min: 0, max: DAY - 1 })),
      type: fc.constantFrom("session_start", "custom", "purchase", "uninstall", "push_opened"),
    }),
    { minLength: 1, maxLength: 120 },
  ),
  /** How the events are cut into ingestion batches, and the order the batches arrive in. */
  batches: fc.integer({ min: 1, max: 6 }),
  shuffleSeed: fc.integer(),
  eraseBob: fc.boolean(),
  endDaysAgo: fc.integer({ min: 0, max: 60 }),
  length: fc.oneof(fc.constant(1), fc.constant(100), fc.integer({ min: 2, max: 99 })),
});

function eventOf(e: { device: number; daysAgo: number; ms: number; type: string }): EventInput {
  const install_id = devices[e.device]!.install_id;
  const timestamp = new Date(Math.min((TODAY - e.daysAgo) * DAY + e.ms, NOW - 1)).toISOString();
  if (e.type === "custom") return { type: "custom", install_id, timestamp, name: "tap", properties: {} };
  if (e.type === "purchase") return { type: "purchase", install_id, timestamp, product_id: "p", amount: 1, currency: "USD" };
  if (e.type === "push_opened") return { type: "push_opened", install_id, timestamp, notification_id: "n1" };
  return { type: e.type as "session_start" | "uninstall", install_id, timestamp };
}

describe("Braze KPIs against a brute-force count", () => {
  it("DAU, MAU, new users and uninstalls agree, whatever order the events arrive in and after an erasure", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ events: drawn, batches, shuffleSeed, eraseBob, endDaysAgo, length }) => {
        for (const table of ["events", "event_rollups", "user_activity", "devices"]) suite.service().store.db.prepare(`DELETE FROM ${table}`).run();
        suite.service().services.devices.upsert(key, devices.map((d) => ({ install_id: d.install_id, ...(d.user_id ? { user_id: d.user_id } : {}), properties: {}, custom_properties: {} })) as never);
        const events = drawn.map(eventOf);
        // Cut into batches, delivered in a shuffled order.
        const cut = Array.from({ length: batches }, (_, b) => events.filter((_, i) => i % batches === b));
        cut.sort((a, b) => ((a.length * 31 + shuffleSeed) % 7) - ((b.length * 31 + shuffleSeed) % 7));
        for (const batch of cut) if (batch.length > 0) suite.service().services.devices.insertEvents(key, batch);
        let remaining = events;
        if (eraseBob) {
          await suite.service().services.dataSubjectRequests.eraseStoreData(key, { user_id: "bob" });
          remaining = events.filter((e) => userOf(e.install_id) !== "bob");
        }
        const endingAt = new Date(Math.min((TODAY - endDaysAgo) * DAY + DAY - 1, NOW)).toISOString();
        const buckets = seriesBuckets({ unit: "day", length, ending_at: endingAt }, NOW);
        if ("problem" in buckets) throw new Error(buckets.problem);
        const dayOf = (e: EventInput) => Math.floor(Date.parse(e.timestamp) / DAY);
        const activity = remaining.filter((e) => e.type !== "uninstall");
        const firstDay = new Map<string, number>();
        for (const e of activity) firstDay.set(userOf(e.install_id), Math.min(firstDay.get(userOf(e.install_id)) ?? Infinity, dayOf(e)));
        const usersIn = (from: number, to: number) => new Set(activity.filter((e) => dayOf(e) >= from && dayOf(e) <= to).map((e) => userOf(e.install_id))).size;
        const expected = buckets.map((bucket) => {
          const day = Math.floor(bucket.start / DAY);
          return {
            time: bucket.label,
            dau: usersIn(day, day),
            mau: usersIn(day - 29, day),
            new_users: [...firstDay.values()].filter((first) => first === day).length,
            uninstalls: remaining.filter((e) => e.type === "uninstall" && dayOf(e) === day).length,
          };
        });
        const query = { length: String(length), ending_at: endingAt };
        expect(await get("/kpi/dau/data_series", query)).toEqual(expected.map(({ time, dau }) => ({ time, dau })));
        expect(await get("/kpi/mau/data_series", query)).toEqual(expected.map(({ time, mau }) => ({ time, mau })));
        expect(await get("/kpi/new_users/data_series", query)).toEqual(expected.map(({ time, new_users }) => ({ time, new_users })));
        expect(await get("/kpi/uninstalls/data_series", query)).toEqual(expected.map(({ time, uninstalls }) => ({ time, uninstalls })));
      }),
      { numRuns: 40, seed: 2411 },
    );
  });
});

describe("the activity recorded behind ingestion", () => {
  it("counts events whose ids an erasure of the newest events freed, and catches up in the background", async () => {
    const service = suite.service();
    for (const table of ["events", "event_rollups", "user_activity", "devices"]) service.store.db.prepare(`DELETE FROM ${table}`).run();
    service.services.kpiActivity.catchUp();
    const at = (daysAgo: number) => new Date((TODAY - daysAgo) * DAY + 3_600_000).toISOString();
    const [kept, erased, later] = [randomUUID(), randomUUID(), randomUUID()];
    service.services.devices.upsert(key, [{ install_id: erased, user_id: "erased-user", properties: {}, custom_properties: {} }] as never);
    service.services.devices.insertEvents(key, [{ type: "session_start", install_id: kept, timestamp: at(2) }]);
    // The erased user's events are the newest: their ids are free again once they are gone.
    service.services.devices.insertEvents(key, [1, 1, 1].map(() => ({ type: "session_start" as const, install_id: erased, timestamp: at(1) })));
    expect((await get("/kpi/dau/data_series", { length: "3" })).map((point) => point.dau)).toEqual([1, 1, 0]);
    await service.services.dataSubjectRequests.eraseStoreData(key, { user_id: "erased-user" });
    service.services.devices.insertEvents(key, [{ type: "session_start", install_id: later, timestamp: at(1) }]);
    expect((await get("/kpi/dau/data_series", { length: "3" })).map((point) => point.dau)).toEqual([1, 1, 0]);
    expect((await get("/kpi/new_users/data_series", { length: "3" })).map((point) => point.new_users)).toEqual([1, 1, 0]);

    // Without a read, the background item records what arrived.
    const background = await startService();
    try {
      background.services.devices.insertEvents(key, [{ type: "session_start", install_id: randomUUID(), timestamp: at(0) }]);
      await background.services.idle();
      expect(background.store.db.prepare("SELECT count(*) AS n FROM user_activity").get()).toEqual({ n: 1 });
    } finally {
      await background.close();
    }
  });
});

describe("the rollups a store from before them gets", () => {
  it("the migrations' backfill of the series and KPIs equals what ingestion keeps", async () => {
    const { MIGRATIONS } = await import("../../service/store.ts");
    for (const table of ["events", "event_rollups", "user_activity", "devices"]) suite.service().store.db.prepare(`DELETE FROM ${table}`).run();
    suite.service().services.devices.upsert(key, devices.map((d) => ({ install_id: d.install_id, ...(d.user_id ? { user_id: d.user_id } : {}), properties: {}, custom_properties: {} })) as never);
    const drawn = fc.sample(scenario, { numRuns: 1, seed: 77 })[0]!.events;
    suite.service().services.devices.insertEvents(key, drawn.map(eventOf));
    suite.service().services.devices.insertEvents(key, [{ type: "purchase", install_id: devices[0]!.install_id, timestamp: new Date(NOW - DAY).toISOString(), product_id: "eur", amount: 12.34, currency: "EUR" }]);
    const snapshot = () => suite.service().store.db.prepare("SELECT kind, name, hour, count, usd_cents FROM event_rollups WHERE count != 0 OR usd_cents != 0 ORDER BY kind, name, hour").all();
    suite.service().services.kpiActivity.catchUp();
    const kept = snapshot();
    suite.service().store.db.exec("DROP TABLE event_rollups; DROP TABLE user_activity;");
    for (const migration of MIGRATIONS.filter((sql) => /CREATE TABLE (event_rollups|user_activity)|'purchase_total'/.test(sql))) suite.service().store.db.exec(migration);
    // The difference counts may be spread differently; their running totals (MAU) and everything else are the same.
    const running = (rows: unknown[]) => {
      let total = 0;
      return (rows as { kind: string; hour: number; count: number }[]).filter((row) => row.kind === "mau_delta").map((row) => ({ hour: row.hour, total: (total += row.count) }));
    };
    const backfilled = snapshot();
    expect(backfilled.filter((row) => (row as { kind: string }).kind !== "mau_delta")).toEqual(kept.filter((row) => (row as { kind: string }).kind !== "mau_delta"));
    const totalsAt = (rows: ReturnType<typeof running>, hour: number) => rows.filter((row) => row.hour <= hour).at(-1)?.total ?? 0;
    for (let day = TODAY - 200; day <= TODAY + 40; day++) expect(totalsAt(running(backfilled), day * 24), `day ${day}`).toBe(totalsAt(running(kept), day * 24));
  });
});
