// App Center device export: every device of the app as JSON lines (each row a JSON object, the file
// as a whole not JSON: seeds, Export Push Data), streamed from the store to a block blob in pages,
// never held whole in memory.
import { Readable } from "node:stream";
import { Worker } from "node:worker_threads";
import type { ContainerClient } from "@azure/storage-blob";
import type { DeviceStore } from "../devices.ts";
import { DEVICE_COLUMNS, type Slot } from "../devices.ts";
import type { Store } from "../store.ts";
import type { PageMessage, PageReaderData } from "./page-reader.mts";

const PAGE = 5_000;

export interface ExportProgress {
  (rowsWritten: number, totalRows: number): void;
}

/** SQL for one custom property column's JSON text, typed as its slot says; NULL when the device has none. */
function slotJson(slot: Slot): string {
  switch (slot.type) {
    case "boolean":
      return `CASE a.${slot.column} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END`;
    case "date_time":
      return jsonText(`strftime('%Y-%m-%dT%H:%M:%fZ', a.${slot.column} / 1000.0, 'unixepoch')`);
    default:
      return jsonText(`a.${slot.column}`);
  }
}

/** A value as JSON text (json_quote), or NULL for a missing value, which json_quote would write as null. */
const jsonText = (value: string) => `nullif(json_quote(${value}), 'null')`;
/** `"name":value`, or NULL when the value is: concat_ws then leaves the member out. */
const member = (name: string, valueJson: string) => `${sqlString(`${JSON.stringify(name)}:`)} || ${valueJson}`;
const object = (members: string[]) => (members.length === 0 ? "'{}'" : `'{' || concat_ws(',', ${members.join(", ")}) || '}'`);
const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * The SQL for a page of the app's devices as JSON lines. SQLite writes each line: members are
 * `"name":json_quote(value)` joined with concat_ws, which skips the NULL ones — so absent values are
 * left out without json_patch, which cost more than everything else together (bench/RESULTS.md).
 * Names in the SQL are the fixed device columns and the app's own custom property names, JSON- and
 * SQL-quoted; no request value reaches it.
 */
function deviceLinesSql(devices: DeviceStore, appId: number): string {
  const line = object([
    member("install_id", "json_quote(d.install_id)"),
    member("user_id", jsonText("d.user_id")),
    member("push_channel", jsonText("d.push_channel")),
    member("push_token", jsonText("d.push_token")),
    member("properties", object(Object.entries(DEVICE_COLUMNS).map(([name, column]) => member(name, jsonText(`a.${column}`))))),
    member("custom_properties", object([...devices.slots(appId)].map(([name, slot]) => member(name, slotJson(slot))))),
    member("updated_at", `json_quote(strftime('%Y-%m-%dT%H:%M:%fZ', d.updated_at / 1000.0, 'unixepoch'))`),
  ]);
  // `+d.app_id` keeps the planner off the (app_id, install_id) index: walking the rowid from the
  // last page's id makes each page O(page), where that index made each page sort the whole app.
  return `SELECT d.id, ${line} AS line
     FROM devices d LEFT JOIN device_attributes a ON a.app_id = d.app_id AND a.device_id = d.id
     WHERE d.id > ? AND +d.app_id = ? ORDER BY d.id LIMIT ?`;
}

/** Pages asked of the reader ahead of the upload: enough to keep it busy, few enough to keep memory flat. */
const PAGES_AHEAD = 2;

/**
 * The app's devices as JSON-lines chunks, a page at a time, read by a worker thread (page-reader.mts).
 * The caller ends the worker (`worker.terminate()`) however the export ends: a generator abandoned
 * mid-way (the upload failed) never reaches its own `finally`.
 */
async function* deviceLines(worker: Worker, onPage: (rows: number) => void): AsyncGenerator<Buffer> {
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
      if ("done" in message) return;
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

function pageReader(store: Store, devices: DeviceStore, appId: number): Worker {
  const data: PageReaderData = { path: store.path, sql: deviceLinesSql(devices, appId), params: [appId], pageSize: PAGE };
  return new Worker(new URL("./page-reader.mts", import.meta.url), { workerData: data });
}

export async function exportDevices(
  store: Store,
  devices: DeviceStore,
  appId: number,
  container: ContainerClient,
  blobName: string,
  progress: ExportProgress,
): Promise<number> {
  // Kept with every device change (audience-counts.ts): no count over the app's devices on the event loop.
  const total = (store.db.prepare("SELECT device_count AS n FROM apps WHERE id = ?").get(appId) as { n: number }).n;
  let written = 0;
  progress(0, total);
  const worker = pageReader(store, devices, appId);
  const source = Readable.from(
    deviceLines(worker, (rows) => {
      written = rows;
      progress(rows, total);
    }),
  );
  try {
    // 4 MiB blocks, 4 in flight: memory stays bounded whatever the number of devices.
    await container.getBlockBlobClient(blobName).uploadStream(source, 4 * 1024 * 1024, 4, {
      blobHTTPHeaders: { blobContentType: "application/x-ndjson" },
    });
    return written;
  } finally {
    // Whatever happened to the upload, the reader thread (and its connection and pages) goes.
    source.destroy();
    await worker.terminate();
  }
}
