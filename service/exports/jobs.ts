// Export jobs and runs: one-off or cron-scheduled exports into a container through a SAS URL. The
// schedule lives in the store: a due job is claimed with a compare-and-set on its next run time
// inside a write transaction, so two schedulers (or replicas) never start the same run twice. A run
// that was in progress when the service died is marked Failed with the reason on start-up.
import { randomUUID } from "node:crypto";
import {
  broadcastJobRange,
  broadcastMetricsJobOptionsSchema,
  LIMITS,
  nextRun,
  type BroadcastMetricsJobOptions,
  rawEventJobOptionsSchema,
  segmentExportOptionsSchema,
  type ExportKind,
  type RawEventExportRequest,
  type RawEventJobOptions,
  type SegmentExportOptions,
} from "../../domain/index.ts";
import type { AudienceCounter } from "../audience-counts.ts";
import type { DeviceStore } from "../devices.ts";
import { ApiError } from "../errors.ts";
import type { SecretBox } from "../secret-box.ts";
import type { AppKey, Store } from "../store.ts";
import { badRequest, zodIssues } from "../errors.ts";
import { broadcastMetricsCsv } from "./broadcast-metrics.ts";
import { exportDevices } from "./device-export.ts";
import { exportRawEvents } from "./raw-events.ts";
import { checkSasUrl, containerClient, redactSas } from "./sas.ts";
import { exportSegmentUsers, USER_EXPORT_FIELDS, type UserExportField } from "./users.ts";

/** A broadcast-metrics run: the job's options and the days this run reports on. */
type BroadcastMetricsRun = BroadcastMetricsJobOptions & { startDate: string; endDate: string };

/** What a run exports (every kind runs one-off or as a job). */
export type RunKind = ExportKind;
const DAY = 86_400_000;

export type RunState = "InProgress" | "Completed" | "Failed";

export interface ExportRun {
  export_id: string;
  job_id: string | null;
  kind: RunKind;
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
  options: Record<string, unknown>;
  schedule: string | null;
  prefix: string;
  /** Where exports go, without the SAS query. */
  container: string;
  next_run_time: string | null;
  last_run: ExportRun | null;
}

export interface JobSpec {
  kind: ExportKind;
  /** Kind-specific options (segment_export: SegmentExportOptions). */
  options?: Record<string, unknown> | undefined;
  schedule?: string | undefined;
  sasUrl: string;
  prefix?: string | undefined;
}

interface RunRow {
  id: string;
  options: string;
  job_id: string | null;
  kind: RunKind;
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
  options: string;
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
    private readonly counter: AudienceCounter,
  ) {}

  /** Checks a kind's options; answers them normalized (defaults filled) or throws a 400 naming the field. */
  private options(kind: ExportKind, options: Record<string, unknown> | undefined): Record<string, unknown> {
    if (kind === "device_export") return {};
    if (kind === "raw_event_export") {
      // A job's window is relative (the last window_days before each run), so it always lies within the last 3 months.
      const raw = rawEventJobOptionsSchema.safeParse(options ?? {});
      if (!raw.success) throw badRequest(zodIssues(raw.error, "options"));
      return raw.data;
    }
    if (kind === "broadcast_metrics_export") {
      // The window is relative too (the last window_days, ending yesterday), so every run meets the seed's range rules.
      const metrics = broadcastMetricsJobOptionsSchema.safeParse(options ?? {});
      if (!metrics.success) throw badRequest(zodIssues(metrics.error, "options"));
      return metrics.data;
    }
    const parsed = segmentExportOptionsSchema.safeParse(options ?? {});
    if (!parsed.success) throw badRequest(zodIssues(parsed.error, "options"));
    const unknown = (parsed.data.fields_to_export ?? []).filter((f) => !(USER_EXPORT_FIELDS as readonly string[]).includes(f));
    if (unknown.length > 0) throw new ApiError("BadRequest", `options.fields_to_export: unknown field(s) ${unknown.join(", ")}; known: ${USER_EXPORT_FIELDS.join(", ")}`);
    return parsed.data;
  }

  // ---- one-off Braze-style segment export (seeds: Braze export, Users by Segment) ----

  startSegmentExport(key: AppKey, sasUrl: string, options: Record<string, unknown>): { runId: string; objectPrefix: string } {
    checkSasUrl("blob_container_sas_uri", sasUrl, ["c", "w"]);
    const checked = this.options("segment_export", options) as SegmentExportOptions;
    if (!this.store.getAudience(key, checked.segment_id)) throw new ApiError("BadRequest", `segment_id: audience '${checked.segment_id}' not found in app '${key.owner}/${key.app}'`);
    const appId = this.store.appId(key);
    const runId = randomUUID();
    this.store.db
      .prepare("INSERT INTO export_runs (id, app_id, job_id, kind, state, started_at, options) VALUES (?, ?, NULL, 'segment_export', 'InProgress', ?, ?)")
      .run(runId, appId, Date.now(), JSON.stringify(checked));
    const objectPrefix = this.launch(runId, appId, "segment_export", sasUrl, "", checked);
    return { runId, objectPrefix };
  }

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
    this.launch(runId, appId, "device_export", sasUrl, "", {});
    return runId;
  }

  // ---- one-off raw event export (seeds: Braze export, Raw Event Stream Export) ----

  startRawEventExport(key: AppKey, request: RawEventExportRequest, now = Date.now()): string {
    checkSasUrl("blob_container_sas_uri", request.blob_container_sas_uri, ["c", "w"]);
    const from = Date.parse(request.starting_at);
    const to = Date.parse(request.ending_at);
    const window = LIMITS.rawEventExportWindowDays;
    const lookback = LIMITS.rawEventExportLookbackDays;
    if (to <= from) throw new ApiError("BadRequest", `ending_at must be after starting_at (got ${request.starting_at} → ${request.ending_at})`);
    if (to - from > window.value * DAY) {
      throw new ApiError("BadRequest", `the window must be at most ${window.value} days (${window.unit}; got ${((to - from) / DAY).toFixed(1)} days; ${window.source}): export longer periods a week at a time`);
    }
    if (from < now - lookback.value * DAY) {
      throw new ApiError("BadRequest", `starting_at must be within the last ${lookback.value} days (${lookback.unit}; got ${request.starting_at}; ${lookback.source})`);
    }
    const appId = this.store.appId(key);
    return this.store.transaction(() => {
      const running = this.store.db.prepare("SELECT id FROM export_runs WHERE app_id = ? AND kind = 'raw_event_export' AND state = 'InProgress'").get(appId) as { id: string } | undefined;
      if (running) {
        throw new ApiError("TooManyRequests", `a raw event export (${running.id}) is already in progress for this app; only one runs at a time (seeds: Braze export)`, 30);
      }
      const runId = randomUUID();
      const options = { starting_at: request.starting_at, ending_at: request.ending_at, event_names: request.event_names, callback_endpoint: request.callback_endpoint };
      this.store.db
        .prepare("INSERT INTO export_runs (id, app_id, job_id, kind, state, started_at, options) VALUES (?, ?, NULL, 'raw_event_export', 'InProgress', ?, ?)")
        .run(runId, appId, Date.now(), JSON.stringify(options));
      this.launch(runId, appId, "raw_event_export", request.blob_container_sas_uri, "", options);
      return runId;
    });
  }

  // ---- jobs ----

  private validate(spec: JobSpec): number | null {
    checkSasUrl("blob_container_sas_uri", spec.sasUrl, ["c", "w"]);
    this.options(spec.kind, spec.options);
    // A one-off job runs now; a scheduled one at its next time.
    return spec.schedule ? nextCronTime(spec.schedule, new Date()) : Date.now();
  }

  createJob(key: AppKey, spec: JobSpec): ExportJob {
    const nextRunAt = this.validate(spec);
    const id = randomUUID();
    this.store.db
      .prepare("INSERT INTO export_jobs (id, app_id, kind, schedule, sas_sealed, prefix, next_run_at, created_at, options) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(id, this.store.appId(key), spec.kind, spec.schedule ?? null, this.box.seal(spec.sasUrl), spec.prefix ?? "", nextRunAt, Date.now(), JSON.stringify(this.options(spec.kind, spec.options)));
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
      .prepare("UPDATE export_jobs SET kind = ?, schedule = ?, sas_sealed = ?, prefix = ?, next_run_at = ?, options = ? WHERE id = ?")
      .run(spec.kind, spec.schedule ?? null, this.box.seal(spec.sasUrl), spec.prefix ?? "", nextRunAt, JSON.stringify(this.options(spec.kind, spec.options)), id);
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
      options: JSON.parse(row.options) as Record<string, unknown>,
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
          .prepare("INSERT INTO export_runs (id, app_id, job_id, kind, state, started_at, options) VALUES (?, ?, ?, ?, 'InProgress', ?, ?)")
          .run(runId, job.app_id, job.id, job.kind, now, job.options);
        runs.push({ runId, job });
      }
      return runs;
    });
    for (const { runId, job } of claimed) this.launch(runId, job.app_id, job.kind, this.box.open(job.sas_sealed), job.prefix, JSON.parse(job.options) as Record<string, unknown>);
    return claimed.map((c) => c.runId);
  }

  /** Starts a run in the background; answers where its output goes (a blob, or a folder of parts). */
  private launch(runId: string, appId: number, kind: RunKind, sasUrl: string, prefix: string, options: Record<string, unknown>): string {
    const day = new Date().toISOString().slice(0, 10);
    // A broadcast-metrics run's days are fixed here once, so its blob name and its report agree.
    const runOptions = kind === "broadcast_metrics_export" ? { ...options, ...broadcastJobRange((options as BroadcastMetricsJobOptions).window_days) } : options;
    const target =
      kind === "device_export"
        ? `${prefix}device-exports/${day}/${runId}.jsonl`
        : kind === "raw_event_export"
          ? `${prefix}appboy-event-data/`
          : kind === "broadcast_metrics_export"
            ? `${prefix}${broadcastMetricsBlobName(runOptions as BroadcastMetricsRun)}`
            : `${prefix}segment-export/${(options as SegmentExportOptions).segment_id}/${day}/${randomUUID()}-${Math.floor(Date.now() / 1000)}/`;
    this.store.db.prepare("UPDATE export_runs SET blob_name = ? WHERE id = ?").run(target, runId);
    const work = this.execute(runId, appId, kind, sasUrl, target, runOptions).finally(() => this.running.delete(work));
    this.running.add(work);
    return target.split("/").at(-2) ?? target;
  }

  private async execute(runId: string, appId: number, kind: RunKind, sasUrl: string, target: string, options: Record<string, unknown>): Promise<void> {
    const db = this.store.db;
    const url = new URL(sasUrl);
    const progress = db.prepare("UPDATE export_runs SET rows_written = ?, total_rows = ? WHERE id = ?");
    try {
      let written: number;
      let note: string | null = null;
      if (kind === "device_export") {
        written = await exportDevices(this.store, this.devices, appId, containerClient(url), target, (rows, total) => progress.run(rows, total, runId));
      } else if (kind === "raw_event_export") {
        const raw = options as { starting_at?: string; ending_at?: string; event_names?: string[]; callback_endpoint?: string } & Partial<RawEventJobOptions>;
        const app = db.prepare("SELECT owner_name AS owner, app_name AS app FROM apps WHERE id = ?").get(appId) as unknown as AppKey;
        // One raw export at a time per app (seeds: Braze export): a scheduled run that finds another running fails, saying so.
        const other = db.prepare("SELECT id FROM export_runs WHERE app_id = ? AND kind = 'raw_event_export' AND state = 'InProgress' AND id != ?").get(appId, runId) as { id: string } | undefined;
        if (other) throw new RunError(`another raw event export (${other.id}) was in progress; only one runs at a time (seeds: Braze export)`);
        const to = raw.ending_at ? Date.parse(raw.ending_at) : Date.now();
        const from = raw.starting_at ? Date.parse(raw.starting_at) : to - (raw.window_days ?? 1) * DAY;
        const result = await exportRawEvents(
          this.store,
          appId,
          `${app.owner}-${app.app}`,
          { from, to },
          raw.event_names,
          containerClient(url),
          target.replace(/appboy-event-data\/$/, ""),
          (rows) => progress.run(rows, null, runId),
        );
        written = result.rows;
        db.prepare("UPDATE export_runs SET blob_name = ? WHERE id = ?").run(result.files[0]!, runId);
        if (raw.callback_endpoint) note = await this.callBack(raw.callback_endpoint, target, result.files);
      } else if (kind === "broadcast_metrics_export") {
        const metrics = options as BroadcastMetricsRun;
        const { csv, days } = broadcastMetricsCsv(this.store, {
          appId,
          bundleId: metrics.bundle_id,
          channelId: metrics.channel_id ?? null,
          startDate: metrics.startDate,
          endDate: metrics.endDate,
        });
        progress.run(0, days, runId);
        await containerClient(url)
          .getBlockBlobClient(target)
          .upload(csv, Buffer.byteLength(csv), { blobHTTPHeaders: { blobContentType: "text/csv; charset=utf-8" } });
        written = days;
      } else {
        const segment = options as SegmentExportOptions;
        const app = db.prepare("SELECT owner_name AS owner, app_name AS app FROM apps WHERE id = ?").get(appId) as unknown as AppKey;
        const audience = this.store.getAudience(app, segment.segment_id);
        if (!audience) throw new RunError(`segment (audience) '${segment.segment_id}' no longer exists in app '${app.owner}/${app.app}'`);
        const result = await exportSegmentUsers(
          this.store,
          this.devices,
          appId,
          `${app.owner}/${app.app}`,
          () => this.counter.memberUserIds(app, audience.definition, audience.customProperties),
          containerClient(url),
          target,
          segment.output_format,
          segment.fields_to_export as UserExportField[] | undefined,
          (users) => progress.run(users, null, runId),
        );
        written = result.users;
        if (segment.callback_endpoint) note = await this.callBack(segment.callback_endpoint, target, result.files);
      }
      db.prepare("UPDATE export_runs SET state = 'Completed', finished_at = ?, rows_written = ?, error = ? WHERE id = ?").run(Date.now(), written, note, runId);
    } catch (error) {
      db.prepare("UPDATE export_runs SET state = 'Failed', finished_at = ?, error = ? WHERE id = ?").run(Date.now(), describeStorageError(error, url), runId);
    }
  }

  /** Tells the callback endpoint the export is ready (seeds: Braze export); a failure is noted, not fatal. */
  private async callBack(endpoint: string, target: string, files: string[]): Promise<string | null> {
    try {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ success: true, object_prefix: target.split("/").at(-2), files }),
        signal: AbortSignal.timeout(10_000),
      });
      return response.ok ? null : `callback to ${new URL(endpoint).origin} answered ${response.status}`;
    } catch (error) {
      return `callback to ${new URL(endpoint).origin} failed: ${(error as Error).message}`;
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

/**
 * Where a broadcast-metrics run writes: one CSV per dataset (and channel) and range, so a rerun of
 * the same range replaces its report instead of adding a second one.
 */
function broadcastMetricsBlobName(run: BroadcastMetricsRun): string {
  const channel = run.channel_id ? `${Buffer.from(run.channel_id, "base64").toString("base64url")}/` : "";
  return `broadcast-metrics/${run.dataset}/${channel}${run.startDate}_${run.endDate}.csv`;
}

/** A run failure whose message is already the sentence to show. */
class RunError extends Error {}

/** One sentence a person can act on, without the SAS signature. */
function describeStorageError(error: unknown, url: URL): string {
  if (error instanceof RunError) return error.message;
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
