// Benchmark: does the service stay responsive while its data grows and background work runs? An app
// with 1 M devices and 200 audiences; event-loop delay (p50/p99/max, perf_hooks) and GET audience
// latency over HTTP, idle (the floor, measured in the same run), then while 1,000 devices/s are
// ingested, while audiences are recounted after definition changes, and while a 30-day CloudKit
// broadcast-metrics report is built. Reported as ratios to the idle floor; targets: p99 event-loop
// delay < 50 ms, GET latency under load ≤ 2× idle.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { LIMITS } from "../domain/index.ts";
import { buildApp } from "../service/app.ts";
import { createApiToken } from "../service/auth.ts";
import { Store } from "../service/store.ts";
import { generateApp, generateUser, Random } from "../service/synthetic.ts";
import type { LoadJob, LoadResult } from "./load-thread.mts";

const DAY = 86_400_000;
const AUDIENCES = 200;
/** One GET audience per this many ms: 1,500 samples in a 15-second phase, so p99 is not three samples. */
const PROBE_MS = 10;
const CUSTOM = { "dog-lover": "boolean", "dog-breed": "string", visits: "number", plan: "string" } as const;
const COUNTRIES = ["US", "GB", "DE", "FR", "BR", "IN", "JP", "CA", "MX", "ES", "IT"];

/** 200 audiences of varied shapes over device and custom properties. */
const definitionOf = (i: number, variant = 0): string => {
  const country = COUNTRIES[i % COUNTRIES.length]!;
  switch (i % 4) {
    case 0:
      return `carrierCountry eq '${country}' and osApiLevel ge ${24 + ((i + variant) % 10)}`;
    case 1:
      return `visits gt ${(i * 2 + variant) % 400} and plan ne 'free'`;
    case 2:
      return `dog-lover eq true and (carrierCountry eq '${country}' or locale eq 'en_US') and visits ge ${variant}`;
    default:
      return `appVersion ge '3.${(i + variant) % 12}' or oemName eq 'Apple'`;
  }
};

interface Sample {
  latencies: number[];
  delay: { p50: number; p99: number; max: number };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const ms = (ns: number) => ns / 1e6;

export async function runResponsivenessBench(devices = 1_000_000, phaseSeconds = 15): Promise<string[]> {
  const dataDir = mkdtempSync(join(tmpdir(), "pushplane-bench-"));
  const store = new Store(dataDir);
  const key = { owner: "bench", app: "demo" };
  const rows: string[] = [];
  try {
    const app = await buildApp({ store, logger: false, rateLimitPerMinute: 1_000_000 });
    await app.ready();
    const { services } = app;
    const token = createApiToken(store, key).token;

    const loadStarted = performance.now();
    generateApp(services.devices, key, { devices, eventsPerDevice: 0, seed: 1 });
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    // A month of daily notifications to 1,000 devices each, 300 opens a day, so the report has something to count.
    const appId = store.appId(key);
    const installIds = store.db.prepare("SELECT install_id FROM devices WHERE app_id = ? LIMIT 30000").all(appId) as unknown as { install_id: string }[];
    store.db.exec("BEGIN");
    for (let day = 1; day <= 30; day++) {
      const id = randomUUID();
      const at = Date.now() - day * DAY;
      store.db.prepare("INSERT INTO notifications (id, app_id, name, content, state, send_time) VALUES (?, ?, ?, '{}', 'Completed', ?)").run(id, appId, `day-${day}`, at);
      const deliver = store.db.prepare("INSERT INTO notification_deliveries (notification_id, device_id, install_id, outcome) VALUES (?, ?, ?, 'Success')");
      for (let i = 0; i < 1_000; i++) deliver.run(id, day * 1_000 + i, installIds[day * 900 + i]?.install_id ?? "x");
      const open = store.db.prepare("INSERT INTO events (app_id, install_id, type, occurred_at, notification_id) VALUES (?, ?, 'push_opened', ?, ?)");
      for (let i = 0; i < 300; i++) open.run(appId, installIds[i]!.install_id, at + 60_000, id);
    }
    store.db.exec("COMMIT");

    const base = await app.listen({ port: 0, host: "127.0.0.1" });
    const headers = { "x-api-token": token, "content-type": "application/json" };
    const audienceUrl = (i: number) => `${base}/v0.1/apps/bench/demo/analytics/audiences/audience-${i}`;
    const setupStarted = performance.now();
    for (let i = 0; i < AUDIENCES; i++) {
      const response = await fetch(audienceUrl(i), { method: "PUT", headers, body: JSON.stringify({ definition: definitionOf(i), custom_properties: CUSTOM }) });
      if (!response.ok) throw new Error(`audience ${i}: ${response.status} ${await response.text()}`);
    }
    await services.idle(1_800_000);
    const countSeconds = (performance.now() - setupStarted) / 1000;

    /** A load generator on a thread of its own (load-thread.mts); `stop` ends it and answers what it measured. */
    const startLoad = (job: LoadJob) => {
      const worker = new Worker(new URL("./load-thread.mts", import.meta.url), { workerData: job });
      const result = new Promise<{ latencies: number[]; sent: number }>((resolve, reject) => {
        worker.once("message", (message: LoadResult) => ("error" in message ? reject(new Error(message.error)) : resolve(message)));
        worker.once("error", reject);
      });
      return {
        stop: async () => {
          worker.postMessage("stop");
          const answered = await result;
          await worker.terminate();
          return answered;
        },
      };
    };
    const urls = Array.from({ length: AUDIENCES }, (_, i) => audienceUrl(i));

    /** GETs an audience every PROBE_MS from another thread and samples the event loop, for the phase. */
    const measure = async (seconds: number, during?: (stop: AbortSignal) => Promise<void>): Promise<Sample> => {
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      const stop = new AbortController();
      const background = during?.(stop.signal);
      const probe = startLoad({ mode: "probe", headers, intervalMs: PROBE_MS, urls });
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      const { latencies } = await probe.stop();
      stop.abort();
      await background;
      histogram.disable();
      latencies.sort((a, b) => a - b);
      return { latencies, delay: { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) } };
    };

    /**
     * 1,000 devices/s from another thread: 20-device NDJSON batches every 20 ms, half new devices,
     * half changes to existing ones, prepared here before the phases so generating them costs the
     * service nothing.
     */
    const random = new Random(99);
    const bodies = Array.from({ length: (3 * phaseSeconds * 1000) / 20 }, (_, batch) =>
      Array.from({ length: 20 }, (_, i) => {
        const device = generateUser(random, 2_000_000 + batch * 20 + i).devices[0]!;
        if (i % 2 === 1) device.install_id = installIds[random.int(0, installIds.length - 1)]!.install_id;
        return JSON.stringify(device);
      }).join("\n"),
    );
    let ingested = 0;
    const ingest = async (stop: AbortSignal) => {
      const load = startLoad({
        mode: "ingest",
        headers: { ...headers, "content-type": "application/x-ndjson" },
        intervalMs: 20,
        url: `${base}/v0.1/apps/bench/demo/ingest/devices/bulk`,
        bodies: bodies.slice((ingested / 20) % bodies.length),
      });
      await new Promise((resolve) => stop.addEventListener("abort", resolve, { once: true }));
      ingested += (await load.stop()).sent * 20;
    };

    // Warm connections and code paths first: the floor is the service idle, not the service cold.
    for (let i = 0; i < 200; i++) await (await fetch(audienceUrl(i % AUDIENCES), { headers })).arrayBuffer();
    const idle = await measure(phaseSeconds);
    const ingestStarted = performance.now();
    const underIngest = await measure(phaseSeconds, ingest);
    const ingestRate = ingested / ((performance.now() - ingestStarted) / 1000);
    const underRecount = await measure(phaseSeconds, async (stop) => {
      // 20 definitions change: full counts run in the background while devices keep arriving.
      for (let i = 0; i < 20; i++) await fetch(audienceUrl(i * 10), { method: "PUT", headers, body: JSON.stringify({ definition: definitionOf(i * 10, 1), custom_properties: CUSTOM }) });
      await ingest(stop);
    });
    const dataExportToken = (
      (await (
        await fetch(`${base}/v0.1/apps/bench/demo/data_export_tokens`, {
          method: "POST",
          headers,
          body: JSON.stringify({ name: "bench", bundle_id: "com.bench.demo", dataset: "broadcast_application_metrics", expires_at: new Date(Date.now() + 30 * DAY).toISOString() }),
        })
      ).json()) as { token: string }
    ).token;
    let reportSeconds = NaN;
    const underReport = await measure(phaseSeconds, async (stop) => {
      const day = (n: number) => new Date(Date.now() - n * DAY).toISOString().slice(0, 10);
      const started = performance.now();
      const { statusUrl } = (await (
        await fetch(`${base}/cloudkit/v1/broadcast-metrics/application/export`, {
          method: "POST",
          headers: { "x-apple-cloudkit-management-token": dataExportToken, "content-type": "application/json" },
          body: JSON.stringify({ startDate: day(30), endDate: day(1) }),
        })
      ).json()) as { statusUrl: string };
      const ingesting = ingest(stop);
      for (;;) {
        const status = (await (await fetch(`${base}${statusUrl}`, { headers: { "x-apple-cloudkit-management-token": dataExportToken } })).json()) as { status: string };
        if (status.status !== "PROCESSING") {
          reportSeconds = (performance.now() - started) / 1000;
          if (status.status !== "SUCCESS") throw new Error(`report ${status.status}`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await ingesting;
    });
    // The largest body the service takes: 100,000 devices in one NDJSON request, posted from a load thread.
    const bulkBody = Array.from({ length: LIMITS.ingestBatchDevices.value }, (_, i) => JSON.stringify(generateUser(random, 5_000_000 + i).devices[0]!)).join("\n");
    let bulkSeconds = NaN;
    const underBulk = await measure(phaseSeconds, async (stop) => {
      const started = performance.now();
      const load = startLoad({
        mode: "ingest",
        headers: { ...headers, "content-type": "application/x-ndjson" },
        intervalMs: 3_600_000,
        url: `${base}/v0.1/apps/bench/demo/ingest/devices/bulk`,
        bodies: [bulkBody],
      });
      await new Promise((resolve) => stop.addEventListener("abort", resolve, { once: true }));
      const { latencies } = await load.stop();
      bulkSeconds = (latencies[0] ?? NaN) / 1000;
      if (latencies.length !== 1 || performance.now() - started < bulkSeconds * 1000) throw new Error("the bulk request did not finish within the phase");
    });
    await app.close();

    const idleP50 = percentile(idle.latencies, 0.5);
    const idleP99 = percentile(idle.latencies, 0.99);
    const line = (name: string, sample: Sample) => {
      const p50 = percentile(sample.latencies, 0.5);
      const p99 = percentile(sample.latencies, 0.99);
      return `| ${name} | ${sample.delay.p50.toFixed(1)} | ${sample.delay.p99.toFixed(1)} | ${sample.delay.max.toFixed(1)} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${(p50 / idleP50).toFixed(2)}× | ${(p99 / idleP99).toFixed(2)}× |`;
    };
    rows.push(
      `${devices.toLocaleString("en-US")} devices loaded in ${loadSeconds.toFixed(1)} s; ${AUDIENCES} audiences created and counted in ${countSeconds.toFixed(1)} s; ` +
        `ingestion at ${Math.round(ingestRate).toLocaleString("en-US")} devices/s (target 1,000); the 30-day report took ${reportSeconds.toFixed(1)} s. ` +
        `Phases of ${phaseSeconds} s, a GET audience every ${PROBE_MS} ms; clients on threads of their own.`,
      "",
      "| phase | loop delay p50 ms | p99 ms | max ms | GET p50 ms | GET p99 ms | GET p50 / idle | GET p99 / idle |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
      line("idle (floor)", idle),
      line("ingesting 1,000 devices/s", underIngest),
      line("+ 20 audiences recounting", underRecount),
      line("+ 30-day broadcast-metrics report", underReport),
      line(`one ${LIMITS.ingestBatchDevices.value.toLocaleString("en-US")}-device bulk request (${bulkSeconds.toFixed(1)} s)`, underBulk),
    );
    return rows;
  } finally {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
