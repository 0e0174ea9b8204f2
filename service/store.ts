// The service's embedded store: one SQLite file (node:sqlite, no native addon), migrated on open.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { LIMITS, type AudienceState, type PropertyType } from "../domain/index.ts";

/**
 * Custom properties live in columns c1…cN assigned per app on first sight (devices.ts). The columns
 * have no declared type: SQLite keeps each value's own (text, number, 0/1, epoch ms) and the slot
 * registry records which type a column holds in an app. Few columns keep rows short: every column
 * costs a header byte even when NULL, and audience counts scan these rows.
 */
const slotColumns = Array.from({ length: LIMITS.customPropertiesPerApp.value }, (_, i) => `c${i + 1}`).join(", ");

/** Schema versions, applied in order inside one transaction each; PRAGMA user_version records progress. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE api_tokens (
     id TEXT PRIMARY KEY,
     token_hash TEXT NOT NULL UNIQUE,
     owner_name TEXT NOT NULL,
     app_name TEXT NOT NULL,
     description TEXT NOT NULL DEFAULT '',
     created_at TEXT NOT NULL
   );
   CREATE TABLE audiences (
     owner_name TEXT NOT NULL,
     app_name TEXT NOT NULL,
     name TEXT NOT NULL,
     definition TEXT NOT NULL,
     description TEXT,
     enabled INTEGER NOT NULL,
     custom_properties TEXT NOT NULL,
     estimated_count INTEGER NOT NULL DEFAULT 0,
     estimated_total_count INTEGER NOT NULL DEFAULT 0,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (owner_name, app_name, name)
   );`,
  // The data plane: apps, devices with typed property columns, custom property slots, events.
  `CREATE TABLE apps (id INTEGER PRIMARY KEY, owner_name TEXT NOT NULL, app_name TEXT NOT NULL, UNIQUE (owner_name, app_name));
   ALTER TABLE audiences ADD COLUMN state TEXT NOT NULL DEFAULT 'Ready';
   CREATE TABLE custom_property_slots (
     app_id INTEGER NOT NULL REFERENCES apps (id),
     name TEXT NOT NULL,
     type TEXT NOT NULL,
     slot INTEGER NOT NULL,
     PRIMARY KEY (app_id, name),
     UNIQUE (app_id, slot)
   );
   CREATE TABLE devices (
     id INTEGER PRIMARY KEY,
     app_id INTEGER NOT NULL,
     install_id TEXT NOT NULL,
     user_id TEXT,
     push_channel TEXT,
     push_token TEXT,
     updated_at INTEGER NOT NULL,
     UNIQUE (app_id, install_id)
   );
   -- What audiences filter on, apart from identity and push columns and clustered by app: audience
   -- counts scan only these short rows of one app (bench/RESULTS.md).
   CREATE TABLE device_attributes (
     app_id INTEGER NOT NULL,
     device_id INTEGER NOT NULL,
     app_version TEXT, carrier_country TEXT, device_os_version TEXT, os_api_level INTEGER, os_version TEXT,
     model TEXT, locale TEXT, oem_name TEXT, screen_size TEXT,
     ${slotColumns},
     PRIMARY KEY (app_id, device_id)
   ) WITHOUT ROWID;
   CREATE INDEX devices_by_user ON devices (app_id, user_id) WHERE user_id IS NOT NULL;
   CREATE TABLE events (
     id INTEGER PRIMARY KEY,
     app_id INTEGER NOT NULL,
     install_id TEXT NOT NULL,
     type TEXT NOT NULL,
     name TEXT,
     occurred_at INTEGER NOT NULL,
     notification_id TEXT,
     product_id TEXT, amount REAL, currency TEXT,
     properties TEXT
   );
   CREATE INDEX events_by_time ON events (app_id, occurred_at);
   CREATE INDEX events_by_device ON events (app_id, install_id);`,
  // Notifications, their per-device deliveries, the outbox the dispatcher drains, push credentials.
  `CREATE TABLE notifications (
     id TEXT PRIMARY KEY,
     app_id INTEGER NOT NULL,
     name TEXT NOT NULL,
     content TEXT NOT NULL,
     target TEXT,
     state TEXT NOT NULL,
     send_time INTEGER NOT NULL,
     pns_send_success INTEGER NOT NULL DEFAULT 0,
     pns_send_failure INTEGER NOT NULL DEFAULT 0,
     archived INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX notifications_by_time ON notifications (app_id, send_time, id);
   CREATE TABLE notification_deliveries (
     notification_id TEXT NOT NULL,
     device_id INTEGER NOT NULL,
     install_id TEXT NOT NULL,
     outcome TEXT,
     PRIMARY KEY (notification_id, device_id)
   ) WITHOUT ROWID;
   CREATE TABLE notification_outbox (notification_id TEXT PRIMARY KEY, app_id INTEGER NOT NULL, enqueued_at INTEGER NOT NULL);
   CREATE TABLE push_configs (app_id INTEGER PRIMARY KEY, type TEXT NOT NULL, public_fields TEXT NOT NULL, secret_ciphertext TEXT NOT NULL, secret_fingerprint TEXT NOT NULL, updated_at INTEGER NOT NULL);`,
  // Exports: jobs (one-off or cron) with their SAS URL sealed, and every run with its progress.
  `CREATE TABLE export_jobs (
     id TEXT PRIMARY KEY,
     app_id INTEGER NOT NULL,
     kind TEXT NOT NULL,
     schedule TEXT,
     sas_sealed TEXT NOT NULL,
     prefix TEXT NOT NULL DEFAULT '',
     next_run_at INTEGER,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX export_jobs_due ON export_jobs (next_run_at) WHERE next_run_at IS NOT NULL;
   CREATE TABLE export_runs (
     id TEXT PRIMARY KEY,
     app_id INTEGER NOT NULL,
     job_id TEXT,
     kind TEXT NOT NULL,
     state TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     finished_at INTEGER,
     rows_written INTEGER NOT NULL DEFAULT 0,
     total_rows INTEGER,
     blob_name TEXT,
     error TEXT
   );
   CREATE INDEX export_runs_by_job ON export_runs (job_id, started_at);`,
  // CloudKit-style data export tokens: stored as hashes, the value is shown once.
  `CREATE TABLE data_export_tokens (
     id TEXT PRIMARY KEY,
     app_id INTEGER NOT NULL,
     token_hash TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL,
     description TEXT,
     bundle_id TEXT NOT NULL,
     dataset TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     created_at INTEGER NOT NULL
   );`,
  // Retention: containers whose export blobs the service deletes once older than the retention,
  // through a list+delete SAS their owner granted for that purpose only.
  `CREATE TABLE retention_policies (
     app_id INTEGER NOT NULL,
     container_url TEXT NOT NULL,
     sas_sealed TEXT NOT NULL,
     sas_expires_at INTEGER,
     retention_days INTEGER NOT NULL,
     last_sweep_at INTEGER,
     last_sweep_deleted INTEGER NOT NULL DEFAULT 0,
     last_sweep_error TEXT,
     PRIMARY KEY (app_id, container_url)
   );`,
  // Export kinds with options (segment exports: segment, format, fields, callback).
  `ALTER TABLE export_jobs ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
   ALTER TABLE export_runs ADD COLUMN options TEXT NOT NULL DEFAULT '{}';`,
  // CloudKit-style broadcast metrics requests and their CSV.
  `CREATE TABLE broadcast_metric_requests (
     id TEXT PRIMARY KEY,
     app_id INTEGER NOT NULL,
     token_id TEXT NOT NULL,
     dataset TEXT NOT NULL,
     channel_id TEXT,
     start_date TEXT NOT NULL,
     end_date TEXT NOT NULL,
     status TEXT NOT NULL,
     csv TEXT,
     error TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX broadcast_requests_repeat ON broadcast_metric_requests (token_id, dataset, start_date, end_date, created_at);`,
  // App Center continuous export configurations (connection string sealed).
  `CREATE TABLE export_configurations (
     id TEXT PRIMARY KEY,
     app_id INTEGER NOT NULL,
     type TEXT NOT NULL,
     connection_sealed TEXT NOT NULL,
     export_entities TEXT NOT NULL,
     resource_name TEXT,
     resource_group TEXT,
     state TEXT NOT NULL,
     state_info TEXT,
     creation_time INTEGER NOT NULL,
     last_run_time INTEGER,
     exported_until INTEGER NOT NULL
   );`,
];

export interface AppKey {
  readonly owner: string;
  readonly app: string;
}

export interface TokenRecord extends AppKey {
  readonly id: string;
  readonly description: string;
}

export interface AudienceRecord {
  readonly name: string;
  readonly definition: string;
  readonly description: string | undefined;
  readonly enabled: boolean;
  readonly customProperties: Record<string, PropertyType>;
  readonly estimatedCount: number;
  readonly estimatedTotalCount: number;
  readonly state: AudienceState;
  /** False while a count is pending (stored state Calculating), whether or not the audience is enabled. */
  readonly counted: boolean;
  readonly updatedAt: string;
}

interface AudienceRow {
  name: string;
  definition: string;
  description: string | null;
  enabled: number;
  custom_properties: string;
  estimated_count: number;
  estimated_total_count: number;
  state: string;
  updated_at: string;
}

function toAudience(row: AudienceRow): AudienceRecord {
  const enabled = row.enabled === 1;
  return {
    name: row.name,
    definition: row.definition,
    description: row.description ?? undefined,
    enabled,
    customProperties: JSON.parse(row.custom_properties) as Record<string, PropertyType>,
    estimatedCount: row.estimated_count,
    estimatedTotalCount: row.estimated_total_count,
    state: enabled ? (row.state as AudienceState) : "Disabled",
    counted: row.state === "Ready",
    updatedAt: row.updated_at,
  };
}

export class Store {
  readonly db: DatabaseSync;
  readonly dataDir: string;
  /** The database file, for a second (read-only) connection such as an export worker's. */
  readonly path: string;

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    this.path = join(dataDir, "pushplane.sqlite");
    mkdirSync(dataDir, { recursive: true });
    this.db = new DatabaseSync(this.path);
    // WAL keeps readers off the writer's back; synchronous=NORMAL is durable across process crashes in WAL mode.
    // mmap lets audience scans read pages without a system call per page (bench/RESULTS.md).
    this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA mmap_size = 1073741824;");
    this.migrate();
  }

  private migrate(): void {
    const { user_version: current } = this.db.prepare("PRAGMA user_version").get() as { user_version: number };
    for (let version = current; version < MIGRATIONS.length; version++) {
      this.transaction(() => {
        this.db.exec(MIGRATIONS[version]!);
        this.db.exec(`PRAGMA user_version = ${version + 1}`);
      });
    }
  }

  private transactionDepth = 0;

  /** Runs `work` atomically; nested calls become savepoints, so a failed inner step undoes only itself. */
  transaction<T>(work: () => T): T {
    const depth = this.transactionDepth++;
    this.db.exec(depth === 0 ? "BEGIN IMMEDIATE" : `SAVEPOINT nested_${depth}`);
    try {
      const result = work();
      this.db.exec(depth === 0 ? "COMMIT" : `RELEASE nested_${depth}`);
      return result;
    } catch (error) {
      this.db.exec(depth === 0 ? "ROLLBACK" : `ROLLBACK TO nested_${depth}; RELEASE nested_${depth}`);
      throw error;
    } finally {
      this.transactionDepth--;
    }
  }

  close(): void {
    this.db.close();
  }

  // --- API tokens (stored as SHA-256 hashes; the plaintext is shown once, at creation) ---

  insertToken(token: TokenRecord & { tokenHash: string }): void {
    this.db
      .prepare("INSERT INTO api_tokens (id, token_hash, owner_name, app_name, description, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(token.id, token.tokenHash, token.owner, token.app, token.description, new Date().toISOString());
  }

  findTokenByHash(tokenHash: string): TokenRecord | undefined {
    const row = this.db
      .prepare("SELECT id, owner_name AS owner, app_name AS app, description FROM api_tokens WHERE token_hash = ?")
      .get(tokenHash) as TokenRecord | undefined;
    return row ? { ...row } : undefined;
  }

  // --- audiences ---

  getAudience(key: AppKey, name: string): AudienceRecord | undefined {
    const row = this.db
      .prepare("SELECT * FROM audiences WHERE owner_name = ? AND app_name = ? AND name = ?")
      .get(key.owner, key.app, name) as AudienceRow | undefined;
    return row ? toAudience(row) : undefined;
  }

  countAudiences(key: AppKey): number {
    const row = this.db.prepare("SELECT count(*) AS n FROM audiences WHERE owner_name = ? AND app_name = ?").get(key.owner, key.app) as { n: number };
    return row.n;
  }

  /** Audiences ordered by name, strictly after `after`, at most `limit`. */
  listAudiences(key: AppKey, options: { includeDisabled: boolean; after?: string; limit: number }): AudienceRecord[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM audiences WHERE owner_name = ? AND app_name = ? AND name > ? ${options.includeDisabled ? "" : "AND enabled = 1"}
         ORDER BY name LIMIT ?`,
      )
      .all(key.owner, key.app, options.after ?? "", options.limit) as unknown as AudienceRow[];
    return rows.map(toAudience);
  }

  upsertAudience(
    key: AppKey,
    audience: { name: string; definition: string; description: string | undefined; enabled: boolean; customProperties: Record<string, PropertyType> },
  ): void {
    this.db
      .prepare(
        `INSERT INTO audiences (owner_name, app_name, name, definition, description, enabled, custom_properties, updated_at, state)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'Calculating')
         ON CONFLICT (owner_name, app_name, name) DO UPDATE SET
           definition = excluded.definition, description = excluded.description, enabled = excluded.enabled,
           custom_properties = excluded.custom_properties, updated_at = excluded.updated_at, state = 'Calculating'`,
      )
      .run(
        key.owner,
        key.app,
        audience.name,
        audience.definition,
        audience.description ?? null,
        audience.enabled ? 1 : 0,
        JSON.stringify(audience.customProperties),
        new Date().toISOString(),
      );
  }

  /** Marks every audience of the app for recounting (devices changed). */
  markAudiencesCalculating(key: AppKey): void {
    this.db.prepare("UPDATE audiences SET state = 'Calculating' WHERE owner_name = ? AND app_name = ?").run(key.owner, key.app);
  }

  setAudienceCounts(key: AppKey, name: string, definition: string, counts: { estimated: number; total: number }): void {
    // Only if the definition is still the one counted: a PUT in between starts another count.
    this.db
      .prepare(
        `UPDATE audiences SET estimated_count = ?, estimated_total_count = ?, state = 'Ready'
         WHERE owner_name = ? AND app_name = ? AND name = ? AND definition = ?`,
      )
      .run(counts.estimated, counts.total, key.owner, key.app, name, definition);
  }

  /** The app's numeric id, created on first use. */
  appId(key: AppKey): number {
    const found = this.db.prepare("SELECT id FROM apps WHERE owner_name = ? AND app_name = ?").get(key.owner, key.app) as { id: number } | undefined;
    if (found) return found.id;
    return Number(this.db.prepare("INSERT INTO apps (owner_name, app_name) VALUES (?, ?)").run(key.owner, key.app).lastInsertRowid);
  }

  deleteAudience(key: AppKey, name: string): boolean {
    const result = this.db.prepare("DELETE FROM audiences WHERE owner_name = ? AND app_name = ? AND name = ?").run(key.owner, key.app, name);
    return Number(result.changes) > 0;
  }

  /** Custom properties declared by the app's audiences, name → type (the first declaration wins). */
  customProperties(key: AppKey): Record<string, PropertyType> {
    const rows = this.db
      .prepare("SELECT custom_properties FROM audiences WHERE owner_name = ? AND app_name = ? ORDER BY name")
      .all(key.owner, key.app) as unknown as { custom_properties: string }[];
    const merged: Record<string, PropertyType> = {};
    for (const row of rows) {
      for (const [name, type] of Object.entries(JSON.parse(row.custom_properties) as Record<string, PropertyType>)) merged[name] ??= type;
    }
    return merged;
  }
}
