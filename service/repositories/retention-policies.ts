// Retention policies per app and container: the list+delete SAS (sealed), the days kept, the last sweep's outcome.
import type { Store } from "../store.ts";

export interface RetentionPolicyRow {
  app_id: number;
  container_url: string;
  sas_sealed: string;
  sas_expires_at: number | null;
  retention_days: number;
  last_sweep_at: number | null;
  last_sweep_deleted: number;
  last_sweep_error: string | null;
}

export class RetentionPolicies {
  constructor(private readonly store: Store) {}

  find(appId: number, container: string): RetentionPolicyRow | undefined {
    return this.store.db.prepare("SELECT * FROM retention_policies WHERE app_id = ? AND container_url = ?").get(appId, container) as RetentionPolicyRow | undefined;
  }

  /** Every policy of every app. */
  all(): RetentionPolicyRow[] {
    return this.store.db.prepare("SELECT * FROM retention_policies").all() as unknown as RetentionPolicyRow[];
  }

  /** Registers a container's retention, or replaces its grant and retention (its last sweep stays). */
  put(policy: Pick<RetentionPolicyRow, "app_id" | "container_url" | "sas_sealed" | "sas_expires_at" | "retention_days">): void {
    this.store.db
      .prepare(
        `INSERT INTO retention_policies (app_id, container_url, sas_sealed, sas_expires_at, retention_days) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (app_id, container_url) DO UPDATE SET sas_sealed = excluded.sas_sealed, sas_expires_at = excluded.sas_expires_at,
           retention_days = excluded.retention_days`,
      )
      .run(policy.app_id, policy.container_url, policy.sas_sealed, policy.sas_expires_at, policy.retention_days);
  }

  delete(appId: number, container: string): boolean {
    return Number(this.store.db.prepare("DELETE FROM retention_policies WHERE app_id = ? AND container_url = ?").run(appId, container).changes) > 0;
  }

  recordSweep(appId: number, container: string, sweep: { at: number; deleted: number; error: string | null }): void {
    this.store.db
      .prepare("UPDATE retention_policies SET last_sweep_at = ?, last_sweep_deleted = ?, last_sweep_error = ? WHERE app_id = ? AND container_url = ?")
      .run(sweep.at, sweep.deleted, sweep.error, appId, container);
  }
}
