// Device change images: changed devices' attribute rows before and after each write, until every count took them in.
import type { SqlCondition } from "../membership.ts";
import type { Query } from "../sql-worker.ts";
import type { Store } from "../store.ts";

export class DeviceChanges {
  constructor(private readonly store: Store) {}

  /** Copies the devices' attribute rows as they are now, as change `seq`'s 'b'efore or 'a'fter images; answers the rows copied. */
  capture(appId: number, seq: number, phase: "b" | "a", deviceIds: readonly number[]): number {
    const copied = this.store.db
      .prepare(
        `INSERT INTO device_change_images SELECT ?, ?, * FROM device_attributes
         WHERE app_id = ? AND device_id IN (SELECT value FROM json_each(?))`,
      )
      .run(seq, phase, appId, JSON.stringify(deviceIds));
    return Number(copied.changes);
  }

  /** Members gained minus lost, under `condition`, among the changes after `afterSeq` up to `upTo`. */
  movedQuery(appId: number, condition: SqlCondition, afterSeq: number, upTo: number): Query<{ moved: number }> {
    return {
      sql: `SELECT coalesce(sum(CASE phase WHEN 'a' THEN 1 ELSE -1 END), 0) AS moved FROM device_change_images
            WHERE app_id = ? AND seq > ? AND seq <= ? AND coalesce((${condition.sql}), 0)`,
      params: [appId, afterSeq, upTo, ...condition.params],
    };
  }

  /** Whether images up to `seq` are still there (the moves that take them in have not run yet). */
  anyThrough(appId: number, seq: number): boolean {
    return this.store.db.prepare("SELECT 1 FROM device_change_images WHERE app_id = ? AND seq <= ? LIMIT 1").get(appId, seq) !== undefined;
  }

  /**
   * Drops at most `limit` of the images up to `seq`, which every audience has taken in; answers
   * whether any are left (a 100,000-device body leaves 200,000: deleted at once, 220 ms of event loop).
   */
  dropThrough(appId: number, seq: number, limit: number): boolean {
    const dropped = this.store.db
      .prepare("DELETE FROM device_change_images WHERE rowid IN (SELECT rowid FROM device_change_images WHERE app_id = ? AND seq <= ? LIMIT ?)")
      .run(appId, seq, limit);
    return Number(dropped.changes) === limit;
  }
}
