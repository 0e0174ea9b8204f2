// Apps: each owner/app's numeric id (created on first use) and the counters every device change moves.
import type { Query } from "../sql-worker.ts";
import type { AppKey, Store } from "../store.ts";

export class Apps {
  constructor(private readonly store: Store) {}

  /** The app's numeric id, created on first use. */
  id(key: AppKey): number {
    const found = this.store.db.prepare("SELECT id FROM apps WHERE owner_name = ? AND app_name = ?").get(key.owner, key.app) as { id: number } | undefined;
    if (found) return found.id;
    return Number(this.store.db.prepare("INSERT INTO apps (owner_name, app_name) VALUES (?, ?)").run(key.owner, key.app).lastInsertRowid);
  }

  /** The owner and name of an app known by its id. */
  key(appId: number): AppKey {
    return this.store.db.prepare("SELECT owner_name AS owner, app_name AS app FROM apps WHERE id = ?").get(appId) as unknown as AppKey;
  }

  /** The app's devices, kept with every device change: no count over its devices is needed. */
  deviceCountQuery(appId: number): Query<{ n: number }> {
    return { sql: "SELECT device_count AS n FROM apps WHERE id = ?", params: [appId] };
  }

  deviceCount(appId: number): number {
    return this.onThisConnection(this.deviceCountQuery(appId)).n;
  }

  /** The sequence number of the app's newest device change. */
  lastDeviceChangeQuery(appId: number): Query<{ seq: number }> {
    return { sql: "SELECT device_seq AS seq FROM apps WHERE id = ?", params: [appId] };
  }

  lastDeviceChange(appId: number): number {
    return this.onThisConnection(this.lastDeviceChangeQuery(appId)).seq;
  }

  /** Records a write transaction's device changes: its sequence number, and the devices it added (or removed, negative). */
  recordDeviceChanges(appId: number, seq: number, devicesDelta: number): void {
    this.store.db.prepare("UPDATE apps SET device_seq = ?, device_count = device_count + ? WHERE id = ?").run(seq, devicesDelta, appId);
  }

  /** Runs a query the worker pool could run, here on the store's own connection (inside the caller's transaction). */
  private onThisConnection<A>(query: Query<A>): A {
    return this.store.db.prepare(query.sql).get(...query.params) as A;
  }
}
