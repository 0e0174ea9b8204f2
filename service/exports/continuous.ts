// App Center continuous export (contract: swagger ExportConfigurations_*): a configuration points at
// a storage account (connection string, sealed); while Enabled, the service appends the app's
// analytics events since the last run as NDJSON blobs under analytics/YYYY/MM/DD/HH/ in the
// container "pushplane-export". Crashes, errors and attachments (App Center's export_entities) are
// accepted but this platform collects none of them. Each configuration's export is a recurring item
// of the background runner; events are read and written a page at a time.
import { randomUUID } from "node:crypto";
import type { ExportConfigurationBody, ExportConfigurationResult } from "../../domain/index.ts";
import { ApiError } from "../errors.ts";
import { redactSecrets, type Outbound } from "../outbound.ts";
import type { Runner } from "../runner.ts";
import type { SecretBox } from "../secret-box.ts";
import type { AppKey, Store } from "../store.ts";
import { RAW_EVENT_NAMES } from "./raw-events.ts";

export const CONTINUOUS_EXPORT_CONTAINER = "pushplane-export";
const EXPORT = "continuous.export";
/** Events per blob: a run's memory holds one page, however many events arrived since the last. */
const EVENTS_PER_BLOB = 10_000;
/** Default time between exports (App Center exported continuously; every 5 minutes here). */
export const CONTINUOUS_EXPORT_INTERVAL_MS = 300_000;
type State = "Enabled" | "Disabled" | "Pending" | "Deleted" | "Invalid";

interface ConfigRow {
  id: string;
  app_id: number;
  type: string;
  connection_sealed: string;
  export_entities: string;
  resource_name: string | null;
  resource_group: string | null;
  state: State;
  state_info: string | null;
  creation_time: number;
  last_run_time: number | null;
  exported_until: number;
}

const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());

function view(row: ConfigRow): ExportConfigurationResult {
  const entities = JSON.parse(row.export_entities) as ExportConfigurationResult["export_entities"];
  return {
    id: row.id,
    export_type: "BlobStorage" as const,
    creation_time: iso(row.creation_time)!,
    ...(row.last_run_time ? { last_run_time: iso(row.last_run_time) } : {}),
    export_entities: entities,
    state: row.state,
    ...(row.state_info ? { state_info: row.state_info } : {}),
    ...(row.resource_group ? { resource_group: row.resource_group } : {}),
    ...(row.resource_name ? { resource_name: row.resource_name } : {}),
    // The connection string is never answered.
    export_configuration: { type: row.type, export_entities: entities },
  };
}

export class ContinuousExports {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly runner: Runner,
    private readonly outbound: Outbound,
    private readonly intervalMs = CONTINUOUS_EXPORT_INTERVAL_MS,
  ) {
    runner.register<{ id: string }>(EXPORT, {
      run: async ({ id }, context) => ((await this.runOne(id, context.signal)) ? { again: Date.now() + this.intervalMs } : undefined),
      timeoutMs: 30 * 60_000,
    });
  }

  /** Queues the configuration's export now (created, enabled, or given a new account). */
  private schedule(appId: number, id: string): void {
    this.runner.enqueue(EXPORT, id, { appId, payload: { id } });
  }

  create(key: AppKey, body: ExportConfigurationBody) {
    if (body.type !== "blob_storage_connection_string") {
      throw new ApiError("BadRequest", `type: ${body.type} is not supported by pushplane; use blob_storage_connection_string`);
    }
    this.outbound.checkConnectionString("connection_string", body.connection_string);
    const id = randomUUID();
    const now = Date.now();
    this.store.db
      .prepare(
        `INSERT INTO export_configurations (id, app_id, type, connection_sealed, export_entities, resource_name, resource_group, state, creation_time, exported_until)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'Pending', ?, ?)`,
      )
      .run(id, this.store.appId(key), body.type, this.box.seal(body.connection_string), JSON.stringify(body.export_entities ?? []), body.resource_name ?? null, body.resource_group ?? null, now, now);
    this.schedule(this.store.appId(key), id);
    return this.get(key, id)!;
  }

  private row(key: AppKey, id: string): ConfigRow | undefined {
    return this.store.db.prepare("SELECT * FROM export_configurations WHERE id = ? AND app_id = ?").get(id, this.store.appId(key)) as ConfigRow | undefined;
  }

  get(key: AppKey, id: string) {
    const row = this.row(key, id);
    return row ? view(row) : undefined;
  }

  list(key: AppKey) {
    const rows = this.store.db.prepare("SELECT * FROM export_configurations WHERE app_id = ? ORDER BY creation_time").all(this.store.appId(key)) as unknown as ConfigRow[];
    return { values: rows.map(view), total: rows.length };
  }

  update(key: AppKey, id: string, patch: { connection_string?: string | undefined; export_entities?: string[] | undefined }) {
    const row = this.row(key, id);
    if (!row) return undefined;
    if (patch.connection_string) this.outbound.checkConnectionString("connection_string", patch.connection_string);
    this.store.db
      .prepare("UPDATE export_configurations SET connection_sealed = ?, export_entities = ?, state = CASE WHEN ? THEN 'Pending' ELSE state END WHERE id = ?")
      .run(patch.connection_string ? this.box.seal(patch.connection_string) : row.connection_sealed, JSON.stringify(patch.export_entities ?? JSON.parse(row.export_entities)), patch.connection_string ? 1 : 0, id);
    if (patch.connection_string) this.schedule(row.app_id, id);
    return this.get(key, id);
  }

  setEnabled(key: AppKey, id: string, enabled: boolean): boolean {
    const row = this.row(key, id);
    if (!row) return false;
    this.store.db.prepare("UPDATE export_configurations SET state = ?, state_info = NULL WHERE id = ?").run(enabled ? "Pending" : "Disabled", id);
    if (enabled) this.schedule(row.app_id, id);
    return true;
  }

  delete(key: AppKey, id: string): boolean {
    return Number(this.store.db.prepare("DELETE FROM export_configurations WHERE id = ? AND app_id = ?").run(id, this.store.appId(key)).changes) > 0;
  }

  /** Queues an export for every enabled configuration a store from before the runner holds. */
  resumeLegacy(): void {
    const rows = this.store.db.prepare("SELECT id, app_id FROM export_configurations WHERE state IN ('Enabled', 'Pending')").all() as unknown as { id: string; app_id: number }[];
    this.store.transaction(() => {
      for (const row of rows) if (!this.runner.item(EXPORT, row.id)) this.schedule(row.app_id, row.id);
    });
  }

  /**
   * Appends the events since the last run, a page per blob; answers whether the configuration is
   * still exporting. One that cannot reach its storage becomes Invalid with the reason (and stops).
   */
  async runOne(id: string, signal?: AbortSignal): Promise<boolean> {
    const row = this.store.db.prepare("SELECT * FROM export_configurations WHERE id = ?").get(id) as ConfigRow | undefined;
    if (!row || (row.state !== "Enabled" && row.state !== "Pending")) return false;
    const until = Date.now();
    try {
      const container = this.outbound
        .blobServiceFromConnectionString("connection_string", this.box.open(row.connection_sealed))
        .getContainerClient(CONTINUOUS_EXPORT_CONTAINER);
      await container.createIfNotExists({ abortSignal: signal });
      const page = this.store.db.prepare(
        `SELECT id, type, name, occurred_at, install_id, notification_id, product_id, amount, currency, properties FROM events
         WHERE app_id = ? AND occurred_at >= ? AND occurred_at < ? AND (occurred_at, id) > (?, ?) ORDER BY occurred_at, id LIMIT ?`,
      );
      const hour = new Date(until).toISOString().slice(0, 13).replace(/[-T]/g, "/");
      // Keyset pagination from just before the window: (exported_until, 0) precedes every event at or after it.
      let after: [number, number] = [row.exported_until - 1, Number.MAX_SAFE_INTEGER];
      for (let part = 0; ; part++) {
        const events = page.all(row.app_id, Math.max(after[0], row.exported_until), until, ...after, EVENTS_PER_BLOB) as unknown as Record<string, string | number | null>[];
        if (events.length === 0) break;
        const last = events.at(-1)!;
        after = [Number(last.occurred_at), Number(last.id)];
        const lines = events.map((e) =>
          JSON.stringify({
            id: e.id,
            type: e.type === "custom" ? e.name : RAW_EVENT_NAMES[String(e.type)],
            timestamp: new Date(Number(e.occurred_at)).toISOString(),
            install_id: e.install_id,
            ...(e.notification_id ? { notification_id: e.notification_id } : {}),
            ...(e.product_id ? { product_id: e.product_id, amount: e.amount, currency: e.currency } : {}),
            ...(e.properties ? { properties: JSON.parse(String(e.properties)) } : {}),
          }),
        );
        const body = `${lines.join("\n")}\n`;
        await container.getBlockBlobClient(`analytics/${hour}/${id}-${until}${part > 0 ? `-${part}` : ""}.ndjson`).upload(body, Buffer.byteLength(body), { abortSignal: signal });
      }
      const updated = this.store.db
        .prepare("UPDATE export_configurations SET state = 'Enabled', state_info = NULL, last_run_time = ?, exported_until = ? WHERE id = ? AND state IN ('Enabled', 'Pending')")
        .run(until, until, id);
      return Number(updated.changes) > 0;
    } catch (error) {
      if (signal?.aborted) throw error;
      const e = error as { code?: string; message?: string; cause?: { code?: string } };
      const reason = `cannot write to the storage account: ${redactSecrets(e.code ?? e.cause?.code ?? (e.message ?? String(error)).split("\n")[0]!)}`;
      this.store.db.prepare("UPDATE export_configurations SET state = 'Invalid', state_info = ? WHERE id = ?").run(reason, id);
      return false;
    }
  }
}
