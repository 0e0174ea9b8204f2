// Retention for export containers: blobs older than the container's retention are deleted, so an
// erasure reaches exported copies within that period. The container's owner grants the service a
// list+delete SAS for this alone (the StorageContainer resource does, and renews it on `up`).
import type { SecretBox } from "../secret-box.ts";
import type { AppKey, Store } from "../store.ts";
import { checkSasUrl, containerClient, redactSas } from "./sas.ts";

const DAY = 86_400_000;

export interface RetentionPolicy {
  container: string;
  retention_days: number;
  grant_expires_at: string | null;
  last_sweep_at: string | null;
  last_sweep_deleted: number;
  last_sweep_error: string | null;
}

interface PolicyRow {
  app_id: number;
  container_url: string;
  sas_sealed: string;
  sas_expires_at: number | null;
  retention_days: number;
  last_sweep_at: number | null;
  last_sweep_deleted: number;
  last_sweep_error: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const view = (row: PolicyRow): RetentionPolicy => ({
  container: row.container_url,
  retention_days: row.retention_days,
  grant_expires_at: iso(row.sas_expires_at),
  last_sweep_at: iso(row.last_sweep_at),
  last_sweep_deleted: row.last_sweep_deleted,
  last_sweep_error: row.last_sweep_error,
});

/** Default time between sweeps of every registered container. */
export const DEFAULT_SWEEP_INTERVAL_MS = 3_600_000;

export class RetentionService {
  private timer: NodeJS.Timeout | undefined;
  /** Sweeps under way, by app and container: a timer sweep and an on-demand one share the work. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
  ) {}

  /** Registers (or replaces) a container's retention; the SAS must allow list and delete. */
  set(key: AppKey, sasUrl: string, retentionDays: number): RetentionPolicy {
    const url = checkSasUrl("blob_container_sas_uri", sasUrl, ["d", "l"]);
    const container = redactSas(url);
    const expires = url.searchParams.get("se");
    this.store.db
      .prepare(
        `INSERT INTO retention_policies (app_id, container_url, sas_sealed, sas_expires_at, retention_days) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (app_id, container_url) DO UPDATE SET sas_sealed = excluded.sas_sealed, sas_expires_at = excluded.sas_expires_at,
           retention_days = excluded.retention_days`,
      )
      .run(this.store.appId(key), container, this.box.seal(sasUrl), expires ? Date.parse(expires) : null, retentionDays);
    return this.get(key, container)!;
  }

  get(key: AppKey, container: string): RetentionPolicy | undefined {
    const row = this.store.db.prepare("SELECT * FROM retention_policies WHERE app_id = ? AND container_url = ?").get(this.store.appId(key), container) as PolicyRow | undefined;
    return row ? view(row) : undefined;
  }

  delete(key: AppKey, container: string): boolean {
    return Number(this.store.db.prepare("DELETE FROM retention_policies WHERE app_id = ? AND container_url = ?").run(this.store.appId(key), container).changes) > 0;
  }

  start(intervalMs = DEFAULT_SWEEP_INTERVAL_MS): void {
    this.timer = setInterval(() => void this.sweepAll(), intervalMs);
    this.timer.unref();
  }

  /** Deletes, in every registered container, the blobs last modified before now − retention. */
  async sweepAll(now = Date.now()): Promise<void> {
    const rows = this.store.db.prepare("SELECT * FROM retention_policies").all() as unknown as PolicyRow[];
    for (const row of rows) await this.sweepOnce(row, now);
  }

  /** Sweeps one container now (after an erasure, say) and answers its policy with the outcome. */
  async sweepNow(key: AppKey, container: string, now = Date.now()): Promise<RetentionPolicy | undefined> {
    const row = this.store.db.prepare("SELECT * FROM retention_policies WHERE app_id = ? AND container_url = ?").get(this.store.appId(key), container) as PolicyRow | undefined;
    if (!row) return undefined;
    await this.sweepOnce(row, now);
    return this.get(key, container);
  }

  private sweepOnce(row: PolicyRow, now: number): Promise<void> {
    const id = `${row.app_id} ${row.container_url}`;
    const under = this.running.get(id);
    if (under) return under;
    const sweep = this.sweep(row, now).finally(() => this.running.delete(id));
    this.running.set(id, sweep);
    return sweep;
  }

  private async sweep(row: PolicyRow, now: number): Promise<void> {
    const cutoff = now - row.retention_days * DAY;
    let deleted = 0;
    let error: string | null = null;
    try {
      const client = containerClient(new URL(this.box.open(row.sas_sealed)));
      for await (const blob of client.listBlobsFlat()) {
        const modified = blob.properties.lastModified?.getTime() ?? now;
        if (modified < cutoff) {
          await client.deleteBlob(blob.name, { deleteSnapshots: "include" });
          deleted++;
        }
      }
    } catch (e) {
      const failure = e as { statusCode?: number; code?: string; message?: string };
      error =
        failure.statusCode === 403
          ? `the retention grant for ${row.container_url} was refused (expired or revoked?): run pulumi up to renew it`
          : `sweeping ${row.container_url} failed: ${failure.code ?? failure.message?.split("\n")[0] ?? String(e)}`;
    }
    this.store.db
      .prepare("UPDATE retention_policies SET last_sweep_at = ?, last_sweep_deleted = ?, last_sweep_error = ? WHERE app_id = ? AND container_url = ?")
      .run(now, deleted, error, row.app_id, row.container_url);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
