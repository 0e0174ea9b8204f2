// The one supervised runner for background work: every unit of work (an export run, a notification's
// delivery, an audience recount, a retention sweep, a report) is an item in the store with a lease,
// attempts and a next-attempt time. Several processes on one store claim items through the store, so
// nothing runs twice; an error is caught, recorded on the item and retried with backoff; an item that
// keeps failing is set aside (dead) where its status route shows it. No error in background work
// can end the process.
import { randomUUID } from "node:crypto";
import { redactSecrets } from "./outbound.ts";
import type { WorkItemRow, WorkItems } from "./repositories/work-items.ts";

/** What a handler answers: nothing (the item is done) or when to run it again (recurring work). */
export type WorkOutcome = void | { readonly again: number };

export interface WorkContext {
  readonly itemId: number;
  /** 1 on the first attempt. */
  readonly attempt: number;
  /** Aborted when the item's time is up or this process no longer holds its lease. */
  readonly signal: AbortSignal;
}

export interface WorkKind<P> {
  run(payload: P, context: WorkContext): Promise<WorkOutcome>;
  /** Called once when the item is set aside after its last failed attempt (record it where users look). */
  dead?(payload: P, reason: string): void;
  /** Attempts before the item is set aside; default 5. */
  readonly maxAttempts?: number;
  /** How long one attempt may take before it is aborted and counted as failed; default 10 minutes. */
  readonly timeoutMs?: number;
}

export interface RunnerOptions {
  /** How long a claim lasts without a heartbeat; another process takes the item back after that. */
  leaseMs?: number;
  /** How often due items are looked for. */
  pollMs?: number;
  /** Items run at once by this process, so one tenant's slow work never holds up another's. */
  concurrency?: number;
  /** First retry delay; doubles per attempt (with jitter), capped at `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface WorkItemView {
  id: number;
  kind: string;
  key: string;
  state: "pending" | "running" | "dead";
  attempts: number;
  max_attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
}

const DEFAULTS = { leaseMs: 30_000, pollMs: 250, concurrency: 8, backoffMs: 1_000, maxBackoffMs: 300_000 } as const;
const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_TIMEOUT_MS = 600_000;

/** Stored error reasons are sentences for people: bounded, and never carrying a secret. */
const reasonOf = (error: unknown): string => redactSecrets(error instanceof Error ? error.message : String(error)).slice(0, 1_000);

export class Runner {
  /** This process's name on its leases. */
  readonly owner = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly kinds = new Map<string, WorkKind<unknown>>();
  private readonly options: Required<RunnerOptions>;
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly aborts = new Map<number, AbortController>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  constructor(
    private readonly items: WorkItems,
    options: RunnerOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<RunnerOptions>;
  }

  register<P>(kind: string, handler: WorkKind<P>): void {
    this.kinds.set(kind, handler as WorkKind<unknown>);
  }

  /**
   * Adds an item, or makes an existing one of the same kind and key due again (with the new payload).
   * Synchronous SQL, so it joins the caller's transaction: the work is recorded with what caused it.
   * An item already running is marked for another run after this one (its generation moves on).
   */
  enqueue(kind: string, key: string, options: { appId?: number | null; payload?: unknown; runAt?: number; maxAttempts?: number } = {}): void {
    const now = Date.now();
    this.items.upsert(
      {
        kind,
        key,
        appId: options.appId ?? null,
        payload: JSON.stringify(options.payload ?? {}),
        runAt: options.runAt ?? now,
        maxAttempts: options.maxAttempts ?? this.kinds.get(kind)?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      },
      now,
    );
    this.kick();
  }

  /** Removes an item unless a process is running it now; answers whether it is gone. */
  cancel(kind: string, key: string): boolean {
    return this.items.deleteUnlessHeld(kind, key, Date.now());
  }

  item(kind: string, key: string): WorkItemView | undefined {
    const row = this.items.find(kind, key);
    return row ? this.view(row) : undefined;
  }

  /** An app's pending, running and dead items (the status route for background work). */
  itemsOf(appId: number, state?: "pending" | "dead"): WorkItemView[] {
    return this.items.ofApp(appId, state).map((row) => this.view(row));
  }

  private view(row: WorkItemRow): WorkItemView {
    const running = row.state === "pending" && row.locked_until !== null && row.locked_until >= Date.now();
    return {
      id: row.id,
      kind: row.kind,
      key: row.key,
      state: running ? "running" : (row.state as "pending" | "dead"),
      attempts: row.attempts,
      max_attempts: row.max_attempts,
      next_attempt_at: row.state === "pending" ? new Date(row.run_at).toISOString() : null,
      last_error: row.last_error,
    };
  }

  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.kick(), this.options.pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Looks for due items now (after an enqueue, or when a slot frees up). Never throws. */
  kick(): void {
    if (!this.timer || this.closed || this.polling) return;
    this.polling = true;
    // On the next turn: an enqueue inside a transaction is only visible once it commits.
    setImmediate(() => {
      try {
        this.poll();
      } catch (error) {
        // The store itself failed (busy beyond its timeout, disk full): the next poll tries again.
        process.emitWarning(`background runner: polling failed: ${reasonOf(error)}`);
      } finally {
        this.polling = false;
      }
    });
  }

  /** Claims due items, up to the free slots, and starts them. */
  private poll(): void {
    const free = this.options.concurrency - this.inFlight.size;
    if (free <= 0 || this.closed) return;
    const now = Date.now();
    // A claim takes a due item whose lease is free or expired (its holder died or stalled); two
    // processes never claim one item (work-items.ts).
    const claimed = this.items.claim({ owner: this.owner, leaseUntil: now + this.options.leaseMs, kinds: [...this.kinds.keys()], limit: free }, now);
    for (const row of claimed) {
      // Its earlier holders died with it (a crash takes no chance to record a failure): past its
      // attempts it is set aside here, or a poison item would take down every process in turn.
      if (row.attempts > row.max_attempts) {
        this.settle({ ...row, attempts: row.attempts - 1 }, this.kinds.get(row.kind)!, {
          ok: false,
          error: new Error(`the process running it stopped before it finished, ${row.attempts - 1} times`),
        });
        continue;
      }
      const work = this.execute(row).finally(() => {
        this.inFlight.delete(row.id);
        this.kick();
      });
      this.inFlight.set(row.id, work);
    }
  }

  private async execute(row: WorkItemRow): Promise<void> {
    const kind = this.kinds.get(row.kind)!;
    const timeoutMs = kind.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const abort = new AbortController();
    this.aborts.set(row.id, abort);
    let lost = false;
    const heartbeat = setInterval(() => {
      try {
        if (!this.items.renewLease(row.id, this.owner, Date.now() + this.options.leaseMs)) {
          lost = true;
          abort.abort(new Error("this process lost the item's lease"));
        }
      } catch {
        // A busy store: the lease has time left; the next beat tries again.
      }
    }, Math.max(50, Math.floor(this.options.leaseMs / 3)));
    const deadline = setTimeout(() => abort.abort(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    let outcome: { ok: true; value: WorkOutcome } | { ok: false; error: unknown };
    try {
      const running = kind.run(JSON.parse(row.payload) as unknown, { itemId: row.id, attempt: row.attempts, signal: abort.signal });
      // A handler that ignores its signal still ends the attempt when the signal fires.
      const aborted = new Promise<never>((_, reject) => abort.signal.addEventListener("abort", () => reject(abort.signal.reason as Error), { once: true }));
      aborted.catch(() => {});
      outcome = { ok: true, value: await Promise.race([running, aborted]) };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      clearInterval(heartbeat);
      clearTimeout(deadline);
      this.aborts.delete(row.id);
    }
    if (lost) return; // whoever holds the lease now owns the outcome
    if (this.closed) {
      // Stopped by shutdown, not failed: hand the item back at once, the attempt not counted.
      try {
        this.items.release(row.id, this.owner);
      } catch {
        // The lease expires on its own.
      }
      return;
    }
    try {
      this.settle(row, kind, outcome);
    } catch (error) {
      // Could not record the outcome: the lease expires and the item runs again.
      process.emitWarning(`background runner: recording ${row.kind} ${row.key} failed: ${reasonOf(error)}`);
    }
  }

  private settle(row: WorkItemRow, kind: WorkKind<unknown>, outcome: { ok: true; value: WorkOutcome } | { ok: false; error: unknown }): void {
    const now = Date.now();
    if (outcome.ok) {
      if (outcome.value) {
        this.items.runAgainAt(row.id, this.owner, outcome.value.again, now);
        return;
      }
      // Done: gone, unless it was enqueued again while running (then it stays, due, for another run).
      this.items.finish(row.id, this.owner, row.generation, now);
      return;
    }
    const reason = reasonOf(outcome.error);
    if (row.attempts >= row.max_attempts) {
      this.items.setAside(row.id, this.owner, reason, now);
      try {
        kind.dead?.(JSON.parse(row.payload) as unknown, `gave up after ${row.attempts} attempts: ${reason}`);
      } catch (error) {
        process.emitWarning(`background runner: recording ${row.kind} ${row.key} as failed failed: ${reasonOf(error)}`);
      }
      return;
    }
    const delay = Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** (row.attempts - 1));
    const jittered = Math.round(delay / 2 + Math.random() * (delay / 2));
    this.items.retryAt(row.id, this.owner, now + jittered, reason, now);
  }

  /**
   * Resolves when no item is running in this process and none is due within `horizonMs` — retries
   * backing off included, recurring work hours away not (tests, scripts).
   */
  async idle(timeoutMs = 60_000, horizonMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      await Promise.allSettled([...this.inFlight.values()]);
      const now = Date.now();
      const due = this.items.countDue([...this.kinds.keys()], now + horizonMs, now);
      if (this.inFlight.size === 0 && (due === 0 || this.closed || !this.timer)) return;
      if (Date.now() > until) throw new Error(`background work still running after ${timeoutMs} ms`);
      this.kick();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops claiming, aborts the items under way and hands them back (another process, or the next start, resumes them). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const abort of this.aborts.values()) abort.abort(new Error("the service is stopping"));
    await Promise.allSettled([...this.inFlight.values()]);
  }
}
