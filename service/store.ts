// The service's embedded store: one SQLite file (node:sqlite, no native addon), migrated on open.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Worker } from "node:worker_threads";
import { DAY_MS, HOUR_MS, LIMITS, USD_PER_UNIT, type AppKey } from "../domain/index.ts";
import { MAU_WINDOW_DAYS } from "./repositories/activity.ts";
import { Apps } from "./repositories/apps.ts";
import { sqlFloorDiv } from "./sql.ts";

/**
 * Custom properties live in columns c1…cN assigned per app on first sight (devices.ts). The columns
 * have no declared type: SQLite keeps each value's own (text, number, 0/1, epoch ms) and the slot
 * registry records which type a column holds in an app. Few columns keep rows short: every column
 * costs a header byte even when NULL, and audience counts scan these rows.
 */
const slotColumns = Array.from({ length: LIMITS.customPropertiesPerApp.value }, (_, i) => `c${i + 1}`).join(", ");

/** Schema versions, applied in order inside one transaction each; PRAGMA user_version records progress. */
export const MIGRATIONS: readonly string[] = [
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
  // An ingestion request larger than one slice is written in several transactions (devices.ts); the
  // ledger records how many items of which body (its digest) are in, so a retry after a crash
  // resumes where it stopped instead of writing the first slices twice.
  `CREATE TABLE ingest_batches (
     app_id INTEGER NOT NULL,
     kind TEXT NOT NULL,
     digest TEXT NOT NULL,
     items_done INTEGER NOT NULL,
     items_total INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (app_id, kind, digest)
   );`,
  // Token scopes (domain/token-scope.ts): a JSON list of 'owner/app' and 'owner/*'; every token so
  // far was for its one owner/app, which stay as the first entry.
  `ALTER TABLE api_tokens ADD COLUMN scope TEXT;
   UPDATE api_tokens SET scope = json_array(owner_name || '/' || app_name);`,
  // Data-subject requests (service/dsr.ts): the subject's identifiers sealed while the request is
  // open and dropped once it ends; a keyed hash of each stays, with the receipt.
  `CREATE TABLE dsr_requests (
     id TEXT PRIMARY KEY,
     app_id INTEGER NOT NULL,
     kind TEXT NOT NULL,
     state TEXT NOT NULL,
     subject_hashes TEXT NOT NULL,
     subject_sealed TEXT,
     receipt TEXT,
     error TEXT,
     received_at INTEGER NOT NULL,
     due_at INTEGER NOT NULL,
     started_at INTEGER,
     finished_at INTEGER,
     -- An erasure's device-change sequence number: it completes once the images up to it are gone.
     erased_seq INTEGER
   );
   CREATE INDEX dsr_requests_by_app ON dsr_requests (app_id, received_at);`,
  // An erasure removes a device's delivery rows: found by device, not by notification.
  `CREATE INDEX notification_deliveries_by_device ON notification_deliveries (device_id);`,
  // Exported copies (service/exports/copies.ts): every blob an export wrote that holds people's
  // data, the grant that wrote it (sealed) and a keyed filter of the subjects it holds, so an
  // erasure reaches it. No filter yet: being written, it may hold anyone.
  `CREATE TABLE export_copies (
     id INTEGER PRIMARY KEY,
     app_id INTEGER NOT NULL,
     container_url TEXT NOT NULL,
     blob_name TEXT NOT NULL,
     companion_blob TEXT,
     format TEXT NOT NULL,
     grant_kind TEXT NOT NULL,
     grant_sealed TEXT NOT NULL,
     filter BLOB,
     written_at INTEGER NOT NULL,
     UNIQUE (container_url, blob_name)
   );
   CREATE INDEX export_copies_by_app ON export_copies (app_id);`,
  // When an erasure's store part committed: exports started before may still write the subject's data.
  `ALTER TABLE dsr_requests ADD COLUMN erased_at INTEGER;`,
  // An access request's container SAS (sealed), dropped with the subject when the request ends.
  `ALTER TABLE dsr_requests ADD COLUMN sas_sealed TEXT;`,
  // App Center's account data-subject rights (service/account-dsr.ts): per request, the API token it
  // concerns (the account), its status, and an export's document sealed until it expires.
  `CREATE TABLE account_dsr_requests (
     token TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     api_token_id TEXT NOT NULL,
     status TEXT NOT NULL,
     message TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     run_at INTEGER NOT NULL,
     finished_at INTEGER,
     document_sealed TEXT,
     document_expires_at INTEGER
   );`,
  // When an audience was created (the Braze dialect lists segments newest first); audiences from
  // before take their last change as their creation.
  `ALTER TABLE audiences ADD COLUMN created_at TEXT;
   UPDATE audiences SET created_at = updated_at;`,
  // Hourly counts for the Braze series (repositories/event-rollups.ts), from the events already in.
  `CREATE TABLE event_rollups (
     app_id INTEGER NOT NULL,
     kind TEXT NOT NULL,
     name TEXT NOT NULL,
     hour INTEGER NOT NULL,
     count INTEGER NOT NULL,
     usd_cents INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (app_id, kind, name, hour)
   ) WITHOUT ROWID;
   INSERT INTO event_rollups (app_id, kind, name, hour, count, usd_cents)
     SELECT app_id,
            CASE type WHEN 'session_start' THEN 'session' WHEN 'uninstall' THEN 'uninstall' WHEN 'custom' THEN 'custom' ELSE 'purchase' END,
            CASE type WHEN 'session_start' THEN '' WHEN 'uninstall' THEN '' WHEN 'custom' THEN name ELSE product_id END,
            ${sqlFloorDiv("occurred_at", HOUR_MS)}, COUNT(*),
            coalesce(SUM(CAST(round(amount * CASE currency ${Object.entries(USD_PER_UNIT).map(([code, rate]) => `WHEN '${code}' THEN ${rate}`).join(" ")} ELSE 0 END * 100) AS INTEGER)), 0)
     FROM events WHERE type IN ('session_start', 'uninstall') OR (type = 'custom' AND name IS NOT NULL) OR (type = 'purchase' AND product_id IS NOT NULL)
     GROUP BY 1, 2, 3, 4;`,
  // Who was active on which day, and the KPIs' daily counts (repositories/activity.ts), from the
  // events already in: DAU, each user's first day, and MAU's difference counts — each day covers
  // [day, day+29] less what the user's days before and after cover.
  `CREATE TABLE user_activity (
     app_id INTEGER NOT NULL,
     user_key TEXT NOT NULL,
     day INTEGER NOT NULL,
     PRIMARY KEY (app_id, user_key, day)
   ) WITHOUT ROWID;
   INSERT INTO user_activity (app_id, user_key, day)
     SELECT DISTINCT e.app_id, coalesce('user:' || d.user_id, 'install:' || e.install_id), ${sqlFloorDiv("e.occurred_at", DAY_MS)}
     FROM events e LEFT JOIN devices d ON d.app_id = e.app_id AND d.install_id = e.install_id
     WHERE e.type != 'uninstall';
   INSERT INTO event_rollups (app_id, kind, name, hour, count)
     SELECT app_id, 'active', '', day * 24, COUNT(*) FROM user_activity GROUP BY app_id, day;
   INSERT INTO event_rollups (app_id, kind, name, hour, count)
     SELECT app_id, 'new_user', '', first * 24, COUNT(*) FROM (SELECT app_id, user_key, MIN(day) AS first FROM user_activity GROUP BY 1, 2) GROUP BY app_id, first;
   WITH spans AS (
          SELECT app_id, day, LAG(day) OVER w AS prev, LEAD(day) OVER w AS next FROM user_activity
          WINDOW w AS (PARTITION BY app_id, user_key ORDER BY day)),
        cover AS (
          SELECT app_id,
                 CASE WHEN prev IS NULL THEN day ELSE max(day, prev + ${MAU_WINDOW_DAYS}) END AS f,
                 CASE WHEN next IS NULL THEN day + ${MAU_WINDOW_DAYS - 1} ELSE min(day + ${MAU_WINDOW_DAYS - 1}, next - 1) END AS t
          FROM spans)
   INSERT INTO event_rollups (app_id, kind, name, hour, count)
     SELECT app_id, 'mau_delta', '', x * 24, SUM(c) FROM (
       SELECT app_id, f AS x, 1 AS c FROM cover WHERE f <= t UNION ALL SELECT app_id, t + 1, -1 FROM cover WHERE f <= t)
     GROUP BY app_id, x;`,
  // Each audience's size as last recorded on each UTC day (Braze's segments/data_series): every write
  // of a count records it, whichever code path moved it; an audience deleted takes its history along.
  `CREATE TABLE audience_sizes (
     owner_name TEXT NOT NULL,
     app_name TEXT NOT NULL,
     name TEXT NOT NULL,
     day INTEGER NOT NULL,
     size INTEGER NOT NULL,
     PRIMARY KEY (owner_name, app_name, name, day)
   ) WITHOUT ROWID;
   INSERT INTO audience_sizes SELECT owner_name, app_name, name, CAST(unixepoch() / 86400 AS INTEGER), estimated_count FROM audiences;
   CREATE TRIGGER audience_size_recorded AFTER UPDATE OF estimated_count ON audiences BEGIN
     INSERT INTO audience_sizes VALUES (NEW.owner_name, NEW.app_name, NEW.name, CAST(unixepoch() / 86400 AS INTEGER), NEW.estimated_count)
       ON CONFLICT (owner_name, app_name, name, day) DO UPDATE SET size = excluded.size;
   END;
   CREATE TRIGGER audience_size_created AFTER INSERT ON audiences BEGIN
     INSERT INTO audience_sizes VALUES (NEW.owner_name, NEW.app_name, NEW.name, CAST(unixepoch() / 86400 AS INTEGER), NEW.estimated_count)
       ON CONFLICT (owner_name, app_name, name, day) DO UPDATE SET size = excluded.size;
   END;
   CREATE TRIGGER audience_sizes_dropped AFTER DELETE ON audiences BEGIN
     DELETE FROM audience_sizes WHERE owner_name = OLD.owner_name AND app_name = OLD.app_name AND name = OLD.name;
   END;`,
  // Campaigns (Braze's campaigns/data_series): the push channel each delivery went out on, recorded
  // with its outcome (deliveries from before take their device's channel now), and a campaign's
  // opens found without scanning other events (only push_opened events name a notification).
  `ALTER TABLE notification_deliveries ADD COLUMN channel TEXT;
   UPDATE notification_deliveries SET channel = (SELECT push_channel FROM devices WHERE devices.id = notification_deliveries.device_id) WHERE outcome IS NOT NULL;
   CREATE INDEX events_by_notification ON events (app_id, notification_id, occurred_at) WHERE notification_id IS NOT NULL;`,
  // Every product's purchases per hour, so a revenue series of all products reads one row an hour.
  `INSERT INTO event_rollups (app_id, kind, name, hour, count, usd_cents)
     SELECT app_id, 'purchase_total', '', hour, SUM(count), SUM(usd_cents) FROM event_rollups WHERE kind = 'purchase' GROUP BY app_id, hour;`,
  // How far the KPIs' activity is recorded (kpi-activity.ts): the last event id taken in. Events
  // already in were taken in by the user_activity backfill. Deleting the newest events frees their
  // ids for the next ones (SQLite gives max(id) + 1): it then steps back to the newest left.
  `CREATE TABLE activity_progress (recorded_through INTEGER NOT NULL);
   INSERT INTO activity_progress SELECT coalesce(max(id), 0) FROM events;
   CREATE TRIGGER activity_progress_after_delete AFTER DELETE ON events BEGIN
     UPDATE activity_progress SET recorded_through = (SELECT coalesce(max(id), 0) FROM events)
       WHERE recorded_through > (SELECT coalesce(max(id), 0) FROM events);
   END;`,
  // The key an event not recorded yet arrived under, when its device gets, changes or loses its user
  // id before the activity is recorded (repositories/activity.ts): the first change pins it. A pin
  // goes when its event is recorded or deleted (a deleted newest event's id is given again).
  `CREATE TABLE activity_pins (event_id INTEGER PRIMARY KEY, user_key TEXT NOT NULL);
   ${(["INSERT", "UPDATE OF user_id", "DELETE"] as const)
     .map((change) => {
       const device = change === "INSERT" ? "new" : "old";
       const when = { INSERT: "new.user_id IS NOT NULL", "UPDATE OF user_id": "old.user_id IS NOT new.user_id", DELETE: "old.user_id IS NOT NULL" }[change];
       const arrivedUnder = change === "INSERT" ? `'install:' || new.install_id` : `coalesce('user:' || old.user_id, 'install:' || old.install_id)`;
       // Not INSERT OR IGNORE: the statement firing a trigger imposes its own conflict policy on it.
       return `CREATE TRIGGER activity_pins_on_device_${change.split(" ")[0]!.toLowerCase()} AFTER ${change} ON devices WHEN ${when} BEGIN
     INSERT INTO activity_pins (event_id, user_key)
       SELECT e.id, ${arrivedUnder} FROM events e
       WHERE e.app_id = ${device}.app_id AND e.install_id = ${device}.install_id AND e.id > (SELECT recorded_through FROM activity_progress)
         AND NOT EXISTS (SELECT 1 FROM activity_pins p WHERE p.event_id = e.id);
   END;`;
     })
     .join("\n   ")}
   CREATE TRIGGER activity_pins_after_event_delete AFTER DELETE ON events BEGIN
     DELETE FROM activity_pins WHERE event_id = old.id;
   END;`,
];

export type { AppKey };

/** The writing connection's page cache, KiB. */
const WRITER_CACHE_KIB = 65_536;

/** How long a statement waits for another connection's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000;

/** SQLite's own default: a commit checkpoints once the log holds this many pages. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

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
    // secure_delete: what is deleted is overwritten with zeros, not left in free space in the file,
    // so an erased subject's rows are gone from the bytes too (with truncateLog for the log).
    // A 64 MiB page cache: ingestion writes index pages all over (install ids, users' days); with
    // SQLite's 2 MiB default it reloads them batch after batch (bench/RESULTS.md, Braze series).
    this.db.exec(
      `PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}; PRAGMA mmap_size = 1073741824; PRAGMA secure_delete = ON; PRAGMA cache_size = -${WRITER_CACHE_KIB};`,
    );
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

  private checkpointer: Worker | undefined;

  /**
   * Moves write-ahead-log checkpoints off this connection, so no commit on the event loop pays for
   * one: a worker thread checkpoints every `intervalMs` (checkpoint-thread.mts). Should the thread
   * fail, commits checkpoint again as SQLite does by default, so the log never grows unbounded.
   */
  startCheckpoints(intervalMs = 250): void {
    if (this.checkpointer) return;
    const worker = new Worker(new URL("./checkpoint-thread.mts", import.meta.url), { workerData: { path: this.path, intervalMs } });
    worker.unref();
    const fallBack = () => {
      if (this.checkpointer !== worker) return;
      this.checkpointer = undefined;
      if (this.db.isOpen) this.db.exec(`PRAGMA wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
    };
    worker.on("error", fallBack);
    worker.on("exit", fallBack);
    this.checkpointer = worker;
    this.db.exec("PRAGMA wal_autocheckpoint = 0");
  }

  /**
   * Checkpoints the whole log into the database file and truncates it, so no earlier version of a
   * page (an erased row) is left in the log's bytes. False when a reader kept it from finishing: try
   * again a moment later.
   */
  truncateLog(): boolean {
    // Never waits for a reader (the busy timeout would hold the event loop): busy now means later.
    this.db.exec("PRAGMA busy_timeout = 0");
    try {
      const result = this.db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number };
      return result.busy === 0;
    } finally {
      this.db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  close(): void {
    const checkpointer = this.checkpointer;
    this.checkpointer = undefined;
    void checkpointer?.terminate();
    this.db.close();
  }

  /**
   * The app's numeric id, created on first use. The apps repository owns the SQL; this stays for
   * DeviceStore (devices.ts) and the benches, which reach apps through the store.
   */
  appId(key: AppKey): number {
    return new Apps(this).id(key);
  }
}
