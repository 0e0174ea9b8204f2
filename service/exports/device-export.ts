// App Center device export: every device of the app as JSON lines (each row a JSON object, the file
// as a whole not JSON: seeds, Export Push Data), streamed from the store to a block blob in pages,
// never held whole in memory.
import { Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import type { DeviceStore } from "../devices.ts";
import { DEVICE_COLUMNS, type Slot } from "../devices.ts";
import type { Store } from "../store.ts";

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
const object = (members: string[]) => `'{' || concat_ws(',', ${members.join(", ")}) || '}'`;
const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * The app's devices, a page at a time, as JSON-lines chunks. SQLite writes each line: members are
 * `"name":json_quote(value)` joined with concat_ws, which skips the NULL ones — so absent values are
 * left out without json_patch, which cost more than everything else together (bench/RESULTS.md).
 * Names in the SQL are the fixed device columns and the app's own custom property names, JSON- and
 * SQL-quoted; no request value reaches it.
 */
function* deviceLines(store: Store, devices: DeviceStore, appId: number, onPage: (rows: number) => void): Generator<string> {
  const line = object([
    member("install_id", "json_quote(d.install_id)"),
    member("user_id", jsonText("d.user_id")),
    member("push_channel", jsonText("d.push_channel")),
    member("push_token", jsonText("d.push_token")),
    member("properties", object(Object.entries(DEVICE_COLUMNS).map(([name, column]) => member(name, jsonText(`a.${column}`))))),
    member("custom_properties", object([...devices.slots(appId)].map(([name, slot]) => member(name, slotJson(slot))))),
    member("updated_at", `json_quote(strftime('%Y-%m-%dT%H:%M:%fZ', d.updated_at / 1000.0, 'unixepoch'))`),
  ]);
  const page = store.db.prepare(
    `SELECT d.id, ${line} AS line
     FROM devices d LEFT JOIN device_attributes a ON a.app_id = d.app_id AND a.device_id = d.id
     WHERE d.id > ? AND +d.app_id = ? ORDER BY d.id LIMIT ?`,
  );
  // `+d.app_id` keeps the planner off the (app_id, install_id) index: walking the rowid from the
  // last page's id makes each page O(page), where that index made each page sort the whole app.
  let after = 0;
  let written = 0;
  for (;;) {
    const rows = page.all(after, appId, PAGE) as unknown as { id: number; line: string }[];
    if (rows.length === 0) return;
    written += rows.length;
    after = rows.at(-1)!.id;
    onPage(written);
    yield `${rows.map((r) => r.line).join("\n")}\n`;
  }
}

export async function exportDevices(
  store: Store,
  devices: DeviceStore,
  appId: number,
  container: ContainerClient,
  blobName: string,
  progress: ExportProgress,
): Promise<number> {
  const total = (store.db.prepare("SELECT count(*) AS n FROM devices WHERE app_id = ?").get(appId) as { n: number }).n;
  let written = 0;
  progress(0, total);
  const source = Readable.from(
    deviceLines(store, devices, appId, (rows) => {
      written = rows;
      progress(rows, total);
    }),
  );
  // 4 MiB blocks, 4 in flight: memory stays bounded whatever the number of devices.
  await container.getBlockBlobClient(blobName).uploadStream(source, 4 * 1024 * 1024, 4, {
    blobHTTPHeaders: { blobContentType: "application/x-ndjson" },
  });
  return written;
}
