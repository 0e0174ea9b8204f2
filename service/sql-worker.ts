// Read-only SQL off the event loop: a small pool of worker threads (sql-worker-thread.mts), each with
// its own connection. A request answers every statement from one snapshot; a request whose caller
// gives up (abort) ends its thread, which is replaced, since SQLite cannot be interrupted from here.
import { Worker } from "node:worker_threads";
import type { SqlResponse, SqlStatement } from "./sql-worker-thread.mts";

export type { SqlStatement };

declare const answer: unique symbol;
/**
 * A statement typed with what it answers (its first row, or every row with `all`): repositories
 * build these, the orchestration hands them to the pool, and `run` answers each with its type.
 */
export type Query<Answer> = SqlStatement & { readonly [answer]?: Answer };
type AnswerOf<S> = S extends Query<infer A> ? A : unknown;

interface Slot {
  worker: Worker;
  waiting: Map<number, { resolve: (results: unknown[]) => void; reject: (error: Error) => void }>;
}

export class SqlWorkers {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly size = 2,
  ) {}

  private spawn(): Slot {
    const worker = new Worker(new URL("./sql-worker-thread.mts", import.meta.url), { workerData: { path: this.path } });
    const slot: Slot = { worker, waiting: new Map() };
    // An idle pool must not keep the process alive.
    worker.unref();
    worker.on("message", (message: SqlResponse) => {
      const waiter = slot.waiting.get(message.id);
      slot.waiting.delete(message.id);
      if ("error" in message) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.results);
    });
    const fail = (error: Error) => {
      this.slots.splice(this.slots.indexOf(slot) >>> 0, 1);
      for (const waiter of slot.waiting.values()) waiter.reject(error);
      slot.waiting.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the SQL worker stopped (exit code ${code})`)));
    return slot;
  }

  /** The least busy thread, starting one while the pool is not full. */
  private pick(): Slot {
    const idle = this.slots.find((s) => s.waiting.size === 0);
    if (idle) return idle;
    if (this.slots.length < this.size) {
      const slot = this.spawn();
      this.slots.push(slot);
      return slot;
    }
    return this.slots.reduce((a, b) => (b.waiting.size < a.waiting.size ? b : a));
  }

  /** Runs the statements in one read transaction on a worker thread; answers a result per statement. */
  run<const S extends readonly SqlStatement[]>(statements: S, signal?: AbortSignal): Promise<{ -readonly [K in keyof S]: AnswerOf<S[K]> }> {
    if (this.closed) return Promise.reject(new Error("the SQL workers are closed"));
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const slot = this.pick();
    const id = this.nextId++;
    const answers = new Promise<unknown[]>((resolve, reject) => {
      const onAbort = () => void slot.worker.terminate();
      signal?.addEventListener("abort", onAbort, { once: true });
      slot.waiting.set(id, {
        resolve: (results) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(results);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(signal?.aborted ? (signal.reason as Error) : error);
        },
      });
      slot.worker.ref();
      slot.worker.postMessage({ id, statements });
    }).finally(() => {
      if (slot.waiting.size === 0) slot.worker.unref();
    });
    // The thread answers each statement as its Query type says (rows are plain objects from SQLite).
    return answers as Promise<{ -readonly [K in keyof S]: AnswerOf<S[K]> }>;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }
}
