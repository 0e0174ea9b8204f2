// Benchmark: audience estimated_count over 1 M synthetic devices for five definitions of increasing
// complexity, p50/p95, as a ratio to a plain count(*) of the same app's rows in the same table,
// measured in the same run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseDefinition } from "../domain/index.ts";
import { compileDefinition } from "../service/membership.ts";
import { createServices } from "../service/services.ts";
import { Store } from "../service/store.ts";
import { generateApp } from "../service/synthetic.ts";

const DEFINITIONS = [
  "carrierCountry eq 'US'",
  "carrierCountry eq 'US' and osApiLevel ge 30",
  "dog-lover eq true and dog-breed eq 'Golden Retriever'",
  "(carrierCountry eq 'US' or carrierCountry eq 'CA') and visits gt 100 and plan ne 'free'",
  "(locale eq 'en_US' or locale eq 'en_GB' or locale eq 'de_DE') and (osApiLevel ge 30 or oemName eq 'Apple') and signed-up gt 2023-01-01 and dog-lover eq true",
];
const CUSTOM = { "dog-lover": "boolean", "dog-breed": "string", visits: "number", "signed-up": "date_time", plan: "string" } as const;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

function measure(run: () => unknown, repeats: number): { p50: number; p95: number } {
  run(); // warm
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p95: percentile(times, 0.95) };
}

export async function runMembershipBench(devices = 1_000_000, repeats = 15): Promise<string[]> {
  const dataDir = mkdtempSync(join(tmpdir(), "pushplane-bench-"));
  try {
    const store = new Store(dataDir);
    const services = createServices(store);
    const key = { owner: "bench", app: "demo" };
    const started = performance.now();
    const generated = generateApp(services.devices, key, { devices, eventsPerDevice: 0, seed: 1 });
    const loadSeconds = (performance.now() - started) / 1000;
    const appId = store.appId(key);
    const slots = services.devices.slots(appId);

    const floorStatement = store.db.prepare("SELECT count(*) AS n FROM device_attributes WHERE app_id = ?");
    const floor = measure(() => floorStatement.get(appId), repeats);
    const wholeTable = measure(() => store.db.prepare("SELECT count(*) AS n FROM device_attributes").get(), repeats);

    const rows = [
      `${generated.devices.toLocaleString("en-US")} devices (${generated.users.toLocaleString("en-US")} users) loaded in ${loadSeconds.toFixed(1)} s ` +
        `(${Math.round(generated.devices / loadSeconds).toLocaleString("en-US")} devices/s).`,
      `Floor: count(*) of the app's rows in device_attributes p50 ${floor.p50.toFixed(1)} ms (whole table, no app filter: ${wholeTable.p50.toFixed(1)} ms).`,
      "",
      "| # | definition | matches | p50 ms | p95 ms | p50 / floor |",
      "|---:|---|---:|---:|---:|---:|",
    ];
    DEFINITIONS.forEach((definition, index) => {
      const condition = compileDefinition(parseDefinition(definition), slots, CUSTOM);
      const statement = store.db.prepare(`SELECT count(*) AS n FROM device_attributes WHERE app_id = ? AND ${condition.sql}`);
      const matches = (statement.get(appId, ...condition.params) as { n: number }).n;
      const timing = measure(() => statement.get(appId, ...condition.params), repeats);
      rows.push(`| ${index + 1} | \`${definition}\` | ${matches.toLocaleString("en-US")} | ${timing.p50.toFixed(1)} | ${timing.p95.toFixed(1)} | ${(timing.p50 / floor.p50).toFixed(2)}× |`);
    });
    await services.close();
    store.close();
    return rows;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
