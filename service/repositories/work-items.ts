// Background work items: each unit of work with its lease (holder, expiry), attempts, generation and next-attempt time.
import type { Store } from "../store.ts";

export interface WorkItemRow {
  id: number;
  kind: string;
  key: string;
  app_id: number | null;
  payload: string;
  state: string;
  run_at: number;
  attempts: number;
  max_attempts: number;
  generation: number;
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
}

/** Statements that settle an item change it only while `owner` still holds its lease. */
const HELD = "id = ? AND locked_by = ?";
/** Due: pending, its time come, its lease free or expired (its holder died or stalled), of a kind this process runs. */
const DUE = "state = 'pending' AND run_at <= ? AND (locked_until IS NULL OR locked_until < ?) AND kind IN (SELECT value FROM json_each(?))";

export class WorkItems {
  constructor(private readonly store: Store) {}

  /**
   * Adds an item, or makes the existing one of the same kind and key pending and due again with the
   * new payload, its attempts reset and its generation moved on (a run under way then runs again).
   */
  upsert(item: { kind: string; key: string; appId: number | null; payload: string; runAt: number; maxAttempts: number }, now: number): void {
    this.store.db
      .prepare(
        `INSERT INTO work_items (kind, key, app_id, payload, state, run_at, max_attempts, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)
         ON CONFLICT (kind, key) DO UPDATE SET payload = excluded.payload, state = 'pending', run_at = excluded.run_at,
           attempts = 0, max_attempts = excluded.max_attempts, generation = generation + 1, last_error = NULL, updated_at = excluded.updated_at`,
      )
      .run(item.kind, item.key, item.appId, item.payload, item.runAt, item.maxAttempts, now, now);
  }

  /** Removes an item unless its lease is held as of `now`; answers whether it is gone. */
  deleteUnlessHeld(kind: string, key: string, now: number): boolean {
    const result = this.store.db.prepare("DELETE FROM work_items WHERE kind = ? AND key = ? AND (locked_until IS NULL OR locked_until < ?)").run(kind, key, now);
    return Number(result.changes) > 0;
  }

  find(kind: string, key: string): WorkItemRow | undefined {
    return this.store.db.prepare("SELECT * FROM work_items WHERE kind = ? AND key = ?").get(kind, key) as WorkItemRow | undefined;
  }

  /** An app's items (of one state, if given), oldest first, at most 1,000. */
  ofApp(appId: number, state?: string): WorkItemRow[] {
    return this.store.db
      .prepare(`SELECT * FROM work_items WHERE app_id = ? ${state ? "AND state = ?" : ""} ORDER BY id LIMIT 1000`)
      .all(...(state ? [appId, state] : [appId])) as unknown as WorkItemRow[];
  }

  /**
   * Claims at most `limit` due items of `kinds` for `owner` until `leaseUntil`, counting an attempt
   * each. One statement: SQLite runs it under the write lock, so two processes never claim one item.
   */
  claim(claim: { owner: string; leaseUntil: number; kinds: readonly string[]; limit: number }, now: number): WorkItemRow[] {
    return this.store.db
      .prepare(
        `UPDATE work_items SET locked_by = ?, locked_until = ?, attempts = attempts + 1, updated_at = ?
         WHERE id IN (SELECT id FROM work_items WHERE ${DUE} ORDER BY run_at LIMIT ?)
         RETURNING *`,
      )
      .all(claim.owner, claim.leaseUntil, now, now, now, JSON.stringify(claim.kinds), claim.limit) as unknown as WorkItemRow[];
  }

  /** Due items of `kinds`: pending with their time before `horizon`, their lease free as of `now`. */
  countDue(kinds: readonly string[], horizon: number, now: number): number {
    return (this.store.db.prepare(`SELECT count(*) AS n FROM work_items WHERE ${DUE}`).get(horizon, now, JSON.stringify(kinds)) as { n: number }).n;
  }

  /** Extends the lease `owner` holds; answers false when it holds it no more. */
  renewLease(id: number, owner: string, until: number): boolean {
    const renewed = this.store.db.prepare(`UPDATE work_items SET locked_until = ? WHERE ${HELD}`).run(until, id, owner);
    return Number(renewed.changes) > 0;
  }

  /** Hands a held item back at once, the attempt under way not counted. */
  release(id: number, owner: string): void {
    this.store.db.prepare(`UPDATE work_items SET locked_by = NULL, locked_until = NULL, attempts = max(attempts - 1, 0) WHERE ${HELD}`).run(id, owner);
  }

  /** Recurring work done for now: due again at `runAt`, attempts and error cleared. */
  runAgainAt(id: number, owner: string, runAt: number, now: number): void {
    this.store.db
      .prepare(`UPDATE work_items SET run_at = ?, attempts = 0, last_error = NULL, locked_by = NULL, locked_until = NULL, updated_at = ? WHERE ${HELD}`)
      .run(runAt, now, id, owner);
  }

  /** Done: removed, unless it was enqueued again while running (its generation moved on): then released, due for another run. */
  finish(id: number, owner: string, generation: number, now: number): void {
    const removed = this.store.db.prepare(`DELETE FROM work_items WHERE ${HELD} AND generation = ?`).run(id, owner, generation);
    if (Number(removed.changes) === 0) this.store.db.prepare(`UPDATE work_items SET locked_by = NULL, locked_until = NULL, updated_at = ? WHERE ${HELD}`).run(now, id, owner);
  }

  /** Failed and out of attempts: set aside (dead) with the reason. */
  setAside(id: number, owner: string, reason: string, now: number): void {
    this.store.db
      .prepare(`UPDATE work_items SET state = 'dead', last_error = ?, locked_by = NULL, locked_until = NULL, updated_at = ? WHERE ${HELD}`)
      .run(reason, now, id, owner);
  }

  /** Failed with attempts left: released with the reason, due again at `runAt`. */
  retryAt(id: number, owner: string, runAt: number, reason: string, now: number): void {
    this.store.db
      .prepare(`UPDATE work_items SET run_at = ?, last_error = ?, locked_by = NULL, locked_until = NULL, updated_at = ? WHERE ${HELD}`)
      .run(runAt, reason, now, id, owner);
  }
}
