// A worker thread that reads export pages from its own read-only SQLite connection, so building
// the next page's lines (the SQL is most of an export's CPU) runs beside the upload on the main
// thread instead of between its writes. Erasable-only TypeScript that Node runs as is (type
// stripping; .mts so it loads as a module without a reparse): Node's worker loader runs it, not tsx or vitest.
import { DatabaseSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";
import { identifiersOfRecord } from "../../domain/exported-record.mts";
import { SubjectFilterBuilder } from "./subject-filter.mts";

export interface PageReaderData {
  /** The database file. */
  path: string;
  /** Selects `id` and `line` for rows after the first parameter, with the rest of `params`, ascending by id. */
  sql: string;
  params: (string | number)[];
  pageSize: number;
  /** When set, each line's identifiers go into a subject filter under this key, answered with the end. */
  filterKey?: string;
}

/** One page: its lines as UTF-8 (the buffer is transferred, not copied), or the end. */
export type PageMessage = { bytes: Uint8Array; rows: number } | { done: true; filter?: Uint8Array } | { error: string };

if (parentPort) {
  const port = parentPort;
  const { path, sql, params, pageSize, filterKey } = workerData as PageReaderData;
  const filter = filterKey === undefined ? undefined : new SubjectFilterBuilder(filterKey);
  const db = new DatabaseSync(path, { readOnly: true });
  db.exec("PRAGMA mmap_size = 1073741824; PRAGMA busy_timeout = 5000;");
  const page = db.prepare(sql);
  const encoder = new TextEncoder();
  let after = 0;
  let done = false;
  // One page per "next": the main thread asks only as far ahead as it wants to buffer.
  port.on("message", () => {
    try {
      const rows = done ? [] : (page.all(after, ...params, pageSize) as unknown as { id: number; line: string }[]);
      if (rows.length === 0) {
        port.postMessage({ done: true, ...(filter ? { filter: filter.build() } : {}) } satisfies PageMessage);
        if (!done) db.close();
        done = true;
        return;
      }
      after = rows.at(-1)!.id;
      if (filter) for (const row of rows) filter.add(identifiersOfRecord(JSON.parse(row.line)));
      const bytes = encoder.encode(`${rows.map((row) => row.line).join("\n")}\n`);
      port.postMessage({ bytes, rows: rows.length } satisfies PageMessage, [bytes.buffer]);
    } catch (error) {
      port.postMessage({ error: (error as Error).message } satisfies PageMessage);
    }
  });
}
