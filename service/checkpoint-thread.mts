// A worker thread that checkpoints the store's write-ahead log on a connection of its own. SQLite
// otherwise checkpoints inside whichever commit crosses the threshold, copying and syncing a thousand
// pages on the service's event loop: 18 ms at p99 and up to 290 ms per commit while devices were
// ingested (bench/RESULTS.md). Erasable-only TypeScript that Node runs as is.
import { DatabaseSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";

export interface CheckpointJob {
  path: string;
  intervalMs: number;
}

if (parentPort) {
  const { path, intervalMs } = workerData as CheckpointJob;
  const db = new DatabaseSync(path);
  db.exec("PRAGMA busy_timeout = 1000;");
  // PASSIVE: copies what no reader still needs and never makes a writer or a reader wait.
  const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
  // A failure ends the thread (an uncaught error), and the store goes back to checkpointing on commit.
  setInterval(() => checkpoint.get(), intervalMs);
}
