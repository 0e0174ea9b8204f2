// Who was active on which UTC day, for the Braze KPIs (README: "What the KPIs count"): a user is the
// user id the event's device carried when the event arrived, or the device itself without one; any
// event but an uninstall is activity. The activity is recorded behind ingestion (kpi-activity.ts),
// so a device that gets, changes or loses its user id while some of its events wait has those
// events pinned to the key they arrived under first (store.ts: activity_pins' triggers) — what the
// KPIs say never depends on when the background got to them. One row per (user, day) in
// `user_activity`; each row added or removed moves three daily counts in the rollups — `active`
// (DAU), `new_user` (the user's first day moves) and `mau_delta`, a difference array whose running
// total is the number of users active in the 30 days ending with a day (MAU) — so every KPI reads at
// most a few hundred small rows.
import { DAY_MS } from "../../domain/index.ts";
import { RollupSums, type EventRollups } from "./event-rollups.ts";
import { sqlFloorDiv } from "../sql.ts";
import type { Store } from "../store.ts";

/** MAU's rolling window (seeds: Braze export: "a 30 day rolling window"). */
export const MAU_WINDOW_DAYS = 30;
/** Every event type but an uninstall is the user doing something (a condition on `events` aliased e). */
const IS_ACTIVITY = "e.type != 'uninstall'";


export class Activity {
  constructor(
    private readonly store: Store,
    private readonly rollups: EventRollups,
  ) {}

  /**
   * Records the activity of the next events after the last recorded (activity_progress), at most
   * `limit` of them, and moves the progress past them; answers whether there were any. Joins the
   * caller's transaction.
   */
  recordNext(limit: number): boolean {
    const { recorded_through: from } = this.store.db.prepare("SELECT recorded_through FROM activity_progress").get() as { recorded_through: number };
    const { upTo } = this.store.db.prepare("SELECT max(id) AS upTo FROM (SELECT id FROM events WHERE id > ? ORDER BY id LIMIT ?)").get(from, limit) as { upTo: number | null };
    if (upTo === null) return false;
    // Each device's days in the chunk, distinct (SQLite folds a device's events of a day into one
    // row), under the key an event was pinned to, else its device's user now, else the device.
    const active = this.store.db
      .prepare(
        `SELECT g.app_id, coalesce(g.pinned, 'user:' || d.user_id, 'install:' || g.install_id) AS user_key, g.day
         FROM (SELECT e.app_id, e.install_id, p.user_key AS pinned, ${sqlFloorDiv("e.occurred_at", DAY_MS)} AS day
               FROM events e LEFT JOIN activity_pins p ON p.event_id = e.id
               WHERE e.id > ? AND e.id <= ? AND ${IS_ACTIVITY} GROUP BY 1, 2, 3, 4) g
         LEFT JOIN devices d ON d.app_id = g.app_id AND d.install_id = g.install_id`,
      )
      .all(from, upTo) as { app_id: number; user_key: string; day: number }[];
    const byApp = new Map<number, Map<string, Set<number>>>();
    for (const { app_id: appId, user_key: user, day } of active) {
      let daysOf = byApp.get(appId);
      if (!daysOf) byApp.set(appId, (daysOf = new Map()));
      let days = daysOf.get(user);
      if (!days) daysOf.set(user, (days = new Set()));
      days.add(day);
    }
    for (const [appId, daysOf] of byApp) this.recordUserDays(appId, daysOf);
    this.store.db.prepare("DELETE FROM activity_pins WHERE event_id <= ?").run(upTo);
    this.store.db.prepare("UPDATE activity_progress SET recorded_through = ?").run(upTo);
    return true;
  }

  /** Records that these users were active on these days (joins the caller's transaction). */
  private recordUserDays(appId: number, daysOf: ReadonlyMap<string, ReadonlySet<number>>): void {
    const recordedOf = new Map<string, number[]>();
    const known = this.store.db
      .prepare("SELECT user_key, day FROM user_activity WHERE app_id = ? AND user_key IN (SELECT value FROM json_each(?)) ORDER BY user_key, day")
      .all(appId, JSON.stringify([...daysOf.keys()])) as { user_key: string; day: number }[];
    for (const row of known) {
      const recorded = recordedOf.get(row.user_key);
      if (recorded) recorded.push(row.day);
      else recordedOf.set(row.user_key, [row.day]);
    }
    const added: [string, number][] = [];
    const deltas = new RollupSums();
    // Each new day moves the counts as if added alone, in order, against the days recorded before it.
    for (const [user, days] of daysOf) {
      const recorded = recordedOf.get(user) ?? [];
      for (const day of [...days].sort((a, b) => a - b)) {
        const at = sortedIndex(recorded, day);
        if (recorded[at] === day) continue;
        added.push([user, day]);
        moved(day, at > 0 ? recorded[at - 1]! : null, at < recorded.length ? recorded[at]! : null, 1, deltas);
        recorded.splice(at, 0, day);
      }
    }
    if (added.length > 0) {
      // In key order: each insert lands next to the one before, in pages already at hand.
      added.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
      this.store.db.prepare("INSERT INTO user_activity (app_id, user_key, day) SELECT ?, value ->> 0, value ->> 1 FROM json_each(?)").run(appId, JSON.stringify(added));
    }
    this.rollups.write(appId, deltas);
  }

  /**
   * After these devices' events are erased: forgets each day of the devices' users, and of the
   * devices themselves (the days they had no user id), that no recorded event left in the store
   * supports — an event of a device that carries the key now — and every day of `forgottenUsers` (an
   * erased subject's user ids, whatever device carries them now). Days are only ever taken away
   * here, never moved to another user: a user a device carried before keeps what it had on it.
   */
  recount(appId: number, installIds: readonly string[], forgottenUsers: readonly string[] = []): void {
    const userOf = this.userKeys(appId, installIds);
    const forgotten = new Set(forgottenUsers.map((userId) => `user:${userId}`));
    const keys = new Set([...installIds.flatMap((installId) => [userOf(installId), `install:${installId}`]), ...forgotten]);
    const deltas = new RollupSums();
    const recordedDays = this.store.db.prepare("SELECT day FROM user_activity WHERE app_id = ? AND user_key = ? ORDER BY day");
    const removeDay = this.store.db.prepare("DELETE FROM user_activity WHERE app_id = ? AND user_key = ? AND day = ?");
    // The events still waiting are recorded by the catch-up, under the key they arrived with.
    const supportedDays = this.store.db.prepare(
      `SELECT DISTINCT ${sqlFloorDiv("e.occurred_at", DAY_MS)} AS day FROM events e LEFT JOIN devices d ON d.app_id = e.app_id AND d.install_id = e.install_id
       WHERE e.app_id = ? AND (d.user_id = ? OR (e.install_id = ? AND d.user_id IS NULL)) AND ${IS_ACTIVITY}
         AND e.id <= (SELECT recorded_through FROM activity_progress)`,
    );
    for (const key of keys) {
      const recorded = (recordedDays.all(appId, key) as { day: number }[]).map((row) => row.day);
      const [userId, installId] = key.startsWith("user:") ? [key.slice("user:".length), ""] : ["", key.slice("install:".length)];
      const supported = forgotten.has(key) ? new Set<number>() : new Set((supportedDays.all(appId, userId, installId) as { day: number }[]).map((row) => row.day));
      // Latest first: each day leaves against its neighbours still recorded.
      for (let at = recorded.length - 1; at >= 0; at--) {
        const day = recorded[at]!;
        if (supported.has(day)) continue;
        moved(day, at > 0 ? recorded[at - 1]! : null, at + 1 < recorded.length ? recorded[at + 1]! : null, -1, deltas);
        recorded.splice(at, 1);
        removeDay.run(appId, key, day);
      }
    }
    this.rollups.write(appId, deltas);
  }

  /** A function from install id to user key (the device's user id, or the device), for these install ids: one lookup for all. */
  private userKeys(appId: number, installIds: readonly string[]): (installId: string) => string {
    const rows = this.store.db
      .prepare("SELECT install_id, user_id FROM devices WHERE app_id = ? AND user_id IS NOT NULL AND install_id IN (SELECT value FROM json_each(?))")
      .all(appId, JSON.stringify([...new Set(installIds)])) as { install_id: string; user_id: string }[];
    const users = new Map(rows.map((row) => [row.install_id, `user:${row.user_id}`]));
    return (installId) => users.get(installId) ?? `install:${installId}`;
  }
}

/** Where `day` goes in an ascending list (the index of the first element not below it). */
function sortedIndex(days: readonly number[], day: number): number {
  let [low, high] = [0, days.length];
  while (low < high) {
    const middle = (low + high) >> 1;
    if (days[middle]! < day) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * The counts one (user, day) row moves, added (sign 1) or removed (−1), given the user's nearest
 * other days: DAU that day; the user's first day (new users) when it is or was the earliest; and the
 * days only this one covers in MAU — [day, day+29] less what the days before and after cover.
 */
function moved(day: number, prev: number | null, next: number | null, sign: 1 | -1, deltas: RollupSums): void {
  // A day's counts are kept on its first hour.
  const onDay = (kind: "active" | "new_user" | "mau_delta", on: number, count: number) => deltas.add(kind, "", on * 24, count, 0);
  onDay("active", day, sign);
  if (prev === null) {
    onDay("new_user", day, sign);
    if (next !== null) onDay("new_user", next, -sign);
  }
  const from = prev === null ? day : Math.max(day, prev + MAU_WINDOW_DAYS);
  const to = next === null ? day + MAU_WINDOW_DAYS - 1 : Math.min(day + MAU_WINDOW_DAYS - 1, next - 1);
  if (from <= to) {
    onDay("mau_delta", from, sign);
    onDay("mau_delta", to + 1, -sign);
  }
}
