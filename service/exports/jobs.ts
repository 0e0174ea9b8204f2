// Export jobs and runs: one-off or cron-scheduled exports into a container through a SAS URL. The
// schedule lives in the store: a due job is claimed with a compare-and-set on its next run time
// inside a write transaction, so two schedulers (or replicas) never start the same run twice. A run
// that was in progress when the service died is marked Failed with the reason on start-up.
import { randomUUID } from "node:crypto";
import { nextRun, type ExportKind } from "../../domain/index.ts";
import type { DeviceStore } from "../devices.ts";
import { ApiError } from "../errors.ts";
import type { SecretBox } from "../secret-box.ts";
import type { AppKey, Store } from "../store.ts";
import { exportDevices } from "./device-export.ts";
import { checkSasUrl, containerClient, redactSas } from "./sas.ts";

export type RunState = "InProgress" | "Completed" | "Failed";

export interface ExportRun {
  export_id: string;
  job_id: string | null;
  kind: ExportKind;
  status: RunState;
  started_at: string;
  finished_at: string | null;
  rows_written: number;
  total_rows: number | null;
  percent: number | null;
  blob_name: string | null;
  error: string | null;
}

export interface ExportJob {
  id: string;
  kind: ExportKind;
  schedule: string | null;
  prefix: string;
  /** Where exports go, without the SAS query. */
  container: string;
  next_run_time: string | null;
  last_run: ExportRun | null;
}

export interface JobSpec {
  kind: ExportKind;
  schedule?: string | undefined;
  sasUrl: string;
  prefix?: string | undefined;
}

interface RunRow {
  id: string;
  job_id: string | null;
  kind: ExportKind;
  state: RunState;
  started_at: number;
  finished_at: number | null;
  rows_written: number;
  total_rows: number | null;
  blob_name: string | null;
  error: string | null;
}
interface JobRow {
  id: string;
  app_id: number;
  kind: ExportKind;
  schedule: string | null;
  sas_sealed: string;
  prefix: string;
  next_run_at: number | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toRun(row: RunRow): ExportRun {
  return {
    export_id: row.id,
    job_id: row.job_id,
    kind: row.kind,
    status: row.state,
    started_at: iso(row.started_at)!,
    finished_at: iso(row.finished_at),
    rows_written: row.rows_written,
    total_rows: row.total_rows,
    percent: row.total_rows ? Math.round((100 * row.rows_written) / row.total_rows) : row.state === "Completed" ? 100 : null,
    blob_name: row.blob_name,
    error: row.error,
  };
}

/** The next time a cron expression fires after `after` (UTC), or a 400 naming the field. */
export function nextCronTime(schedule: string, after: Date, field = "schedule"): number {
  const next = nextRun(schedule, after);
  if ("problem" in next) throw new ApiError("BadRequest", `${field}: ${next.problem}`);
  return next.at.getTime();
}

export class ExportService {
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly devices: DeviceStore,
    private readonly box: SecretBox,
  ) {}

  /** Recovers interrupted runs and starts the scheduler's tick. */
  start(tickMs = 1_000): void {
    this.store.db
      .prepare("UPDATE export_runs SET state = 'Failed', finished_at = ?, error = ? WHERE state = 'InProgress'")
      .run(Date.now(), "the service stopped while this run was in progress; it was not resumed (a scheduled job runs again at its next time)");
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  // ---- one-off device exports (swagger Push_ExportDevices) ----

  startDeviceExport(key: AppKey, sasUrl: string): string {
    checkSasUrl("blob_container_sas_uri", sasUrl, ["c", "w"]);
    const appId = this.store.appId(key);
    const runId = randomUUID();
    this.store.db
      .prepare("INSERT INTO export_runs (id, app_id, job_id, kind, state, started_at) VALUES (?, ?, NULL, 'device_export', 'InProgress', ?)")
      .run(runId, appId, Date.now());
    this.launch(runId, appId, "device_export", sasUrl, "");
    return runId;
  }

  // ---- jobs ----

  private validate(spec: JobSpec): number | null {
    checkSasUrl("blob_container_sas_uri", spec.sasUrl, ["c", "w"]);
    // A one-off job runs now; a scheduled one at its next time.
    return spec.schedule ? nextCronTime(spec.schedule, new Date()) : Date.now();
  }

  createJob(key: AppKey, spec: JobSpec): ExportJob {
    const nextRunAt = this.validate(spec);
    const id = randomUUID();
    this.store.db
      .prepare("INSERT INTO export_jobs (id, app_id, kind, schedule, sas_sealed, prefix, next_run_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .run(id, this.store.appId(key), spec.kind, spec.schedule ?? null, this.box.seal(spec.sasUrl), spec.prefix ?? "", nextRunAt, Date.now());
    return this.getJob(key, id)!;
  }

  /** Changes a job; a one-off job whose first run already happened does not run again. */
  updateJob(key: AppKey, id: string, spec: JobSpec): ExportJob | undefined {
    const job = this.jobRow(key, id);
    if (!job) return undefined;
    const scheduledNext = this.validate(spec);
    // A one-off job keeps its state: it either ran already or is still due.
    const nextRunAt = spec.schedule ? scheduledNext : job.next_run_at;
    this.store.db
      .prepare("UPDATE export_jobs SET kind = ?, schedule = ?, sas_sealed = ?, prefix = ?, next_run_at = ? WHERE id = ?")
      .run(spec.kind, spec.schedule ?? null, this.box.seal(spec.sasUrl), spec.prefix ?? "", nextRunAt, id);
    return this.getJob(key, id);
  }

  deleteJob(key: AppKey, id: string): boolean {
    return Number(this.store.db.prepare("DELETE FROM export_jobs WHERE id = ? AND app_id = ?").run(id, this.store.appId(key)).changes) > 0;
  }

  private jobRow(key: AppKey, id: string): JobRow | undefined {
    return this.store.db.prepare("SELECT * FROM export_jobs WHERE id = ? AND app_id = ?").get(id, this.store.appId(key)) as JobRow | undefined;
  }

  getJob(key: AppKey, id: string): ExportJob | undefined {
    const row = this.jobRow(key, id);
    if (!row) return undefined;
    const last = this.store.db.prepare("SELECT * FROM export_runs WHERE job_id = ? ORDER BY started_at DESC, id DESC LIMIT 1").get(id) as RunRow | undefined;
    return {
      id: row.id,
      kind: row.kind,
      schedule: row.schedule,
      prefix: row.prefix,
      container: redactSas(new URL(this.box.open(row.sas_sealed))),
      next_run_time: iso(row.next_run_at),
      last_run: last ? toRun(last) : null,
    };
  }

  runs(key: AppKey, jobId: string, top = 30): ExportRun[] {
    const rows = this.store.db
      .prepare("SELECT * FROM export_runs WHERE job_id = ? AND app_id = ? ORDER BY started_at DESC, id DESC LIMIT ?")
      .all(jobId, this.store.appId(key), top) as unknown as RunRow[];
    return rows.map(toRun);
  }

  getRun(key: AppKey, runId: string): ExportRun | undefined {
    const row = this.store.db.prepare("SELECT * FROM export_runs WHERE id = ? AND app_id = ?").get(runId, this.store.appId(key)) as RunRow | undefined;
    return row ? toRun(row) : undefined;
  }

  // ---- scheduling and running ----

  /** Claims every due job (compare-and-set on next_run_at) and starts its run. */
  tick(now = Date.now()): string[] {
    if (this.closed) return [];
    const claimed = this.store.transaction(() => {
      const due = this.store.db.prepare("SELECT * FROM export_jobs WHERE next_run_at IS NOT NULL AND next_run_at <= ?").all(now) as unknown as JobRow[];
      const runs: { runId: string; job: JobRow }[] = [];
      for (const job of due) {
        const next = job.schedule ? nextCronTime(job.schedule, new Date(Math.max(now, job.next_run_at!))) : null;
        const won = this.store.db.prepare("UPDATE export_jobs SET next_run_at = ? WHERE id = ? AND next_run_at = ?").run(next, job.id, job.next_run_at).changes;
        if (Number(won) !== 1) continue;
        const runId = randomUUID();
        this.store.db
          .prepare("INSERT INTO export_runs (id, app_id, job_id, kind, state, started_at) VALUES (?, ?, ?, ?, 'InProgress', ?)")
          .run(runId, job.app_id, job.id, job.kind, now);
        runs.push({ runId, job });
      }
      return runs;
    });
    for (const { runId, job } of claimed) this.launch(runId, job.app_id, job.kind, this.box.open(job.sas_sealed), job.prefix);
    return claimed.map((c) => c.runId);
  }

  private launch(runId: string, appId: number, kind: ExportKind, sasUrl: string, prefix: string): void {
    const work = this.execute(runId, appId, kind, sasUrl, prefix).finally(() => this.running.delete(work));
    this.running.add(work);
  }

  private async execute(runId: string, appId: number, kind: ExportKind, sasUrl: string, prefix: string): Promise<void> {
    const db = this.store.db;
    const url = new URL(sasUrl);
    const blobName = `${prefix}${kind.replace("_", "-")}s/${new Date().toISOString().slice(0, 10)}/${runId}.jsonl`;
    db.prepare("UPDATE export_runs SET blob_name = ? WHERE id = ?").run(blobName, runId);
    const progress = db.prepare("UPDATE export_runs SET rows_written = ?, total_rows = ? WHERE id = ?");
    try {
      const written = await exportDevices(this.store, this.devices, appId, containerClient(url), blobName, (rows, total) => progress.run(rows, total, runId));
      db.prepare("UPDATE export_runs SET state = 'Completed', finished_at = ?, rows_written = ? WHERE id = ?").run(Date.now(), written, runId);
    } catch (error) {
      db.prepare("UPDATE export_runs SET state = 'Failed', finished_at = ?, error = ? WHERE id = ?").run(Date.now(), describeStorageError(error, url), runId);
    }
  }

  /** Waits for the runs in flight (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.idle();
  }
}

/** One sentence a person can act on, without the SAS signature. */
function describeStorageError(error: unknown, url: URL): string {
  const e = error as { statusCode?: number; code?: string; message?: string; cause?: { code?: string } };
  const where = redactSas(url);
  if (e.statusCode === 404 || e.code === "ContainerNotFound") return `container ${where} does not exist`;
  if (e.statusCode === 403) return `the storage service refused the SAS for ${where} (${e.code ?? "403"}): it may be expired, revoked or lack write permission`;
  const network = e.code ?? e.cause?.code;
  if (network === "ECONNREFUSED" || network === "ENOTFOUND" || network === "ETIMEDOUT" || network === "REQUEST_SEND_ERROR") {
    return `could not reach the storage service at ${url.origin} (${network})`;
  }
  return `export to ${where} failed: ${(e.message ?? String(error)).split("\n")[0]!.replace(/sig=[^&\s]+/g, "sig=REDACTED")}`;
}
