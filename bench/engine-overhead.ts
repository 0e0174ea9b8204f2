// Benchmark: what pushplane's provider adds to the Pulumi engine. The same program (about 200
// audiences in one app, then 600 across three) as pushplane Audiences against the embedded service, and as no-op
// dynamic resources with the same inputs (the engine's floor); `pulumi preview` with no changes and
// `pulumi up` adding one audience, each timed three times; ratios of medians, pushplane / floor.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp } from "../service/app.ts";
import { createApiToken } from "../service/auth.ts";
import { Store } from "../service/store.ts";
import { TestStack } from "../test/helpers/pulumi.ts";

const PROGRAM = join(import.meta.dirname, "programs", "overhead");
const RUNS = 3;

const seconds = async (work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
};
const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted.at(-1)! };
};
const show = (s: { min: number; median: number; max: number }) => `${s.min.toFixed(1)} / ${s.median.toFixed(1)} / ${s.max.toFixed(1)}`;

export async function runEngineOverheadBench(): Promise<string[]> {
  const dataDir = mkdtempSync(join(tmpdir(), "pushplane-bench-engine-"));
  const store = new Store(dataDir);
  const app = await buildApp({ store, logger: false, rateLimitPerMinute: 1_000_000 });
  const endpoint = await app.listen({ port: 0, host: "127.0.0.1" });
  const token = createApiToken(store, ["bench/*"]).token;
  const rows = [
    "| program | mode | preview, no changes: min / median / max s | up adding one: min / median / max s |",
    "|---|---|---:|---:|",
  ];
  const ratios: string[] = [];
  try {
    // 197 per app, so three "up adding one" runs end at the platform's 200 audiences per app.
    for (const [apps, perApp] of [[1, 197], [3, 197]] as const) {
      const medians: Record<string, { preview: number; up: number }> = {};
      for (const mode of ["noop", "pushplane"]) {
        const stack = new TestStack(PROGRAM);
        try {
          await stack.init({ "pushplane:endpoint": endpoint, "bench:mode": mode, "bench:apps": String(apps), "bench:perApp": String(perApp), "bench:extra": "0" }, { "pushplane:apiToken": token });
          await stack.ok("up", "--yes", "--skip-preview");
          const previews: number[] = [];
          for (let run = 0; run < RUNS; run++) previews.push(await seconds(() => stack.ok("preview", "--expect-no-changes")));
          const ups: number[] = [];
          for (let run = 1; run <= RUNS; run++) {
            await stack.ok("config", "set", "bench:extra", String(run));
            ups.push(await seconds(() => stack.ok("up", "--yes", "--skip-preview")));
          }
          const [preview, up] = [stats(previews), stats(ups)];
          medians[mode] = { preview: preview.median, up: up.median };
          rows.push(`| ${apps * perApp} audiences in ${apps} app${apps > 1 ? "s" : ""} | ${mode === "noop" ? "no-op (floor)" : "pushplane"} | ${show(preview)} | ${show(up)} |`);
          await stack.ok("destroy", "--yes", "--skip-preview");
        } finally {
          stack.dispose();
        }
      }
      ratios.push(
        `${apps * perApp} audiences in ${apps} app${apps > 1 ? "s" : ""}: preview ${(medians.pushplane!.preview / medians.noop!.preview).toFixed(2)}×, up adding one ${(medians.pushplane!.up / medians.noop!.up).toFixed(2)}× the floor`,
      );
    }
  } finally {
    await app.close();
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return [...rows, "", ...ratios.map((r) => `- ${r}`)];
}
