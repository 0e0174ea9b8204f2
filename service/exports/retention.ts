// Retention for export containers: blobs older than the container's retention are deleted, so an
// erasure reaches exported copies within that period. The container's owner grants the service a
// list+delete SAS for this alone (the StorageContainer resource does, and renews it on `up`). Each
// container's sweep is an item of the background runner of its own, recurring, so one tenant's
// unreachable storage never delays another's sweep.
import { redactSecrets, redactUrl, type Outbound } from "../outbound.ts";
import type { Repositories } from "../repositories/index.ts";
import type { RetentionPolicyRow } from "../repositories/retention-policies.ts";
import type { Runner } from "../runner.ts";
import type { SecretBox } from "../secret-box.ts";
import type { AppKey, Store } from "../store.ts";
import { EXPORTED_AT } from "./copy-rewrite.ts";
import { checkSasUrl } from "./sas.ts";

const SWEEP = "retention.sweep";

const DAY = 86_400_000;

export interface RetentionPolicy {
  container: string;
  retention_days: number;
  grant_expires_at: string | null;
  last_sweep_at: string | null;
  last_sweep_deleted: number;
  last_sweep_error: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const view = (row: RetentionPolicyRow): RetentionPolicy => ({
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
  /** Sweeps under way in this process, by app and container: a due sweep and an on-demand one share the work. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly repositories: Repositories,
    private readonly box: SecretBox,
    private readonly runner: Runner,
    private readonly outbound: Outbound,
    private readonly intervalMs = DEFAULT_SWEEP_INTERVAL_MS,
  ) {
    runner.register<{ appId: number; container: string }>(SWEEP, {
      run: async ({ appId, container }, context) => {
        const row = this.row(appId, container);
        if (!row) return;
        await this.sweepOnce(row, Date.now(), context.signal);
        return { again: Date.now() + this.intervalMs };
      },
      timeoutMs: 15 * 60_000,
    });
  }

  private row(appId: number, container: string): RetentionPolicyRow | undefined {
    return this.repositories.retentionPolicies.find(appId, container);
  }

  /** Registers (or replaces) a container's retention; the SAS must allow list and delete. */
  set(key: AppKey, sasUrl: string, retentionDays: number): RetentionPolicy {
    const url = checkSasUrl(this.outbound, "blob_container_sas_uri", sasUrl, ["d", "l"]);
    const container = redactUrl(url);
    const expires = url.searchParams.get("se");
    const appId = this.repositories.apps.id(key);
    this.store.transaction(() => {
      this.repositories.retentionPolicies.put({
        app_id: appId,
        container_url: container,
        sas_sealed: this.box.seal(sasUrl),
        sas_expires_at: expires ? Date.parse(expires) : null,
        retention_days: retentionDays,
      });
      this.runner.enqueue(SWEEP, `${appId} ${container}`, { appId, payload: { appId, container }, runAt: Date.now() + this.intervalMs });
    });
    return this.get(key, container)!;
  }

  get(key: AppKey, container: string): RetentionPolicy | undefined {
    const row = this.row(this.repositories.apps.id(key), container);
    return row ? view(row) : undefined;
  }

  delete(key: AppKey, container: string): boolean {
    const appId = this.repositories.apps.id(key);
    return this.store.transaction(() => {
      const deleted = this.repositories.retentionPolicies.delete(appId, container);
      if (deleted) this.runner.cancel(SWEEP, `${appId} ${container}`);
      return deleted;
    });
  }

  /** Queues a sweep item for every policy a store from before the runner holds. */
  resumeLegacy(): void {
    const rows = this.repositories.retentionPolicies.all();
    this.store.transaction(() => {
      for (const row of rows) {
        const key = `${row.app_id} ${row.container_url}`;
        if (!this.runner.item(SWEEP, key)) this.runner.enqueue(SWEEP, key, { appId: row.app_id, payload: { appId: row.app_id, container: row.container_url }, runAt: Date.now() + this.intervalMs });
      }
    });
  }

  /** Sweeps every registered container now, each on its own (operators, tests: `now` may be in the future). */
  async sweepAll(now = Date.now()): Promise<void> {
    const rows = this.repositories.retentionPolicies.all();
    await Promise.allSettled(rows.map((row) => this.sweepOnce(row, now)));
  }

  /** Sweeps one container now (after an erasure, say) and answers its policy with the outcome. */
  async sweepNow(key: AppKey, container: string, now = Date.now()): Promise<RetentionPolicy | undefined> {
    const row = this.row(this.repositories.apps.id(key), container);
    if (!row) return undefined;
    await this.sweepOnce(row, now);
    return this.get(key, container);
  }

  private sweepOnce(row: RetentionPolicyRow, now: number, signal?: AbortSignal): Promise<void> {
    const id = `${row.app_id} ${row.container_url}`;
    const under = this.running.get(id);
    if (under) return under;
    const sweep = this.sweep(row, now, signal).finally(() => this.running.delete(id));
    this.running.set(id, sweep);
    return sweep;
  }

  private async sweep(row: RetentionPolicyRow, now: number, signal?: AbortSignal): Promise<void> {
    const cutoff = now - row.retention_days * DAY;
    let deleted = 0;
    let error: string | null = null;
    try {
      const client = this.outbound.containerClient("retention grant", this.box.open(row.sas_sealed), signal ? { abortSignal: signal } : {});
      for await (const blob of client.listBlobsFlat({ includeMetadata: true, abortSignal: signal })) {
        // An erasure's rewrite leaves the time the export wrote the blob: retention counts from then.
        const exportedAt = blob.metadata?.[EXPORTED_AT];
        const written = exportedAt ? Date.parse(exportedAt) : (blob.properties.lastModified?.getTime() ?? now);
        if (written < cutoff) {
          await client.deleteBlob(blob.name, { deleteSnapshots: "include", abortSignal: signal });
          this.repositories.exportCopies.forget(row.container_url, blob.name);
          deleted++;
        }
      }
    } catch (e) {
      const failure = e as { statusCode?: number; code?: string; message?: string };
      error =
        failure.statusCode === 403
          ? `the retention grant for ${row.container_url} was refused (expired or revoked?): run pulumi up to renew it`
          : `sweeping ${row.container_url} failed: ${redactSecrets(failure.code ?? failure.message?.split("\n")[0] ?? String(e))}`;
    }
    this.repositories.retentionPolicies.recordSweep(row.app_id, row.container_url, { at: now, deleted, error });
  }
}
