// Benchmark: App Center device export of 1 M synthetic devices into an Azurite container. Reports
// devices/s, peak memory, and the ratio to a raw upload of the same number of bytes with
// @azure/storage-blob (same block size and concurrency) measured in the same run.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { BlobServiceClient } from "@azure/storage-blob";
import { exportDevices } from "../service/exports/device-export.ts";
import { createServices } from "../service/services.ts";
import { Store } from "../service/store.ts";
import { generateApp } from "../service/synthetic.ts";
import { startAzurite } from "../test/helpers/azurite.ts";

const MiB = 1024 * 1024;

/**
 * The process's anonymous resident memory (all threads' heaps and buffers), without file-backed
 * pages: SQLite's memory-mapped database counts in RSS but is page cache, not the export's memory.
 */
function anonymousRss(): number {
  const match = /RssAnon:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return match ? Number(match[1]) * 1024 : process.memoryUsage().rss;
}

/** Runs `work` while sampling memory; returns seconds, the peak RSS, and the peak growth of anonymous RSS over the start. */
async function sampled<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number; peakRssMiB: number; peakAnonGrowthMiB: number }> {
  global.gc?.();
  const baseAnon = anonymousRss();
  let peakRss = process.memoryUsage().rss;
  let peakAnon = baseAnon;
  const timer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    peakAnon = Math.max(peakAnon, anonymousRss());
  }, 20);
  const start = performance.now();
  const result = await work();
  const seconds = (performance.now() - start) / 1000;
  clearInterval(timer);
  return { result, seconds, peakRssMiB: peakRss / MiB, peakAnonGrowthMiB: (peakAnon - baseAnon) / MiB };
}

export async function runExportBench(sizes = [250_000, 1_000_000]): Promise<string[]> {
  // Two sinks, each with its own floor: Azurite on disk (as the tests run it) and Azurite with
  // --inMemoryPersistence (a faster sink, so the exporter's own speed shows).
  const sinks = [
    { name: "disk", azurite: await startAzurite() },
    { name: "memory", azurite: await startAzurite({ inMemory: true }) },
  ];
  const dataDir = mkdtempSync(join(tmpdir(), "pushplane-bench-export-"));
  const store = new Store(dataDir);
  const services = createServices(store);
  const rows = [
    "| devices | Azurite | export s | devices/s | bytes | raw upload s (same bytes) | export / raw throughput | peak RSS MiB | peak anonymous memory growth MiB |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  try {
    const containers = await Promise.all(
      sinks.map(async (sink) => {
        const container = BlobServiceClient.fromConnectionString(sink.azurite.connectionString).getContainerClient("bench");
        await container.create();
        return { name: sink.name, container };
      }),
    );
    let generated = 0;
    for (const [index, size] of sizes.entries()) {
      const key = { owner: "bench", app: "demo" };
      generated += generateApp(services.devices, key, { devices: size - generated, eventsPerDevice: 0, seed: 100 + index }).devices;
      const appId = store.appId(key);
      for (const { name, container } of containers) {
        const blobName = `export-${size}.jsonl`;
        const exported = await sampled(() => exportDevices(store, services.devices, appId, container, blobName, () => {}));
        const bytes = (await container.getBlockBlobClient(blobName).getProperties()).contentLength ?? 0;
        // Raw floor: the same number of bytes, already in memory, through the same uploadStream settings.
        const chunk = Buffer.alloc(4 * MiB, "x");
        const raw = await sampled(async () => {
          const source = Readable.from(
            (function* () {
              for (let sent = 0; sent < bytes; sent += chunk.length) yield sent + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - sent);
            })(),
          );
          await container.getBlockBlobClient(`raw-${size}.bin`).uploadStream(source, 4 * MiB, 4);
        });
        // Free the sink's memory before the next measurement.
        await container.deleteBlob(blobName);
        await container.deleteBlob(`raw-${size}.bin`);
        rows.push(
          `| ${generated.toLocaleString("en-US")} | ${name} | ${exported.seconds.toFixed(1)} | ${Math.round(generated / exported.seconds).toLocaleString("en-US")} | ${(bytes / MiB).toFixed(0)} MiB | ` +
            `${raw.seconds.toFixed(1)} | ${(raw.seconds / exported.seconds).toFixed(2)}× | ${exported.peakRssMiB.toFixed(0)} | ${exported.peakAnonGrowthMiB.toFixed(0)} |`,
        );
      }
    }
    return rows;
  } finally {
    await services.close();
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
    for (const sink of sinks) await sink.azurite.stop();
  }
}
