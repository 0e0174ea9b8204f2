// Analytics events: read a page at a time for the continuous and raw event exports, and summed per user for user exports.
import type { Store } from "../store.ts";

export interface EventRow {
  id: number;
  type: string;
  name: string | null;
  occurred_at: number;
  install_id: string;
  notification_id: string | null;
  product_id: string | null;
  amount: number | null;
  currency: string | null;
  properties: string | null;
}

/** An event with the external (user) id of its device, if the device is known and has one. */
export type EventWithUserRow = EventRow & { user_id: string | null };

/** One user's events of one type and name: how many, first and last time. */
export interface UserActivityRow {
  user_id: string;
  type: string;
  name: string | null;
  first: number;
  last: number;
  count: number;
}

export class Events {
  constructor(private readonly store: Store) {}

  /** The app's events in [from, until), ordered by time, in pages of at most `pageSize`. */
  *byTime(appId: number, from: number, until: number, pageSize: number): Generator<EventRow[]> {
    const page = this.store.db.prepare(
      `SELECT id, type, name, occurred_at, install_id, notification_id, product_id, amount, currency, properties FROM events
       WHERE app_id = ? AND occurred_at >= ? AND occurred_at < ? AND (occurred_at, id) > (?, ?) ORDER BY occurred_at, id LIMIT ?`,
    );
    // Keyset pagination from just before the window: (from - 1, max) precedes every event at or after `from`.
    let after: [number, number] = [from - 1, Number.MAX_SAFE_INTEGER];
    for (;;) {
      const events = page.all(appId, Math.max(after[0], from), until, ...after, pageSize) as unknown as EventRow[];
      if (events.length === 0) return;
      const last = events.at(-1)!;
      after = [last.occurred_at, last.id];
      yield events;
    }
  }

  /** The app's events in [from, to) with their devices' user ids, ordered by id, in pages of at most `pageSize`. */
  *withUsersById(appId: number, from: number, to: number, pageSize: number): Generator<EventWithUserRow[]> {
    const page = this.store.db.prepare(
      `SELECT e.*, d.user_id FROM events e LEFT JOIN devices d ON d.app_id = e.app_id AND d.install_id = e.install_id
       WHERE e.app_id = ? AND e.occurred_at >= ? AND e.occurred_at < ? AND e.id > ? ORDER BY e.id LIMIT ?`,
    );
    let after = 0;
    for (;;) {
      const batch = page.all(appId, from, to, after, pageSize) as unknown as EventWithUserRow[];
      if (batch.length === 0) return;
      after = batch.at(-1)!.id;
      yield batch;
    }
  }

  /** The custom events, purchases and sessions of these external (user) ids' devices, per user, type and name. */
  activityOfUsers(appId: number, userIds: readonly string[]): UserActivityRow[] {
    return this.store.db
      .prepare(
        `SELECT d.user_id AS user_id, e.type, coalesce(e.name, e.product_id) AS name, min(e.occurred_at) AS first, max(e.occurred_at) AS last, count(*) AS count
         FROM events e JOIN devices d ON d.app_id = e.app_id AND d.install_id = e.install_id
         WHERE e.app_id = ? AND d.user_id IN (SELECT value FROM json_each(?)) AND e.type IN ('custom', 'purchase', 'session_start')
         GROUP BY d.user_id, e.type, coalesce(e.name, e.product_id)`,
      )
      .all(appId, JSON.stringify(userIds)) as unknown as UserActivityRow[];
  }
}
