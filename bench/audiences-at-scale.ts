// Benchmark: `pulumi up` creating 200 audiences in an app of 1 M devices, against the same up in an
// app of 1,000 devices (the floor: the same program, engine and service, where counting is free).
// The ratio shows whether an up's time grows with devices × audiences. Each timed three times
// (a fresh stack each, the service kept): min / median / max.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp } from "../service/app.ts";
import { createApiToken } from "../service/auth.ts";
import { Store } from "../service/store.ts";
import { generateApp } from "../service/synthetic.ts";
import { TestStack } from "../test/helpers/pulumi.ts";

const PROGRAM = join(import.meta.dirname, "programs", "overhead");
const AUDIENCES = 200;
const RUNS = 3;

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted.at(-1)! };
};

async function timeUps(devices: number): Promise<{ up: number[]; counted: number[]; loadSeconds: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), "pushplane-bench-scale-"));
  const store = new Store(dataDir);
  const app = await buildApp({ store, logger: false, rateLimitPerMinute: 1_000_000 });
  try {
    await app.ready();
    const key = { owner: "bench", app: "app-0" };
    const loadStarted = performance.now();
    generateApp(app.services.devices, key, { devices, eventsPerDevice: 0, seed: 1 });
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    await app.services.idle(600_000);
    const endpoint = await app.listen({ port: 0, host: "127.0.0.1" });
    const token = createApiToken(store, ["bench/*"]).token;
    const up: number[] = [];
    const counted: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const stack = new TestStack(PROGRAM);
      try {
        await stack.init({ "pushplane:endpoint": endpoint, "bench:mode": "pushplane", "bench:apps": "1", "bench:perApp": String(AUDIENCES), "bench:extra": "0" }, { "pushplane:apiToken": token });
        const started = performance.now();
        await stack.ok("up", "--yes");
        up.push((performance.now() - started) / 1000);
        // Until every count has landed: what `up` no longer waits for, for the record.
        await app.services.idle(600_000);
        counted.push((performance.now() - started) / 1000);
        await stack.ok("destroy", "--yes", "--skip-preview");
      } finally {
        stack.dispose();
      }
    }
    return { up, counted, loadSeconds };
  } finally {
    await app.close();
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runAudiencesAtScaleBench(devices = 1_000_000): Promise<string[]> {
  const floor = await timeUps(1_000);
  const big = await timeUps(devices);
  const show = (values: number[]) => {
    const s = stats(values);
    return `${s.min.toFixed(1)} / ${s.median.toFixed(1)} / ${s.max.toFixed(1)}`;
  };
  const [floorUp, bigUp] = [stats(floor.up).median, stats(big.up).median];
  return [
    `${devices.toLocaleString("en-US")} devices loaded in ${big.loadSeconds.toFixed(1)} s.`,
    "",
    `| app | \`pulumi up\` of ${AUDIENCES} audiences: min / median / max s | until every count landed: min / median / max s |`,
    "|---|---:|---:|",
    `| 1,000 devices (floor) | ${show(floor.up)} | ${show(floor.counted)} |`,
    `| ${devices.toLocaleString("en-US")} devices | ${show(big.up)} | ${show(big.counted)} |`,
    "",
    `- up at ${devices.toLocaleString("en-US")} devices: ${(bigUp / floorUp).toFixed(2)}× the floor`,
  ];
}
