// Benchmark: the Braze series at scale (issue: 1 M devices, 10 M events). Loads the app through the
// ingestion code path, then asks the /braze routes (through the HTTP stack, as a client would) for
// DAU over 100 days, sessions hour by hour over 100 hours, a custom event and revenue over 100 days
// — p50/p95 — each against one GROUP BY over the raw events answering the same question, measured
// in the same run. Also: a series narrowed to a segment and a campaign's series (read from the
// segment's members' and the campaign's own events, not rolled up), and ingestion throughput with
// the rollups against the same ingestion without them (today's path before the series), alternated
// on fresh stores so both see the same machine state.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { DAY_MS, HOUR_MS, USD_PER_UNIT } from "../domain/index.ts";
import { buildApp } from "../service/app.ts";
import { createApiToken } from "../service/auth.ts";
import { createServices } from "../service/services.ts";
import { Store } from "../service/store.ts";
import { ACTIVITY_CHUNK_EVENTS } from "../service/kpi-activity.ts";
import { Activity } from "../service/repositories/activity.ts";
import { EventRollups } from "../service/repositories/event-rollups.ts";
import { GENERATED_UNTIL, generateApp, generateCampaigns } from "../service/synthetic.ts";

/** The generator's clock: events fall in the 90 days before it. */
const ENDING_AT = new Date(GENERATED_UNTIL - 1).toISOString();

/** Progress on stderr (the results go to stdout). */
const progress = (line: string) => process.stderr.write(`[braze-series] ${line}\n`);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

async function measure(run: () => unknown, repeats: number): Promise<{ p50: number; p95: number }> {
  await run(); // warm
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p95: percentile(times, 0.95) };
}

/** How long recording the queued KPI activity takes, seconds: the background item's chunks, back to back. */
function catchUpSeconds(store: Store): number {
  const activity = new Activity(store, new EventRollups(store));
  const started = performance.now();
  while (store.transaction(() => activity.recordNext(ACTIVITY_CHUNK_EVENTS))) {
    // Until the newest event is in.
  }
  return (performance.now() - started) / 1000;
}

/**
 * Devices and events per second through `generateApp` on a fresh store, with the series' rollups
 * kept (as the service does: the hourly counts in the ingesting transaction, the KPI activity
 * queued) or without them (the ingestion path as it was before the series); with them, also how
 * long recording the queued KPI activity then takes (what the background item does).
 */
async function ingestRate(devices: number, eventsPerDevice: number, withRollups: boolean): Promise<{ devicesPerSecond: number; eventsPerSecond: number; activitySeconds: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), "pushplane-bench-"));
  const store = new Store(dataDir);
  const services = createServices(store);
  try {
    if (!withRollups) {
      // The bench's one reach inside: the hourly rollups and the activity queue become no-ops.
      const inside = services.devices as unknown as { rollups: { apply: () => void }; eventsArrived: () => void };
      inside.rollups.apply = () => {};
      inside.eventsArrived = () => {};
    }
    const started = performance.now();
    let activitySeconds = 0;
    const result = generateApp(services.devices, { owner: "bench", app: "ingest" }, {
      devices,
      eventsPerDevice,
      seed: 2,
      // After each batch, what the background item does once the loop is free (this one is busy loading).
      onProgress: () => (activitySeconds += withRollups ? catchUpSeconds(store) : 0),
    });
    const seconds = (performance.now() - started) / 1000 - activitySeconds;
    return { devicesPerSecond: result.devices / seconds, eventsPerSecond: result.events / seconds, activitySeconds };
  } finally {
    await services.close();
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * A backlog's catch-up as a KPI read meets it: `devices` loaded with nothing recorded behind them,
 * then the catch-up the read awaits, with the event loop's longest stall meanwhile (what every other
 * request waits at most).
 */
async function coldCatchUp(devices: number, eventsPerDevice: number): Promise<{ events: number; seconds: number; longestStallMs: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), "pushplane-bench-"));
  const store = new Store(dataDir);
  const services = createServices(store);
  try {
    const { events } = generateApp(services.devices, { owner: "bench", app: "backlog" }, { devices, eventsPerDevice, seed: 3 });
    const stalls = monitorEventLoopDelay({ resolution: 5 });
    stalls.enable();
    const started = performance.now();
    await services.kpiActivity.catchUp();
    const seconds = (performance.now() - started) / 1000;
    stalls.disable();
    return { events, seconds, longestStallMs: stalls.max / 1e6 };
  } finally {
    await services.close();
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runBrazeSeriesBench(devices = 1_000_000, eventsPerDevice = 10, repeats = 25): Promise<string[]> {
  const rows: string[] = [];
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

  // Ingestion with and without the rollups, alternated (with, without, with, without) on fresh stores.
  const sample = Math.min(devices, 200_000);
  type Rate = Awaited<ReturnType<typeof ingestRate>>;
  const rates: Record<"with" | "without", Rate[]> = { with: [], without: [] };
  for (let round = 0; round < 2; round++) {
    rates.without.push(await ingestRate(sample, eventsPerDevice, false));
    rates.with.push(await ingestRate(sample, eventsPerDevice, true));
    progress(`ingestion round ${round + 1}: ${Math.round(rates.without.at(-1)!.eventsPerSecond)} events/s without rollups, ${Math.round(rates.with.at(-1)!.eventsPerSecond)} with`);
  }
  const best = (list: Rate[]) => list.reduce((a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a));
  const [withRollups, without] = [best(rates.with), best(rates.without)];
  const backlog = await coldCatchUp(sample, eventsPerDevice);
  progress(`cold catch-up of ${backlog.events} events: ${backlog.seconds.toFixed(1)} s, longest stall ${backlog.longestStallMs.toFixed(0)} ms`);
  // All the work, ingestion and the queued activity, against ingestion without the series.
  const sampleEvents = sample * eventsPerDevice;
  const withActivity = (sampleEvents / withRollups.eventsPerSecond + withRollups.activitySeconds) / (sampleEvents / without.eventsPerSecond);

  const dataDir = mkdtempSync(join(tmpdir(), "pushplane-bench-"));
  const store = new Store(dataDir);
  try {
    const app = await buildApp({ store, logger: false, rateLimitPerMinute: 1_000_000 });
    await app.ready();
    const { services } = app;
    const key = { owner: "bench", app: "braze" };
    const token = createApiToken(store, key).token;
    const loadStarted = performance.now();
    let activitySeconds = 0;
    const generated = generateApp(services.devices, key, {
      devices,
      eventsPerDevice,
      seed: 1,
      onProgress: (done, total) => {
        activitySeconds += catchUpSeconds(store);
        process.stderr.write(`\r[braze-series] loading ${done.toLocaleString("en-US")} / ${total.toLocaleString("en-US")} devices`);
      },
    });
    process.stderr.write("\n");
    const loadSeconds = (performance.now() - loadStarted) / 1000 - activitySeconds;
    const campaigns = generateCampaigns(services, key, { campaigns: 3, recipients: 50_000, seed: 1, now: GENERATED_UNTIL });
    const appId = store.appId(key);
    const audience = await app.inject({
      method: "PUT",
      url: `/v0.1/apps/${key.owner}/${key.app}/analytics/audiences/canadians`,
      headers: { "x-api-token": token },
      payload: { definition: "carrierCountry eq 'CA'" },
    });
    if (audience.statusCode !== 200) throw new Error(`audience: ${audience.body}`);
    const campaignId = (store.db.prepare("SELECT id FROM notifications WHERE app_id = ? ORDER BY send_time DESC LIMIT 1").get(appId) as { id: string }).id;

    const get = async (path: string, query: Record<string, string>) => {
      const response = await app.inject({
        method: "GET",
        url: `/braze${path}?${new URLSearchParams({ app_group_id: `${key.owner}/${key.app}`, ending_at: ENDING_AT, ...query })}`,
        headers: { authorization: `Bearer ${token}` },
      });
      if (response.statusCode !== 200) throw new Error(`${path}: ${response.statusCode} ${response.body}`);
      return response.json() as { data: unknown[] };
    };
    const days = (n: number) => [GENERATED_UNTIL - n * DAY_MS, GENERATED_UNTIL] as const;
    const hours = (n: number) => [GENERATED_UNTIL - n * HOUR_MS, GENERATED_UNTIL] as const;
    const rate = `CASE e.currency ${Object.entries(USD_PER_UNIT).map(([code, usd]) => `WHEN '${code}' THEN ${usd}`).join(" ")} ELSE 0 END`;
    const raw = (sql: string) => store.db.prepare(sql);
    const cases: { name: string; route: () => Promise<unknown>; floor: () => unknown; floorSql: string }[] = [
      {
        name: "DAU, 100 days",
        route: () => get("/kpi/dau/data_series", { length: "100" }),
        floorSql: "count(DISTINCT coalesce(d.user_id, e.install_id)) per day, events ⋈ devices",
        floor: () =>
          raw(
            `SELECT e.occurred_at / ${DAY_MS} AS day, count(DISTINCT coalesce('user:' || d.user_id, 'install:' || e.install_id)) AS n
             FROM events e LEFT JOIN devices d ON d.app_id = e.app_id AND d.install_id = e.install_id
             WHERE e.app_id = ? AND e.type != 'uninstall' AND e.occurred_at >= ? AND e.occurred_at < ? GROUP BY 1`,
          ).all(appId, ...days(100)),
      },
      {
        name: "sessions, 100 hours",
        route: () => get("/sessions/data_series", { length: "100", unit: "hour" }),
        floorSql: "count(*) of session_start per hour",
        floor: () => raw(`SELECT occurred_at / ${HOUR_MS} AS hour, count(*) FROM events e WHERE app_id = ? AND type = 'session_start' AND occurred_at >= ? AND occurred_at < ? GROUP BY 1`).all(appId, ...hours(100)),
      },
      {
        name: "custom event `share`, 100 days",
        route: () => get("/events/data_series", { length: "100", event: "share" }),
        floorSql: "count(*) of custom events named share per day",
        floor: () =>
          raw(`SELECT occurred_at / ${DAY_MS} AS day, count(*) FROM events e WHERE app_id = ? AND type = 'custom' AND name = 'share' AND occurred_at >= ? AND occurred_at < ? GROUP BY 1`).all(appId, ...days(100)),
      },
      {
        name: "revenue, 100 days",
        route: () => get("/purchases/revenue_series", { length: "100" }),
        floorSql: "sum of round(amount × USD rate) per day",
        floor: () =>
          raw(`SELECT occurred_at / ${DAY_MS} AS day, sum(round(amount * ${rate} * 100)) FROM events e WHERE app_id = ? AND type = 'purchase' AND occurred_at >= ? AND occurred_at < ? GROUP BY 1`).all(
            appId,
            ...days(100),
          ),
      },
      {
        name: "sessions of segment `canadians`, 100 days",
        route: () => get("/sessions/data_series", { length: "100", segment_id: "canadians" }),
        floorSql: "count(*) of session_start per day (whole app)",
        floor: () => raw(`SELECT occurred_at / ${DAY_MS} AS day, count(*) FROM events e WHERE app_id = ? AND type = 'session_start' AND occurred_at >= ? AND occurred_at < ? GROUP BY 1`).all(appId, ...days(100)),
      },
      {
        name: "campaign (50,000 recipients), 30 days",
        route: () => get("/campaigns/data_series", { length: "30", campaign_id: campaignId }),
        floorSql: "count(*) of push_opened per day (whole app)",
        floor: () => raw(`SELECT occurred_at / ${DAY_MS} AS day, count(*) FROM events e WHERE app_id = ? AND type = 'push_opened' AND occurred_at >= ? AND occurred_at < ? GROUP BY 1`).all(appId, ...days(30)),
      },
    ];

    rows.push(
      `${fmt(generated.devices)} devices (${fmt(generated.users)} users), ${fmt(generated.events)} events (sessions of a few events over 90 days) loaded through the ingestion path in ${loadSeconds.toFixed(1)} s ` +
        `(${fmt(generated.devices / loadSeconds)} devices/s, ${fmt(generated.events / loadSeconds)} events/s, rollups kept); their KPI activity, recorded after each batch of 20,000 devices as the background item does, took ${activitySeconds.toFixed(1)} s more ` +
        `(${fmt(generated.events / activitySeconds)} events/s); then ${campaigns.campaigns} campaigns to ${fmt(campaigns.deliveries / campaigns.campaigns)} devices each.`,
      "",
      `Ingestion of ${fmt(sample)} devices × ${eventsPerDevice} events on a fresh store, best of two alternated runs each:`,
      "",
      "| ingestion | devices/s | events/s | time / without rollups | KPI activity after each batch, s | ingestion + activity / without |",
      "|---|---:|---:|---:|---:|---:|",
      `| without rollups (before the series) | ${fmt(without.devicesPerSecond)} | ${fmt(without.eventsPerSecond)} | 1.00× | | |`,
      `| with rollups (hourly counts; KPI activity queued) | ${fmt(withRollups.devicesPerSecond)} | ${fmt(withRollups.eventsPerSecond)} | ${(without.eventsPerSecond / withRollups.eventsPerSecond).toFixed(2)}× | ` +
        `${withRollups.activitySeconds.toFixed(2)} | ${withActivity.toFixed(2)}× |`,
      "",
      `A backlog a KPI read meets (the same ${fmt(backlog.events)} events loaded with nothing recorded behind them): its catch-up took ${backlog.seconds.toFixed(1)} s ` +
        `(${fmt(backlog.events / backlog.seconds)} events/s), in chunks with the event loop free between — its longest stall meanwhile ${backlog.longestStallMs.toFixed(0)} ms.`,
      "",
      `Series (ending ${ENDING_AT}), ${repeats} requests each through the HTTP stack; floor: one GROUP BY over the raw events answering the same question, same run:`,
      "",
      "| series | points | p50 ms | p95 ms | floor | floor p50 ms | p50 / floor |",
      "|---|---:|---:|---:|---|---:|---:|",
    );
    for (const entry of cases) {
      progress(entry.name);
      const points = ((await entry.route()) as { data: unknown[] }).data.length;
      const timing = await measure(entry.route, repeats);
      const floor = await measure(entry.floor, Math.max(3, Math.floor(repeats / 5)));
      rows.push(`| ${entry.name} | ${points} | ${timing.p50.toFixed(1)} | ${timing.p95.toFixed(1)} | ${entry.floorSql} | ${floor.p50.toFixed(1)} | ${(timing.p50 / floor.p50).toPrecision(2)}× |`);
    }
    await app.close();
  } finally {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}
