// The KPIs' activity (repositories/activity.ts) recorded behind ingestion: events are written
// without it — ingestion keeps its speed — and a background item, or any KPI read first, records
// the activity of the events after the last one recorded, in id order, a chunk per transaction.
// Recording is idempotent (a user's day is a member of a set), so an erasure's recount, a second
// process and a catch-up may meet in any order; a KPI read therefore always counts every event in.
import { setImmediate as nextTurn } from "node:timers/promises";
import { Activity } from "./repositories/activity.ts";
import { EventRollups } from "./repositories/event-rollups.ts";
import type { Runner } from "./runner.ts";
import type { Store } from "./store.ts";

const CATCH_UP = "kpi.activity";
/**
 * Events per transaction: large enough that per-chunk work is noise, small enough that a chunk holds
 * the event loop and the writer lock for a few tens of milliseconds (about 6 µs an event).
 */
export const ACTIVITY_CHUNK_EVENTS = 10_000;

export class KpiActivity {
  private readonly activity: Activity;
  /** The catch-up under way in this process, which every reader and the background item share. */
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly runner: Runner,
  ) {
    this.activity = new Activity(store, new EventRollups(store));
    runner.register<Record<string, never>>(CATCH_UP, {
      run: async (_payload, context) => this.catchUp(context.signal),
      maxAttempts: 10,
    });
  }

  /** Events arrived (called in the ingesting transaction): the background item records their activity soon. */
  eventsArrived(): void {
    this.runner.enqueue(CATCH_UP, "all");
  }

  /**
   * Records every event's activity not recorded yet (before a KPI is read), a chunk at a time with
   * the event loop free in between: a backlog of millions (a bulk import) keeps this caller waiting,
   * never the other requests or the runner's leases.
   */
  catchUp(signal?: AbortSignal): Promise<void> {
    if (!this.running) {
      const running = this.recordPending(signal).finally(() => {
        if (this.running === running) this.running = undefined;
      });
      this.running = running;
    }
    return this.running;
  }

  private async recordPending(signal: AbortSignal | undefined): Promise<void> {
    while (this.chunk()) {
      signal?.throwIfAborted();
      await nextTurn();
    }
  }

  /** Records the next chunk of events in one transaction; answers whether there may be more. */
  private chunk(): boolean {
    return this.store.transaction(() => this.activity.recordNext(ACTIVITY_CHUNK_EVENTS));
  }
}
