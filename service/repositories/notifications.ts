// Notifications with their per-device deliveries and outcomes, and the outbox of a store from before the runner.
import type { NotificationState } from "../../domain/index.ts";
import type { Delivery } from "../notifications.ts";
import type { Store } from "../store.ts";
import type { DeviceTarget } from "./device-reads.ts";

export interface NotificationRow {
  id: string;
  app_id: number;
  name: string;
  content: string;
  target: string | null;
  state: NotificationState;
  send_time: number;
  pns_send_success: number;
  pns_send_failure: number;
  /** 1 once archived (swagger Push_Delete). */
  archived: number;
}

/** A delivery whose outcome is not recorded yet, with its device's push channel and token as they are now. */
export type PendingDelivery = Delivery & { deviceId: number };

/** What a list of notifications may be ordered by, and the SQL it orders on. */
export const NOTIFICATION_ORDER_COLUMNS = { send_time: "send_time", name: "name", count: "(pns_send_success + pns_send_failure)" } as const;
export type NotificationOrderColumn = keyof typeof NOTIFICATION_ORDER_COLUMNS;

export class Notifications {
  constructor(private readonly store: Store) {}

  /** Stores a notification and a delivery per target device (outcome not yet known); joins the caller's transaction. */
  insert(notification: Pick<NotificationRow, "id" | "app_id" | "name" | "content" | "target" | "state" | "send_time">, targets: readonly DeviceTarget[]): void {
    this.store.db
      .prepare("INSERT INTO notifications (id, app_id, name, content, target, state, send_time) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(notification.id, notification.app_id, notification.name, notification.content, notification.target, notification.state, notification.send_time);
    const insert = this.store.db.prepare("INSERT INTO notification_deliveries (notification_id, device_id, install_id) VALUES (?, ?, ?)");
    for (const target of targets) insert.run(notification.id, target.id, target.installId);
  }

  /** Empties the outbox of a store from before the runner, answering what it held. */
  takeOutbox(): { id: string; appId: number }[] {
    return this.store.db.prepare("DELETE FROM notification_outbox RETURNING notification_id AS id, app_id AS appId").all() as unknown as { id: string; appId: number }[];
  }

  find(id: string): NotificationRow | undefined {
    return this.store.db.prepare("SELECT * FROM notifications WHERE id = ?").get(id) as NotificationRow | undefined;
  }

  findInApp(appId: number, id: string): NotificationRow | undefined {
    return this.store.db.prepare("SELECT * FROM notifications WHERE id = ? AND app_id = ?").get(id, appId) as NotificationRow | undefined;
  }

  /** Marks a notification Sending, unless it already ended. */
  markSending(id: string): void {
    this.store.db.prepare("UPDATE notifications SET state = 'Sending' WHERE id = ? AND state IN ('Queued', 'Sending')").run(id);
  }

  /** The first `limit` deliveries without an outcome, by device id. */
  pendingDeliveries(id: string, limit: number): PendingDelivery[] {
    return this.store.db
      .prepare(
        `SELECT nd.device_id AS deviceId, nd.install_id AS installId, d.push_channel AS channel, d.push_token AS token
         FROM notification_deliveries nd LEFT JOIN devices d ON d.id = nd.device_id
         WHERE nd.notification_id = ? AND nd.outcome IS NULL ORDER BY nd.device_id LIMIT ?`,
      )
      .all(id, limit) as unknown as PendingDelivery[];
  }

  /** Records one device's outcome ("Success" or the failure reason) and the push channel it went to, once. */
  recordOutcome(id: string, deviceId: number, outcome: string, channel: string | null): void {
    this.store.db
      .prepare("UPDATE notification_deliveries SET outcome = ?, channel = ? WHERE notification_id = ? AND device_id = ? AND outcome IS NULL")
      .run(outcome, channel, id, deviceId);
  }

  /** Gives every delivery without an outcome the outcome DeliveryFailed, on the channel its device has (a campaign's bounces count per channel). */
  failUndelivered(id: string): void {
    this.store.db
      .prepare(
        `UPDATE notification_deliveries SET outcome = 'DeliveryFailed', channel = (SELECT d.push_channel FROM devices d WHERE d.id = notification_deliveries.device_id)
         WHERE notification_id = ? AND outcome IS NULL`,
      )
      .run(id);
  }

  /** Deliveries that succeeded and that failed. */
  outcomeCounts(id: string): { success: number; failure: number } {
    const counts = this.store.db
      .prepare("SELECT sum(outcome = 'Success') AS success, sum(outcome != 'Success') AS failure FROM notification_deliveries WHERE notification_id = ?")
      .get(id) as { success: number | null; failure: number | null };
    return { success: counts.success ?? 0, failure: counts.failure ?? 0 };
  }

  settle(id: string, state: NotificationState, counts: { success: number; failure: number }): void {
    this.store.db.prepare("UPDATE notifications SET state = ?, pns_send_success = ?, pns_send_failure = ? WHERE id = ?").run(state, counts.success, counts.failure, id);
  }

  /** Failure reasons and how many devices each, most frequent first. */
  failureOutcomes(id: string): { failure_reason: string; count: number }[] {
    return this.store.db
      .prepare(
        `SELECT outcome AS failure_reason, count(*) AS count FROM notification_deliveries
         WHERE notification_id = ? AND outcome IS NOT NULL AND outcome != 'Success' GROUP BY outcome ORDER BY count DESC`,
      )
      .all(id) as unknown as { failure_reason: string; count: number }[];
  }

  /**
   * A page ordered by (order column, id), strictly after `after`, at most `limit` (-1: all); each row
   * carries its order column's value (`order_key`) for the next page's `after`.
   */
  page(
    appId: number,
    options: { column: NotificationOrderColumn; descending: boolean; after?: [string | number, string] | undefined; includeArchived: boolean; limit: number },
  ): (NotificationRow & { order_key: string | number })[] {
    const column = NOTIFICATION_ORDER_COLUMNS[options.column];
    const direction = options.descending ? "DESC" : "ASC";
    const comparison = options.descending ? "<" : ">";
    const params: (string | number)[] = [appId];
    let where = "app_id = ?";
    if (!options.includeArchived) where += " AND archived = 0";
    if (options.after) {
      where += ` AND (${column}, id) ${comparison} (?, ?)`;
      params.push(...options.after);
    }
    return this.store.db
      .prepare(`SELECT *, ${column} AS order_key FROM notifications WHERE ${where} ORDER BY ${column} ${direction}, id ${direction} LIMIT ?`)
      .all(...params, options.limit) as unknown as (NotificationRow & { order_key: string | number })[];
  }

  count(appId: number, includeArchived: boolean): number {
    return (this.store.db.prepare(`SELECT count(*) AS n FROM notifications WHERE app_id = ? ${includeArchived ? "" : "AND archived = 0"}`).get(appId) as { n: number }).n;
  }

  /** The app's notifications newest first (Braze's campaign list), a page at a time; archived ones only when asked. */
  newestFirst(appId: number, options: { includeArchived: boolean; offset: number; limit: number }): NotificationRow[] {
    return this.store.db
      .prepare(`SELECT * FROM notifications WHERE app_id = ? ${options.includeArchived ? "" : "AND archived = 0"} ORDER BY send_time DESC, id DESC LIMIT ? OFFSET ?`)
      .all(appId, options.limit, options.offset) as unknown as NotificationRow[];
  }

  /** Per push channel, the deliveries that succeeded and that failed (a delivery to a device without one has none). */
  outcomesByChannel(id: string): { channel: string; sent: number; bounces: number }[] {
    return this.store.db
      .prepare(
        `SELECT channel, sum(outcome = 'Success') AS sent, sum(outcome != 'Success') AS bounces FROM notification_deliveries
         WHERE notification_id = ? AND outcome IS NOT NULL AND channel IS NOT NULL GROUP BY channel ORDER BY channel`,
      )
      .all(id) as unknown as { channel: string; sent: number; bounces: number }[];
  }

  /** Archives the app's notifications with these ids; answers how many. */
  archive(appId: number, ids: readonly string[]): number {
    return Number(this.store.db.prepare("UPDATE notifications SET archived = 1 WHERE app_id = ? AND id IN (SELECT value FROM json_each(?))").run(appId, JSON.stringify(ids)).changes);
  }
}
