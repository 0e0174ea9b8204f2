// Audience sizes: counted in SQL after an audience changes or its app's devices change. An audience
// is `Calculating` until its count is stored, then `Ready` (swagger: AudienceProcessingState).
import { parseDefinition, type CustomProperties } from "../domain/index.ts";
import type { DeviceStore } from "./devices.ts";
import { compileDefinition } from "./membership.ts";
import type { AppKey, Store } from "./store.ts";

export interface AudienceCounts {
  estimated: number;
  total: number;
}

export class AudienceCounter {
  private readonly pending = new Map<string, AppKey>();
  private timer: NodeJS.Immediate | undefined;

  constructor(
    private readonly store: Store,
    private readonly devices: DeviceStore,
  ) {}

  count(key: AppKey, definition: string, customProperties: CustomProperties): AudienceCounts {
    const appId = this.store.appId(key);
    const condition = compileDefinition(parseDefinition(definition), this.devices.slots(appId), customProperties);
    const estimated = this.store.db
      .prepare(`SELECT count(*) AS n FROM device_attributes WHERE app_id = ? AND ${condition.sql}`)
      .get(appId, ...condition.params) as { n: number };
    const total = this.store.db.prepare("SELECT count(*) AS n FROM device_attributes WHERE app_id = ?").get(appId) as { n: number };
    return { estimated: estimated.n, total: total.n };
  }

  /** Install ids of the devices an audience selects, at most `limit`. */
  members(key: AppKey, definition: string, customProperties: CustomProperties, limit: number): { id: number; installId: string }[] {
    const appId = this.store.appId(key);
    const condition = compileDefinition(parseDefinition(definition), this.devices.slots(appId), customProperties);
    return this.store.db
      .prepare(
        `SELECT d.id, d.install_id AS installId FROM device_attributes a JOIN devices d ON d.id = a.device_id
         WHERE a.app_id = ? AND ${condition.sql} ORDER BY a.device_id LIMIT ?`,
      )
      .all(appId, ...condition.params, limit) as unknown as { id: number; installId: string }[];
  }

  /** The distinct external (user) ids among an audience's members, in ordered pages. */
  *memberUserIds(key: AppKey, definition: string, customProperties: CustomProperties, pageSize = 10_000): Generator<string[]> {
    const appId = this.store.appId(key);
    const condition = compileDefinition(parseDefinition(definition), this.devices.slots(appId), customProperties);
    const page = this.store.db.prepare(
      `SELECT DISTINCT d.user_id AS userId FROM device_attributes a JOIN devices d ON d.id = a.device_id
       WHERE a.app_id = ? AND ${condition.sql} AND d.user_id > ? ORDER BY d.user_id LIMIT ?`,
    );
    let after = "";
    for (;;) {
      const rows = page.all(appId, ...condition.params, after, pageSize) as unknown as { userId: string }[];
      if (rows.length === 0) return;
      after = rows.at(-1)!.userId;
      yield rows.map((r) => r.userId);
    }
  }

  /** Recounts the app's audiences soon (coalescing bursts of changes into one pass). */
  schedule(key: AppKey): void {
    this.pending.set(`${key.owner}/${key.app}`, key);
    this.timer ??= setImmediate(() => {
      this.timer = undefined;
      const apps = [...this.pending.values()];
      this.pending.clear();
      for (const app of apps) this.recount(app);
    });
  }

  /** Counts every audience of the app that is waiting for a count. */
  recount(key: AppKey): void {
    for (const audience of this.store.listAudiences(key, { includeDisabled: true, limit: 1_000_000 })) {
      if (audience.counted) continue;
      const counts = this.count(key, audience.definition, audience.customProperties);
      this.store.setAudienceCounts(key, audience.name, audience.definition, counts);
    }
  }

  close(): void {
    if (this.timer) clearImmediate(this.timer);
  }
}
