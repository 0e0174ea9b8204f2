// A worker thread that runs read-only SQL on its own connection, so queries whose cost grows with the
// data (full audience counts, reports, property value scans) never hold up the service's event loop.
// Each request is a list of statements answered from one snapshot (one read transaction). Erasable-only
// TypeScript that Node runs as is (type stripping; .mts so it loads as a module without a reparse).
import { DatabaseSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";

export interface SqlStatement {
  sql: string;
  params: (string | number | null)[];
  /** Every row (default: the first row only). */
  all?: boolean;
}

export interface SqlRequest {
  id: number;
  statements: SqlStatement[];
}

export type SqlResponse = { id: number; results: unknown[] } | { id: number; error: string };

if (parentPort) {
  const port = parentPort;
  const db = new DatabaseSync((workerData as { path: string }).path, { readOnly: true });
  db.exec("PRAGMA mmap_size = 1073741824; PRAGMA busy_timeout = 5000;");
  port.on("message", ({ id, statements }: SqlRequest) => {
    try {
      db.exec("BEGIN");
      try {
        const results = statements.map((s) => (s.all ? db.prepare(s.sql).all(...s.params) : db.prepare(s.sql).get(...s.params)));
        port.postMessage({ id, results } satisfies SqlResponse);
      } finally {
        db.exec("COMMIT");
      }
    } catch (error) {
      port.postMessage({ id, error: (error as Error).message } satisfies SqlResponse);
    }
  });
}
