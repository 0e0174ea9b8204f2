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
import type { ExportConfigurationRow } from "../repositories/export-configurations.ts";
import type { Repositories } from "../repositories/index.ts";
import type { Runner } from "../runner.ts";
import type { SecretBox } from "../secret-box.ts";
import type { AppKey, Store } from "../store.ts";
import { identifiersOfRecord } from "../../domain/index.ts";
import { redactUrl } from "../outbound.ts";
import type { ExportedCopies } from "./copies.ts";
import { RAW_EVENT_NAMES } from "./raw-events.ts";

export const CONTINUOUS_EXPORT_CONTAINER = "pushplane-export";
const EXPORT = "continuous.export";
/** Events per blob: a run's memory holds one page, however many events arrived since the last. */
const EVENTS_PER_BLOB = 10_000;
/** Default time between exports (App Center exported continuously; every 5 minutes here). */
export const CONTINUOUS_EXPORT_INTERVAL_MS = 300_000;

const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());

function view(row: ExportConfigurationRow): ExportConfigurationResult {
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
    private readonly repositories: Repositories,
    private readonly box: SecretBox,
    private readonly runner: Runner,
    private readonly outbound: Outbound,
    private readonly copies: ExportedCopies,
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
    const appId = this.repositories.apps.id(key);
    this.repositories.exportConfigurations.insert({
      id,
      app_id: appId,
      type: body.type,
      connection_sealed: this.box.seal(body.connection_string),
      export_entities: JSON.stringify(body.export_entities ?? []),
      resource_name: body.resource_name ?? null,
      resource_group: body.resource_group ?? null,
    });
    this.schedule(appId, id);
    return this.get(key, id)!;
  }

  private row(key: AppKey, id: string): ExportConfigurationRow | undefined {
    return this.repositories.exportConfigurations.findInApp(this.repositories.apps.id(key), id);
  }

  get(key: AppKey, id: string) {
    const row = this.row(key, id);
    return row ? view(row) : undefined;
  }

  list(key: AppKey) {
    const rows = this.repositories.exportConfigurations.ofApp(this.repositories.apps.id(key));
    return { values: rows.map(view), total: rows.length };
  }

  update(key: AppKey, id: string, patch: { connection_string?: string | undefined; export_entities?: string[] | undefined }) {
    const row = this.row(key, id);
    if (!row) return undefined;
    if (patch.connection_string) this.outbound.checkConnectionString("connection_string", patch.connection_string);
    this.repositories.exportConfigurations.update(id, {
      connection_sealed: patch.connection_string ? this.box.seal(patch.connection_string) : row.connection_sealed,
      export_entities: JSON.stringify(patch.export_entities ?? JSON.parse(row.export_entities)),
      pending: Boolean(patch.connection_string),
    });
    if (patch.connection_string) this.schedule(row.app_id, id);
    return this.get(key, id);
  }

  setEnabled(key: AppKey, id: string, enabled: boolean): boolean {
    const row = this.row(key, id);
    if (!row) return false;
    this.repositories.exportConfigurations.setState(id, enabled ? "Pending" : "Disabled");
    if (enabled) this.schedule(row.app_id, id);
    return true;
  }

  delete(key: AppKey, id: string): boolean {
    return this.repositories.exportConfigurations.delete(this.repositories.apps.id(key), id);
  }

  /** Queues an export for every enabled configuration a store from before the runner holds. */
  resumeLegacy(): void {
    const rows = this.repositories.exportConfigurations.exporting();
    this.store.transaction(() => {
      for (const row of rows) if (!this.runner.item(EXPORT, row.id)) this.schedule(row.app_id, row.id);
    });
  }

  /**
   * Appends the events since the last run, a page per blob; answers whether the configuration is
   * still exporting. One that cannot reach its storage becomes Invalid with the reason (and stops).
   */
  async runOne(id: string, signal?: AbortSignal): Promise<boolean> {
    const { events, exportConfigurations } = this.repositories;
    const row = exportConfigurations.find(id);
    if (!row || (row.state !== "Enabled" && row.state !== "Pending")) return false;
    const until = Date.now();
    try {
      const connection = this.box.open(row.connection_sealed);
      const container = this.outbound
        .blobServiceFromConnectionString("connection_string", connection)
        .getContainerClient(CONTINUOUS_EXPORT_CONTAINER);
      await container.createIfNotExists({ abortSignal: signal });
      const destination = { kind: "connection_string" as const, grant: connection, containerUrl: redactUrl(container.url) };
      const hour = new Date(until).toISOString().slice(0, 13).replace(/[-T]/g, "/");
      let part = 0;
      for (const page of events.byTime(row.app_id, row.exported_until, until, EVENTS_PER_BLOB)) {
        const records = page.map((e) => ({
            id: e.id,
            type: e.type === "custom" ? e.name : RAW_EVENT_NAMES[e.type],
            timestamp: new Date(e.occurred_at).toISOString(),
            install_id: e.install_id,
            ...(e.notification_id ? { notification_id: e.notification_id } : {}),
            ...(e.product_id ? { product_id: e.product_id, amount: e.amount, currency: e.currency } : {}),
            ...(e.properties ? { properties: JSON.parse(e.properties) as unknown } : {}),
        }));
        const body = `${records.map((record) => JSON.stringify(record)).join("\n")}\n`;
        const name = `analytics/${hour}/${id}-${until}${part > 0 ? `-${part}` : ""}.ndjson`;
        const copy = this.copies.track(row.app_id, destination, name, "jsonl");
        for (const record of records) copy.filter.add(identifiersOfRecord(record));
        await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), { abortSignal: signal });
        copy.written();
        part++;
      }
      return exportConfigurations.recordExport(id, until);
    } catch (error) {
      if (signal?.aborted) throw error;
      const e = error as { code?: string; message?: string; cause?: { code?: string } };
      const reason = `cannot write to the storage account: ${redactSecrets(e.code ?? e.cause?.code ?? (e.message ?? String(error)).split("\n")[0]!)}`;
      exportConfigurations.invalidate(id, reason);
      return false;
    }
  }
}
