// App Center device export: every device of the app as JSON lines (each row a JSON object, the file
// as a whole not JSON: seeds, Export Push Data), streamed from the store to a block blob in pages,
// never held whole in memory.
import { Readable } from "node:stream";
import { Worker } from "node:worker_threads";
import type { ContainerClient } from "@azure/storage-blob";
import type { DeviceStore } from "../devices.ts";
import { Apps } from "../repositories/apps.ts";
import { DeviceReads } from "../repositories/device-reads.ts";
import type { Store } from "../store.ts";
import type { PageMessage, PageReaderData } from "./page-reader.mts";

const PAGE = 5_000;

export interface ExportProgress {
  (rowsWritten: number, totalRows: number): void;
}

/** Pages asked of the reader ahead of the upload: enough to keep it busy, few enough to keep memory flat. */
const PAGES_AHEAD = 2;

/**
 * The app's devices as JSON-lines chunks, a page at a time, read by a worker thread (page-reader.mts).
 * The caller ends the worker (`worker.terminate()`) however the export ends: a generator abandoned
 * mid-way (the upload failed) never reaches its own `finally`.
 */
async function* deviceLines(worker: Worker, onPage: (rows: number) => void, onFilter: (filter: Uint8Array) => void): AsyncGenerator<Buffer> {
  const waiting: { resolve: (message: PageMessage) => void; reject: (error: Error) => void }[] = [];
  worker.on("message", (message: PageMessage) => waiting.shift()?.resolve(message));
  worker.on("error", (error) => waiting.splice(0).forEach((w) => w.reject(error)));
  // A reader that stops without answering fails the run instead of leaving it waiting forever.
  worker.on("exit", (code) => waiting.splice(0).forEach((w) => w.reject(new Error(`the export's page reader stopped (exit code ${code})`))));
  const ask = () => {
    const page = new Promise<PageMessage>((resolve, reject) => {
      waiting.push({ resolve, reject });
      worker.postMessage("next");
    });
    // A page asked ahead may fail before it is awaited (the reader died): not an unhandled rejection,
    // the await that reaches it still throws.
    page.catch(() => {});
    return page;
  };
  const asked = Array.from({ length: PAGES_AHEAD }, ask);
  try {
    let written = 0;
    for (;;) {
      const message = await asked.shift()!;
      if ("error" in message) throw new Error(`reading devices for the export failed: ${message.error}`);
      if ("done" in message) {
        if (message.filter) onFilter(message.filter);
        return;
      }
      asked.push(ask());
      written += message.rows;
      onPage(written);
      // A Buffer view of the transferred bytes (no copy): the blob client's stream scheduler takes Buffers.
      yield Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
    }
  } finally {
    await worker.terminate();
  }
}

/** A page reader over the app's devices as JSON lines (the query is the device reads repository's). */
function pageReader(store: Store, devices: DeviceStore, appId: number, filterKey: string | undefined): Worker {
  const data: PageReaderData = { path: store.path, ...new DeviceReads(store).exportLinesQuery(appId, devices.slots(appId)), pageSize: PAGE, ...(filterKey ? { filterKey } : {}) };
  return new Worker(new URL("./page-reader.mts", import.meta.url), { workerData: data });
}

export async function exportDevices(
  store: Store,
  devices: DeviceStore,
  appId: number,
  container: ContainerClient,
  blobName: string,
  progress: ExportProgress,
  /** The subject filter's key, and where the filter of the devices written goes (exported copies: copies.ts). */
  subjects?: { key: string; filtered(filter: Uint8Array): void },
): Promise<number> {
  // Kept with every device change (audience-counts.ts): no count over the app's devices on the event loop.
  // The store, not the repositories, is this function's parameter: the benches call it on a bare store.
  const total = new Apps(store).deviceCount(appId);
  let written = 0;
  progress(0, total);
  const worker = pageReader(store, devices, appId, subjects?.key);
  let filter: Uint8Array | undefined;
  const source = Readable.from(
    deviceLines(worker, (rows) => {
      written = rows;
      progress(rows, total);
    }, (built) => (filter = built)),
  );
  try {
    // 4 MiB blocks, 4 in flight: memory stays bounded whatever the number of devices.
    await container.getBlockBlobClient(blobName).uploadStream(source, 4 * 1024 * 1024, 4, {
      blobHTTPHeaders: { blobContentType: "application/x-ndjson" },
    });
    if (subjects && filter) subjects.filtered(filter);
    return written;
  } finally {
    // Whatever happened to the upload, the reader thread (and its connection and pages) goes.
    source.destroy();
    await worker.terminate();
  }
}
