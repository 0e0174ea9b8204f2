// Continuous export configurations: a sealed storage connection string, a state, and how far events are exported.
import type { Store } from "../store.ts";

export type ExportConfigurationState = "Enabled" | "Disabled" | "Pending" | "Deleted" | "Invalid";

export interface ExportConfigurationRow {
  id: string;
  app_id: number;
  type: string;
  connection_sealed: string;
  export_entities: string;
  resource_name: string | null;
  resource_group: string | null;
  state: ExportConfigurationState;
  state_info: string | null;
  creation_time: number;
  last_run_time: number | null;
  exported_until: number;
}

export class ExportConfigurations {
  constructor(private readonly store: Store) {}

  /** Records a configuration Pending, created now and exporting from now on. */
  insert(configuration: Pick<ExportConfigurationRow, "id" | "app_id" | "type" | "connection_sealed" | "export_entities" | "resource_name" | "resource_group">): void {
    const now = Date.now();
    this.store.db
      .prepare(
        `INSERT INTO export_configurations (id, app_id, type, connection_sealed, export_entities, resource_name, resource_group, state, creation_time, exported_until)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'Pending', ?, ?)`,
      )
      .run(
        configuration.id,
        configuration.app_id,
        configuration.type,
        configuration.connection_sealed,
        configuration.export_entities,
        configuration.resource_name,
        configuration.resource_group,
        now,
        now,
      );
  }

  find(id: string): ExportConfigurationRow | undefined {
    return this.store.db.prepare("SELECT * FROM export_configurations WHERE id = ?").get(id) as ExportConfigurationRow | undefined;
  }

  findInApp(appId: number, id: string): ExportConfigurationRow | undefined {
    return this.store.db.prepare("SELECT * FROM export_configurations WHERE id = ? AND app_id = ?").get(id, appId) as ExportConfigurationRow | undefined;
  }

  /** The app's configurations, oldest first. */
  ofApp(appId: number): ExportConfigurationRow[] {
    return this.store.db.prepare("SELECT * FROM export_configurations WHERE app_id = ? ORDER BY creation_time").all(appId) as unknown as ExportConfigurationRow[];
  }

  /** Every configuration of any app that exports (Enabled, or Pending its first export). */
  exporting(): { id: string; app_id: number }[] {
    return this.store.db.prepare("SELECT id, app_id FROM export_configurations WHERE state IN ('Enabled', 'Pending')").all() as unknown as { id: string; app_id: number }[];
  }

  /** Changes the account and entities; a new account (`pending`) makes the configuration Pending. */
  update(id: string, change: Pick<ExportConfigurationRow, "connection_sealed" | "export_entities"> & { pending: boolean }): void {
    this.store.db
      .prepare("UPDATE export_configurations SET connection_sealed = ?, export_entities = ?, state = CASE WHEN ? THEN 'Pending' ELSE state END WHERE id = ?")
      .run(change.connection_sealed, change.export_entities, change.pending ? 1 : 0, id);
  }

  /** Sets the state and clears the reason of the last one. */
  setState(id: string, state: ExportConfigurationState): void {
    this.store.db.prepare("UPDATE export_configurations SET state = ?, state_info = NULL WHERE id = ?").run(state, id);
  }

  delete(appId: number, id: string): boolean {
    return Number(this.store.db.prepare("DELETE FROM export_configurations WHERE id = ? AND app_id = ?").run(id, appId).changes) > 0;
  }

  /** Records an export up to `until`, making the configuration Enabled, unless it stopped exporting meanwhile; answers whether it did. */
  recordExport(id: string, until: number): boolean {
    const updated = this.store.db
      .prepare("UPDATE export_configurations SET state = 'Enabled', state_info = NULL, last_run_time = ?, exported_until = ? WHERE id = ? AND state IN ('Enabled', 'Pending')")
      .run(until, until, id);
    return Number(updated.changes) > 0;
  }

  /** Makes the configuration Invalid with the reason. */
  invalidate(id: string, reason: string): void {
    this.store.db.prepare("UPDATE export_configurations SET state = 'Invalid', state_info = ? WHERE id = ?").run(reason, id);
  }
}
