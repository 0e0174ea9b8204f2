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
  // Background work as leased items (service/runner.ts): every unit of work a process runs outside a
  // request, claimed through the store so several processes on one store never run it twice.
  `CREATE TABLE work_items (
     id INTEGER PRIMARY KEY,
     kind TEXT NOT NULL,
     key TEXT NOT NULL,
     app_id INTEGER,
     payload TEXT NOT NULL DEFAULT '{}',
     state TEXT NOT NULL DEFAULT 'pending',
     run_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     max_attempts INTEGER NOT NULL,
     generation INTEGER NOT NULL DEFAULT 0,
     locked_by TEXT,
     locked_until INTEGER,
     last_error TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     UNIQUE (kind, key)
   );
   CREATE INDEX work_items_due ON work_items (run_at) WHERE state = 'pending';
   CREATE INDEX work_items_by_app ON work_items (app_id, state);
   -- One-off export runs keep their SAS sealed too: a run is an item any process may resume.
   ALTER TABLE export_runs ADD COLUMN sas_sealed TEXT;
   -- Incremental audience counts: the app's device count and a sequence number of its device
   -- changes; while an audience's full recount is pending, the changes' effect on it is logged per
   -- sequence number, so the recount (taken at one sequence number) adds exactly what came after.
   ALTER TABLE apps ADD COLUMN device_count INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE apps ADD COLUMN device_seq INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE apps ADD COLUMN audiences_version INTEGER NOT NULL DEFAULT 0;
   UPDATE apps SET device_count = (SELECT count(*) FROM device_attributes a WHERE a.app_id = apps.id);
   CREATE TABLE audience_count_deltas (
     app_id INTEGER NOT NULL,
     audience TEXT NOT NULL,
     seq INTEGER NOT NULL,
     delta INTEGER NOT NULL
   );
   CREATE INDEX audience_count_deltas_by_audience ON audience_count_deltas (app_id, audience, seq);
   ALTER TABLE broadcast_metric_requests ADD COLUMN bundle_id TEXT;`,
  // Audience counts move off the write path: a device write records its devices' attribute rows
  // before and after (images, same columns), and a background item evaluates the audiences on them
  // and moves each count; \`applied_seq\` is the last device-change sequence number an audience's
  // count includes. Its state as of now: every count is current.
  `CREATE TABLE device_change_images AS SELECT 0 AS seq, '' AS phase, * FROM device_attributes WHERE 0;
   CREATE INDEX device_change_images_by_seq ON device_change_images (app_id, seq);
   ALTER TABLE audiences ADD COLUMN applied_seq INTEGER NOT NULL DEFAULT 0;
   UPDATE audiences SET applied_seq = coalesce((SELECT device_seq FROM apps p WHERE p.owner_name = audiences.owner_name AND p.app_name = audiences.app_name), 0);
   DROP TABLE audience_count_deltas;`,
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

/** Audiences with their app's device count, which is every audience's estimated_total_count. */
const SELECT_AUDIENCES = `SELECT a.*, coalesce(p.device_count, 0) AS estimated_total_count
  FROM audiences a LEFT JOIN apps p ON p.owner_name = a.owner_name AND p.app_name = a.app_name`;

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
      .prepare(`${SELECT_AUDIENCES} WHERE a.owner_name = ? AND a.app_name = ? AND a.name = ?`)
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
        `${SELECT_AUDIENCES} WHERE a.owner_name = ? AND a.app_name = ? AND a.name > ? ${options.includeDisabled ? "" : "AND a.enabled = 1"}
         ORDER BY a.name LIMIT ?`,
      )
      .all(key.owner, key.app, options.after ?? "", options.limit) as unknown as AudienceRow[];
    return rows.map(toAudience);
  }

  /**
   * Creates or changes an audience; answers whether it needs a full count (new, or its definition or
   * custom property types changed — a description or enabled change keeps its count).
   */
  upsertAudience(
    key: AppKey,
    audience: { name: string; definition: string; description: string | undefined; enabled: boolean; customProperties: Record<string, PropertyType> },
  ): boolean {
    const { state } = this.db
      .prepare(
        `INSERT INTO audiences (owner_name, app_name, name, definition, description, enabled, custom_properties, updated_at, state)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'Calculating')
         ON CONFLICT (owner_name, app_name, name) DO UPDATE SET
           state = CASE WHEN definition = excluded.definition AND custom_properties = excluded.custom_properties THEN state ELSE 'Calculating' END,
           definition = excluded.definition, description = excluded.description, enabled = excluded.enabled,
           custom_properties = excluded.custom_properties, updated_at = excluded.updated_at
         RETURNING state`,
      )
      .get(
        key.owner,
        key.app,
        audience.name,
        audience.definition,
        audience.description ?? null,
        audience.enabled ? 1 : 0,
        JSON.stringify(audience.customProperties),
        new Date().toISOString(),
      ) as { state: string };
    return state === "Calculating";
  }

  /**
   * Stores a full count taken at device-change sequence number `atSeq` — only if the audience is still
   * the one counted (a change in between queued another count). Changes after `atSeq` are moved in
   * by the next count-moves item.
   */
  finishRecount(key: AppKey, counted: { name: string; definition: string; customProperties: Record<string, PropertyType> }, result: { estimated: number; atSeq: number }): boolean {
    const updated = this.db
      .prepare(
        `UPDATE audiences SET state = 'Ready', estimated_count = ?, applied_seq = ?
         WHERE owner_name = ? AND app_name = ? AND name = ? AND definition = ? AND custom_properties = ? AND state = 'Calculating'`,
      )
      .run(result.estimated, result.atSeq, key.owner, key.app, counted.name, counted.definition, JSON.stringify(counted.customProperties));
    return Number(updated.changes) > 0;
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
