// What the store holds of one data subject, found by its identifiers, and the statements that erase
// it: devices (with their attribute rows), events, deliveries, and text that names the subject
// (notification content and targets, audience definitions and descriptions).
import { Activity } from "./activity.ts";
import { EventRollups, type RollupEvent } from "./event-rollups.ts";
import type { Query } from "../sql-worker.ts";
import type { AppKey, Store } from "../store.ts";

/** The subject as the store is searched for it: custom property values by their slot column. */
export interface SubjectQuery {
  readonly userId: string | undefined;
  readonly installIds: readonly string[];
  readonly properties: readonly { column: string; value: string }[];
}

export interface SubjectDevice {
  id: number;
  install_id: string;
  /** The user id the device carries (the subject's, whichever identifier found the device). */
  user_id: string | null;
}

export interface SubjectEventRow {
  id: number;
  install_id: string;
  type: string;
  name: string | null;
  occurred_at: number;
  notification_id: string | null;
  product_id: string | null;
  amount: number | null;
  currency: string | null;
  properties: string | null;
}

export class SubjectData {
  constructor(private readonly store: Store) {}

  /**
   * The app's devices holding one of the values in a custom property's column: a scan of the app's
   * attribute rows, so it runs on a worker thread, before the erasure's transaction.
   */
  devicesWithValueQuery(appId: number, column: string, value: string): Query<SubjectDevice[]> {
    return {
      sql: `SELECT d.id, d.install_id, d.user_id FROM device_attributes a JOIN devices d ON d.id = a.device_id WHERE a.app_id = ? AND CAST(a.${column} AS TEXT) = ?`,
      params: [appId, value],
      all: true,
    };
  }

  /**
   * The app's devices of the subject: its user id or one of its install ids (index lookups), and the
   * candidates found by value (`devicesWithValueQuery`) that still hold one of the values now.
   */
  devicesOf(appId: number, subject: SubjectQuery, candidates: readonly number[] = []): SubjectDevice[] {
    const found = new Map<number, SubjectDevice>();
    const add = (rows: unknown[]) => {
      for (const row of rows as SubjectDevice[]) found.set(row.id, row);
    };
    if (subject.userId !== undefined) add(this.store.db.prepare("SELECT id, install_id, user_id FROM devices WHERE app_id = ? AND user_id = ?").all(appId, subject.userId));
    // Install ids are UUIDs, stored as sent: each spelling is looked up on the (app_id, install_id) index.
    const byInstallId = this.store.db.prepare("SELECT id, install_id, user_id FROM devices WHERE app_id = ? AND install_id IN (?, ?, ?)");
    for (const installId of subject.installIds) add(byInstallId.all(appId, installId, installId.toLowerCase(), installId.toUpperCase()));
    for (const { column, value } of subject.properties) {
      const recheck = this.store.db.prepare(
        `SELECT d.id, d.install_id, d.user_id FROM device_attributes a JOIN devices d ON d.id = a.device_id WHERE a.app_id = ? AND a.device_id = ? AND CAST(a.${column} AS TEXT) = ?`,
      );
      for (const id of candidates) add(recheck.all(appId, id, value));
    }
    return [...found.values()].sort((a, b) => a.id - b.id);
  }

  /** The events of these install ids, oldest first (an access request's document). */
  eventsOf(appId: number, installIds: readonly string[]): SubjectEventRow[] {
    if (installIds.length === 0) return [];
    return this.store.db
      .prepare(
        `SELECT id, install_id, type, name, occurred_at, notification_id, product_id, amount, currency, properties FROM events
         WHERE app_id = ? AND install_id IN (SELECT value FROM json_each(?)) ORDER BY occurred_at, id`,
      )
      .all(appId, JSON.stringify(installIds)) as unknown as SubjectEventRow[];
  }

  /** These devices' deliveries: which notification reached which of them, with what outcome. */
  deliveriesOf(deviceIds: readonly number[]): { notification_id: string; install_id: string; outcome: string | null }[] {
    if (deviceIds.length === 0) return [];
    return this.store.db
      .prepare("SELECT notification_id, install_id, outcome FROM notification_deliveries WHERE device_id IN (SELECT value FROM json_each(?)) ORDER BY notification_id, install_id")
      .all(JSON.stringify(deviceIds)) as { notification_id: string; install_id: string; outcome: string | null }[];
  }

  /** The app's notifications with these ids. */
  notificationsById(appId: number, ids: readonly string[]): { id: string; name: string; content: string; target: string | null }[] {
    if (ids.length === 0) return [];
    return this.store.db
      .prepare("SELECT id, name, content, target FROM notifications WHERE app_id = ? AND id IN (SELECT value FROM json_each(?)) ORDER BY id")
      .all(appId, JSON.stringify(ids)) as unknown as { id: string; name: string; content: string; target: string | null }[];
  }

  /** Deletes the events of these install ids, and the KPI activity of `erasedUsers` whatever device carries them now; answers how many events. */
  deleteEvents(appId: number, installIds: readonly string[], erasedUsers: readonly string[] = []): number {
    // The series' hourly counts lose what the erased events added (aggregates then equal the events left).
    const removed = this.store.db.prepare("DELETE FROM events WHERE app_id = ? AND install_id = ? RETURNING install_id, type, name, product_id, amount, currency, occurred_at");
    const rollups = new EventRollups(this.store);
    let count = 0;
    for (const installId of installIds) {
      const rows = removed.all(appId, installId) as unknown as RollupEvent[];
      rollups.apply(appId, rows, -1);
      count += rows.length;
    }
    // Who was active when: the days nothing left supports go, and every day of an erased user.
    new Activity(this.store, rollups).recount(appId, installIds, erasedUsers);
    return count;
  }

  /** Deletes these devices' deliveries (the notifications keep their totals); answers how many. */
  deleteDeliveries(deviceIds: readonly number[]): number {
    const remove = this.store.db.prepare("DELETE FROM notification_deliveries WHERE device_id = ?");
    return deviceIds.reduce((sum, id) => sum + Number(remove.run(id).changes), 0);
  }

  /** The app's notifications whose name, content or target holds one of the texts (as stored: JSON text). */
  notificationsNaming(appId: number, texts: readonly string[]): { id: string; name: string; content: string; target: string | null }[] {
    if (texts.length === 0) return [];
    const any = texts.map(() => "(instr(name, ?) > 0 OR instr(content, ?) > 0 OR instr(coalesce(target, ''), ?) > 0)").join(" OR ");
    return this.store.db
      .prepare(`SELECT id, name, content, target FROM notifications WHERE app_id = ? AND (${any})`)
      .all(appId, ...texts.flatMap((text) => [text, text, text])) as unknown as { id: string; name: string; content: string; target: string | null }[];
  }

  rewriteNotification(id: string, fields: { name: string; content: string; target: string | null }): void {
    this.store.db.prepare("UPDATE notifications SET name = ?, content = ?, target = ? WHERE id = ?").run(fields.name, fields.content, fields.target, id);
  }

  /** The app's audiences whose definition or description holds one of the texts. */
  audiencesNaming(key: AppKey, texts: readonly string[]): { name: string; definition: string; description: string | null }[] {
    if (texts.length === 0) return [];
    const any = texts.map(() => "(instr(definition, ?) > 0 OR instr(coalesce(description, ''), ?) > 0)").join(" OR ");
    return this.store.db
      .prepare(`SELECT name, definition, description FROM audiences WHERE owner_name = ? AND app_name = ? AND (${any})`)
      .all(key.owner, key.app, ...texts.flatMap((text) => [text, text])) as unknown as { name: string; definition: string; description: string | null }[];
  }

  rewriteAudienceDescription(key: AppKey, name: string, description: string): void {
    this.store.db.prepare("UPDATE audiences SET description = ? WHERE owner_name = ? AND app_name = ? AND name = ?").run(description, key.owner, key.app, name);
  }
}
