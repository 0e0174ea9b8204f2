// Runs the benchmarks and prints Markdown (copied into bench/RESULTS.md by hand).
// `npm run bench` runs all; `npm run bench -- membership` one of them.
import { runAudiencesAtScaleBench } from "./audiences-at-scale.ts";
import { runBrazeSeriesBench } from "./braze-series.ts";
import { runDefinitionBench } from "./definition.ts";
import { runEngineOverheadBench } from "./engine-overhead.ts";
import { runErasureBlobBench } from "./erasure-blobs.ts";
import { runErasureBench } from "./erasure.ts";
import { runExportBench } from "./export.ts";
import { runMembershipBench } from "./membership.ts";
import { runResponsivenessBench } from "./responsiveness.ts";

const BENCHES: Record<string, { title: string; run: () => Promise<string[]> }> = {
  definition: { title: "Audience definition check (parse + type-check + print)", run: async () => runDefinitionBench().rows },
  membership: { title: "Audience estimated_count over 1 M devices", run: () => runMembershipBench() },
  export: { title: "Device export into Azurite", run: () => runExportBench() },
  "engine-overhead": { title: "Engine overhead of the provider (preview with no changes, up adding one)", run: () => runEngineOverheadBench() },
  "audiences-at-scale": {
    title: "`pulumi up` of 200 audiences at 1 M devices",
    run: () => runAudiencesAtScaleBench(Number(process.env.BENCH_DEVICES ?? 1_000_000)),
  },
  erasure: { title: "Erasure of one data subject at 1 M devices (store part)", run: () => runErasureBench(Number(process.env.BENCH_DEVICES ?? 1_000_000)) },
  "erasure-blobs": { title: "Erasure of one data subject from ten export blobs of 100,000 lines (blob part)", run: () => runErasureBlobBench() },
  "braze-series": {
    title: "Braze series at 1 M devices and 10 M events",
    run: () => runBrazeSeriesBench(Number(process.env.BENCH_DEVICES ?? 1_000_000), Number(process.env.BENCH_EVENTS_PER_DEVICE ?? 10)),
  },
  responsiveness: { title: "Responsiveness at 1 M devices and 200 audiences", run: () => runResponsivenessBench(Number(process.env.BENCH_DEVICES ?? 1_000_000)) },
};

async function main(chosen: string[]): Promise<void> {
  console.log(`node ${process.version}, ${new Date().toISOString()}`);
  for (const [name, bench] of Object.entries(BENCHES)) {
    if (chosen.length > 0 && !chosen.includes(name)) continue;
    console.log(`\n## ${bench.title}\n`);
    console.log((await bench.run()).join("\n"));
  }
}

void main(process.argv.slice(2));
