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

// Three users (one with two devices) and two anonymous devices; bob's device may get his id only
// after some of its events, and the others may get, change or lose their user id between batches.
const devices = [
  { install_id: randomUUID(), user_id: "ada" },
  { install_id: randomUUID(), user_id: "ada" },
  { install_id: randomUUID(), user_id: "bob" },
  { install_id: randomUUID(), user_id: "cy" },
  { install_id: randomUUID(), user_id: undefined },
  { install_id: randomUUID(), user_id: undefined },
];
const BOB = 2;
/** What may happen to a device (never bob's, never to bob: his erasure takes exactly one device away). */
const change = fc.record({
  beforeBatch: fc.integer({ min: 0, max: 6 }),
  device: fc.constantFrom(0, 1, 3, 4, 5),
  to: fc.constantFrom("ada", "cy", "dee", "anonymous", "deleted"),
});

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
  /** Which batches a KPI read (the catch-up) follows: what it says must not depend on when it ran. */
  readAfter: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
  changes: fc.array(change, { maxLength: 4 }),
  bobFromBatch: fc.integer({ min: 0, max: 6 }),
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
  it("DAU, MAU, new users and uninstalls agree, whatever order the events arrive in, whenever their devices' users change and after an erasure", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ events: drawn, batches, shuffleSeed, readAfter, changes, bobFromBatch, eraseBob, endDaysAgo, length }) => {
        const service = suite.service();
        for (const table of ["events", "event_rollups", "user_activity", "devices", "activity_pins"]) service.store.db.prepare(`DELETE FROM ${table}`).run();
        // The model: each device's user id now (undefined: none, or no device), each event's as it arrived.
        const userNow = devices.map((d, i) => (i === BOB && bobFromBatch > 0 ? undefined : d.user_id));
        const upsert = (index: number) =>
          service.services.devices.upsert(key, [{ install_id: devices[index]!.install_id, ...(userNow[index] ? { user_id: userNow[index] } : {}), properties: {}, custom_properties: {} }] as never);
        const remove = (index: number) => {
          const row = service.store.db.prepare("SELECT id FROM devices WHERE install_id = ?").get(devices[index]!.install_id) as { id: number } | undefined;
          if (row) service.services.devices.removeDevices(key, [row.id]);
        };
        devices.forEach((_, index) => upsert(index));
        const happen = (beforeBatch: number) => {
          if (beforeBatch === bobFromBatch && userNow[BOB] === undefined) {
            userNow[BOB] = "bob";
            upsert(BOB);
          }
          for (const { device, to } of changes.filter((c) => c.beforeBatch === beforeBatch)) {
            // A user id is given or replaced by an upsert; taken away by removing the device (and maybe registering it again).
            if (to === "deleted" || to === "anonymous") remove(device);
            userNow[device] = to === "deleted" || to === "anonymous" ? undefined : to;
            if (to !== "deleted") upsert(device);
          }
        };
        const events = drawn.map((e, index) => ({ index, event: eventOf(e), device: e.device, arrivedAs: "" }));
        // Cut into batches, delivered in a shuffled order.
        const cut = Array.from({ length: batches }, (_, b) => events.filter((_, i) => i % batches === b));
        cut.sort((a, b) => ((a.length * 31 + shuffleSeed) % 7) - ((b.length * 31 + shuffleSeed) % 7));
        for (const [b, batch] of cut.entries()) {
          happen(b);
          for (const e of batch) e.arrivedAs = userNow[e.device] ?? `install:${e.event.install_id}`;
          if (batch.length > 0) service.services.devices.insertEvents(key, batch.map((e) => e.event));
          if (readAfter[b]) await service.services.kpiActivity.catchUp();
        }
        for (let later = cut.length; later <= 6; later++) happen(later);
        let remaining = events;
        if (eraseBob) {
          await service.services.dataSubjectRequests.eraseStoreData(key, { user_id: "bob" });
          remaining = events.filter((e) => e.device !== BOB);
        }
        const endingAt = new Date(Math.min((TODAY - endDaysAgo) * DAY + DAY - 1, NOW)).toISOString();
        const buckets = seriesBuckets({ unit: "day", length, ending_at: endingAt }, NOW);
        if ("problem" in buckets) throw new Error(buckets.problem);
        const dayOf = (e: EventInput) => Math.floor(Date.parse(e.timestamp) / DAY);
        const activity = remaining.filter((e) => e.event.type !== "uninstall");
        const firstDay = new Map<string, number>();
        for (const e of activity) firstDay.set(e.arrivedAs, Math.min(firstDay.get(e.arrivedAs) ?? Infinity, dayOf(e.event)));
        const usersIn = (from: number, to: number) => new Set(activity.filter((e) => dayOf(e.event) >= from && dayOf(e.event) <= to).map((e) => e.arrivedAs)).size;
        const expected = buckets.map((bucket) => {
          const day = Math.floor(bucket.start / DAY);
          return {
            time: bucket.label,
            dau: usersIn(day, day),
            mau: usersIn(day - 29, day),
            new_users: [...firstDay.values()].filter((first) => first === day).length,
            uninstalls: remaining.filter((e) => e.event.type === "uninstall" && dayOf(e.event) === day).length,
          };
        });
        const query = { length: String(length), ending_at: endingAt };
        expect(await get("/kpi/dau/data_series", query)).toEqual(expected.map(({ time, dau }) => ({ time, dau })));
        expect(await get("/kpi/mau/data_series", query)).toEqual(expected.map(({ time, mau }) => ({ time, mau })));
        expect(await get("/kpi/new_users/data_series", query)).toEqual(expected.map(({ time, new_users }) => ({ time, new_users })));
        expect(await get("/kpi/uninstalls/data_series", query)).toEqual(expected.map(({ time, uninstalls }) => ({ time, uninstalls })));
        expect(service.store.db.prepare("SELECT count(*) AS pins FROM activity_pins").get(), "every pin goes once its event is recorded").toEqual({ pins: 0 });
      }),
      { numRuns: 60, seed: 2411 },
    );
  });

  it("files an event before 1970 on its own UTC day", async () => {
    const service = suite.service();
    for (const table of ["events", "event_rollups", "user_activity", "devices", "activity_pins"]) service.store.db.prepare(`DELETE FROM ${table}`).run();
    service.services.devices.insertEvents(key, [{ type: "session_start", install_id: randomUUID(), timestamp: "1969-12-31T12:00:00Z" }]);
    expect(await get("/kpi/dau/data_series", { length: "2", ending_at: "1970-01-01T12:00:00Z" })).toEqual([
      { time: "1969-12-31", dau: 1 },
      { time: "1970-01-01", dau: 0 },
    ]);
  });
});

describe("the activity recorded behind ingestion", () => {
  it("counts events whose ids an erasure of the newest events freed, and catches up in the background", async () => {
    const service = suite.service();
    for (const table of ["events", "event_rollups", "user_activity", "devices"]) service.store.db.prepare(`DELETE FROM ${table}`).run();
    await service.services.kpiActivity.catchUp();
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

describe("an event's key pinned while it waits", () => {
  it("goes with the event: an erased waiting event's id, given again, is counted under its new event's key", async () => {
    const service = suite.service();
    for (const table of ["events", "event_rollups", "user_activity", "devices", "activity_pins"]) service.store.db.prepare(`DELETE FROM ${table}`).run();
    await service.services.kpiActivity.catchUp();
    const day = new Date((TODAY - 1) * DAY + 3_600_000).toISOString();
    const [adaPhone, adaTablet, erased] = [randomUUID(), randomUUID(), randomUUID()];
    service.services.devices.upsert(key, [adaPhone, adaTablet].map((install_id) => ({ install_id, user_id: "ada", properties: {}, custom_properties: {} })) as never);
    service.services.devices.insertEvents(key, [{ type: "session_start", install_id: adaPhone, timestamp: day }]);
    await service.services.kpiActivity.catchUp();
    // Three events wait; their device then gets a user id (they are pinned to the device), and is erased.
    service.services.devices.insertEvents(key, [1, 2, 3].map(() => ({ type: "session_start" as const, install_id: erased, timestamp: day })));
    service.services.devices.upsert(key, [{ install_id: erased, user_id: "erased-user", properties: {}, custom_properties: {} }] as never);
    expect(service.store.db.prepare("SELECT count(*) AS pins FROM activity_pins").get()).toEqual({ pins: 3 });
    await service.services.dataSubjectRequests.eraseStoreData(key, { user_id: "erased-user" });
    // The next event takes a freed id: it is ada's, not the erased device's.
    service.services.devices.insertEvents(key, [{ type: "session_start", install_id: adaTablet, timestamp: day }]);
    expect((await get("/kpi/dau/data_series", { length: "2" })).map((point) => point.dau)).toEqual([1, 0]);
  });
});

describe("an erasure takes days away, never moves them to another user", () => {
  const reset = async () => {
    const service = suite.service();
    for (const table of ["events", "event_rollups", "user_activity", "devices", "activity_pins"]) service.store.db.prepare(`DELETE FROM ${table}`).run();
    await service.services.kpiActivity.catchUp();
    return service;
  };
  const day = (daysAgo: number) => new Date((TODAY - daysAgo) * DAY + 3_600_000).toISOString();
  const kpis = async (name: string) => (await get(`/kpi/${name}/data_series`, { length: "6" })).map((point) => point[name]);

  it("erasing a device leaves the days its user had on other devices, under the keys they arrived with", async () => {
    const service = suite.service();
    await reset();
    const [p, q, r, s] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const device = (install_id: string, user_id?: string) => service.services.devices.upsert(key, [{ install_id, ...(user_id ? { user_id } : {}), properties: {}, custom_properties: {} }] as never);
    const session = async (install_id: string, daysAgo: number) => {
      service.services.devices.insertEvents(key, [{ type: "session_start", install_id, timestamp: day(daysAgo) }]);
      await service.services.kpiActivity.catchUp();
    };
    // P is anonymous on day 5 and logs in as frank; frank's Q is active on day 4.
    await session(p, 5);
    device(p, "frank");
    device(q, "frank");
    await session(q, 4);
    // R is gina's on day 3, then hank's on day 2; hank's S is active on day 1.
    device(r, "gina");
    await session(r, 3);
    device(r, "hank");
    await session(r, 2);
    device(s, "hank");
    await session(s, 1);
    expect(await kpis("dau")).toEqual([1, 1, 1, 1, 1, 0]);
    for (const installId of [q, s]) expect(service.services.dataSubjectRequests.eraseDevice(key, installId)).toBeTruthy();
    expect(await kpis("dau")).toEqual([1, 0, 1, 1, 0, 0]);
    expect(await kpis("new_users")).toEqual([1, 0, 1, 1, 0, 0]);
    expect((await kpis("mau")).at(-1)).toBe(3);
  });

  it("erasing a user id no device carries any more forgets its days, and the id with them", async () => {
    const service = suite.service();
    await reset();
    const r = randomUUID();
    service.services.devices.upsert(key, [{ install_id: r, user_id: "gina", properties: {}, custom_properties: {} }] as never);
    service.services.devices.insertEvents(key, [{ type: "session_start", install_id: r, timestamp: day(3) }]);
    await service.services.kpiActivity.catchUp();
    service.services.devices.upsert(key, [{ install_id: r, user_id: "hank", properties: {}, custom_properties: {} }] as never);
    service.services.devices.insertEvents(key, [{ type: "session_start", install_id: r, timestamp: day(2) }]);
    expect(await kpis("dau")).toEqual([0, 0, 1, 1, 0, 0]);
    await service.services.dataSubjectRequests.eraseStoreData(key, { user_id: "gina" });
    expect(await kpis("dau")).toEqual([0, 0, 0, 1, 0, 0]);
    expect(service.store.db.prepare("SELECT count(*) AS rows FROM user_activity WHERE user_key LIKE '%gina%'").get()).toEqual({ rows: 0 });
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
    await suite.service().services.kpiActivity.catchUp();
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
