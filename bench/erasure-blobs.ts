// Benchmark: the blob part of erasing one data subject — ten export blobs of 100,000 lines each,
// tracked with their subject filters; each erasure finds the blob(s) that may hold its subject and
// rewrites them without its lines (download, filter, stage, commit). Floor, in the same run: a raw
// upload of the same bytes (the affected blob as stored) into the same Azurite, streamed in blocks
// as the exports write. Target (issue 10):
// blob part / raw upload ≤ 1.5× (p50). JSON lines (device exports) and gzipped JSON lines (segment
// export parts) are measured separately: a gzipped blob is decompressed and compressed again.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { BlobServiceClient, ContainerSASPermissions } from "@azure/storage-blob";
import { CONTAINER_GRANT_PERMISSIONS, identifiersOfRecord } from "../domain/index.ts";
import type { CopyFormat } from "../service/repositories/export-copies.ts";
import { createServices } from "../service/services.ts";
import { Store } from "../service/store.ts";
import { startAzurite } from "../test/helpers/azurite.ts";

const BLOBS = 10;
const LINES = 100_000;
const SUBJECTS = 20;
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))]!;

/** A device export line (the shape `exportLinesQuery` writes). */
function deviceLine(blob: number, line: number): Record<string, unknown> {
  const installId = randomUUID();
  return {
    install_id: installId,
    user_id: `user-${blob}-${line}`,
    push_channel: "fcm",
    push_token: `token-${installId}`,
    properties: { carrierCountry: "US", osApiLevel: 30 + (line % 5), model: "Pixel 8", sdkVersion: "5.0.1" },
    custom_properties: { email: `user-${blob}-${line}@example.org`, plan: line % 3 === 0 ? "gold" : "silver", visits: line % 97 },
    updated_at: "2026-11-20T10:00:00.000Z",
  };
}

export async function runErasureBlobBench(): Promise<string[]> {
  const azurite = await startAzurite({ inMemory: true });
  const dataDir = mkdtempSync(join(tmpdir(), "pushplane-bench-erasure-blobs-"));
  const store = new Store(dataDir);
  const services = createServices(store, { outbound: { allowLoopback: true } });
  try {
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("exports");
    await container.create();
    const grant = await container.generateSasUrl({ permissions: ContainerSASPermissions.parse(CONTAINER_GRANT_PERMISSIONS), expiresOn: new Date(Date.now() + 86_400_000) });
    const key = { owner: "bench", app: "gdpr" };
    const appId = store.appId(key);
    services.retention.set(key, grant, 30);
    const destination = { kind: "sas" as const, grant, containerUrl: container.url };

    const rows: string[] = [];
    for (const format of ["jsonl", "jsonl.gz"] as CopyFormat[]) {
      // Ten blobs; each subject's two lines sit in one blob (subject i in blob i mod 10).
      const subjects = Array.from({ length: SUBJECTS }, (_, i) => ({ blob: i % BLOBS, lines: [1_000 + i * 1_000, 60_000 + i * 1_000] }));
      const bytesOf: Buffer[] = [];
      const userOf = new Map<number, string>();
      let setup = performance.now();
      for (let b = 0; b < BLOBS; b++) {
        const name = `${format}/blob-${b}.${format}`;
        const copy = services.copies.track(appId, destination, name, format);
        const lines: string[] = [];
        for (let l = 0; l < LINES; l++) {
          const record = deviceLine(b, l);
          const subject = subjects.findIndex((s) => s.blob === b && s.lines.includes(l));
          if (subject >= 0) {
            record.user_id = `subject-${format}-${subject}`;
            userOf.set(subject, record.user_id as string);
          }
          copy.filter.add(identifiersOfRecord(record));
          lines.push(JSON.stringify(record));
        }
        const text = Buffer.from(`${lines.join("\n")}\n`);
        const bytes = format === "jsonl.gz" ? gzipSync(text) : text;
        bytesOf.push(bytes);
        await container.getBlockBlobClient(name).uploadData(bytes);
        copy.written();
      }
      setup = (performance.now() - setup) / 1000;
      const blobPart: number[] = [];
      const rawUpload: number[] = [];
      const singlePut: number[] = [];
      let blobsTouched = 0;
      for (let i = 0; i < SUBJECTS; i++) {
        // The floor: the affected blob's bytes uploaded as they are, the way an export writes them
        // (a stream in 4 MiB blocks, 4 in flight: device-export.ts).
        const affected = bytesOf[subjects[i]!.blob]!;
        let started = performance.now();
        await container.getBlockBlobClient(`scratch/${randomUUID()}`).uploadStream(Readable.from([affected]), 4 * 1024 * 1024, 4);
        rawUpload.push(performance.now() - started);
        // And in one request (what the rewrite itself does up to 64 MiB).
        started = performance.now();
        await container.getBlockBlobClient(`scratch/${randomUUID()}`).upload(affected, affected.length);
        singlePut.push(performance.now() - started);
        started = performance.now();
        const outcomes = await services.copies.erase(appId, [{ type: "user_id", value: userOf.get(i)! }], randomUUID(), new Set(), () => {});
        blobPart.push(performance.now() - started);
        blobsTouched += outcomes.length;
        const removed = outcomes.reduce((sum, outcome) => sum + outcome.lines_removed, 0);
        if (removed !== 2) throw new Error(`expected the subject's 2 lines removed, got ${removed} (${JSON.stringify(outcomes)})`);
      }
      const mb = bytesOf[0]!.length / 1024 / 1024;
      rows.push(
        `| ${format} (${mb.toFixed(1)} MB a blob) | ${percentile(blobPart, 0.5).toFixed(0)} | ${percentile(blobPart, 0.95).toFixed(0)} | ${percentile(rawUpload, 0.5).toFixed(0)} | ${(percentile(blobPart, 0.5) / percentile(rawUpload, 0.5)).toFixed(2)}× | ${percentile(singlePut, 0.5).toFixed(0)} | ${(percentile(blobPart, 0.5) / percentile(singlePut, 0.5)).toFixed(2)}× | ${(blobsTouched / SUBJECTS).toFixed(2)} | ${setup.toFixed(1)} s |`,
      );
    }
    return [
      `${BLOBS} export blobs of ${LINES.toLocaleString("en-US")} lines each per format, tracked with subject filters; ${SUBJECTS} subjects erased one at a time (each in one blob, two lines).`,
      "",
      "| format | blob part p50 ms | p95 ms | floor: streamed upload of the same bytes (as exports write) p50 ms | ratio p50 (target ≤ 1.5×) | floor: one put of the same bytes p50 ms | ratio p50 | blobs rewritten per erasure | set-up |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
      ...rows,
    ];
  } finally {
    await services.close();
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
    await azurite.stop();
  }
}
