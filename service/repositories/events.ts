// Analytics events: read a page at a time for the continuous and raw event exports, summed per user
// for user exports, per campaign (its opens and the purchases after them) and per hour for a
// segment's members (the Braze series that cannot come from the rollups).
import { DAY_MS, HOUR_MS } from "../../domain/index.ts";
import type { SqlCondition } from "../membership.ts";
import type { Query } from "../sql-worker.ts";
import { sqlFloorDiv } from "../sql.ts";
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

  /**
   * A campaign's opens in [from, to) per UTC day and push channel — the channel its delivery to the
   * device went out on, else the device's own — with how many devices opened; read through the
   * notification's index, never other events.
   */
  campaignOpens(appId: number, notificationId: string, from: number, to: number): { day: number; channel: string | null; opens: number; devices: number }[] {
    return this.store.db
      .prepare(
        `SELECT ${sqlFloorDiv("e.occurred_at", DAY_MS)} AS day, coalesce(nd.channel, d.push_channel) AS channel, count(*) AS opens, count(DISTINCT e.install_id) AS devices
         FROM events e INDEXED BY events_by_notification
                       LEFT JOIN devices d ON d.app_id = e.app_id AND d.install_id = e.install_id
                       LEFT JOIN notification_deliveries nd ON nd.notification_id = e.notification_id AND nd.device_id = d.id
         WHERE e.app_id = ? AND e.notification_id = ? AND e.occurred_at >= ? AND e.occurred_at < ? GROUP BY 1, 2`,
      )
      .all(appId, notificationId, from, to) as unknown as { day: number; channel: string | null; opens: number; devices: number }[];
  }

  /**
   * Each device's first purchase within `windowMs` after its first open of a campaign at or after
   * `sentAt` (its conversion): the openers from the notification's index, then each opener's own
   * events (the planner, left to itself, scans the app's events by time instead).
   */
  campaignConversions(appId: number, notificationId: string, sentAt: number, windowMs: number): { occurred_at: number; amount: number | null; currency: string | null }[] {
    if (!Number.isFinite(sentAt)) return [];
    return this.store.db
      .prepare(
        `WITH openers AS (SELECT install_id, min(occurred_at) AS opened FROM events INDEXED BY events_by_notification
                          WHERE app_id = ? AND notification_id = ? AND occurred_at >= ? GROUP BY install_id),
              purchases AS (SELECT p.occurred_at, p.amount, p.currency, row_number() OVER (PARTITION BY o.install_id ORDER BY p.occurred_at, p.id) AS nth
                            FROM openers o CROSS JOIN events p INDEXED BY events_by_device ON p.app_id = ? AND p.install_id = o.install_id
                            WHERE p.type = 'purchase' AND p.occurred_at >= o.opened AND p.occurred_at < o.opened + ?)
         SELECT occurred_at, amount, currency FROM purchases WHERE nth = 1`,
      )
      .all(appId, notificationId, sentAt, appId, windowMs) as unknown as { occurred_at: number; amount: number | null; currency: string | null }[];
  }

  /**
   * Per hour in [from, to), the events of one type (and name) of the devices matching a condition
   * now (a segment's members): read through each member's events (the planner, left to itself,
   * scans the window's events once per member), for a worker thread.
   */
  membersHourlyQuery(appId: number, condition: SqlCondition, type: string, name: string | undefined, from: number, to: number): Query<{ hour: number; count: number }[]> {
    return {
      sql: `SELECT ${sqlFloorDiv("e.occurred_at", HOUR_MS)} AS hour, count(*) AS count
            FROM device_attributes a JOIN devices d ON d.id = a.device_id CROSS JOIN events e INDEXED BY events_by_device ON e.app_id = a.app_id AND e.install_id = d.install_id
            WHERE a.app_id = ? AND ${condition.sql} AND e.type = ? ${name === undefined ? "" : "AND e.name = ?"} AND e.occurred_at >= ? AND e.occurred_at < ?
            GROUP BY 1`,
      params: [appId, ...condition.params, type, ...(name === undefined ? [] : [name]), from, to],
      all: true,
    };
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
