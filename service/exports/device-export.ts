// App Center device export: every device of the app as JSON lines (each row a JSON object, the file
// as a whole not JSON: seeds, Export Push Data), streamed from the store to a block blob in pages,
// never held whole in memory.
import { Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import type { DeviceStore } from "../devices.ts";
import { DEVICE_COLUMNS } from "../devices.ts";
import type { Store } from "../store.ts";

const PAGE = 5_000;

export interface ExportProgress {
  (rowsWritten: number, totalRows: number): void;
}

/** The app's devices, a page at a time, as JSON-lines chunks. */
function* deviceLines(store: Store, devices: DeviceStore, appId: number, onPage: (rows: number) => void): Generator<string> {
  const slots = [...devices.slots(appId)];
  const propertyColumns = Object.entries(DEVICE_COLUMNS);
  const page = store.db.prepare(
    `SELECT d.id, d.install_id, d.user_id, d.push_channel, d.push_token, d.updated_at, a.*
     FROM devices d LEFT JOIN device_attributes a ON a.app_id = d.app_id AND a.device_id = d.id
     WHERE d.id > ? AND +d.app_id = ? ORDER BY d.id LIMIT ?`,
  );
  // `+d.app_id` keeps the planner off the (app_id, install_id) index: walking the rowid from the
  // last page's id makes each page O(page), where that index made each page sort the whole app.
  let after = 0;
  let written = 0;
  for (;;) {
    const rows = page.all(after, appId, PAGE) as unknown as Record<string, string | number | null>[];
    if (rows.length === 0) return;
    let chunk = "";
    for (const row of rows) {
      const properties: Record<string, string | number> = {};
      for (const [name, column] of propertyColumns) if (row[column] != null) properties[name] = row[column]!;
      const custom: Record<string, unknown> = {};
      for (const [name, slot] of slots) {
        const value = row[slot.column];
        if (value == null) continue;
        custom[name] = slot.type === "boolean" ? value === 1 : slot.type === "date_time" ? new Date(Number(value)).toISOString() : value;
      }
      chunk +=
        JSON.stringify({
          install_id: row.install_id,
          user_id: row.user_id ?? undefined,
          push_channel: row.push_channel ?? undefined,
          push_token: row.push_token ?? undefined,
          properties,
          custom_properties: custom,
          updated_at: new Date(Number(row.updated_at)).toISOString(),
        }) + "\n";
    }
    written += rows.length;
    after = Number(rows.at(-1)!.id);
    onPage(written);
    yield chunk;
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
