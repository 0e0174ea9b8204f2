// Export jobs and runs: one-off or cron-scheduled exports into a container through a SAS URL. Every
// run is an item of the background runner (whichever process holds its lease executes it; one that
// died mid-run is resumed by another once its lease expires), and so is every job's schedule (an
// item due at the job's next run time, which creates a run and reschedules itself). Export kinds are
// one registry: options schema, where the output goes, and how it is written.
import { randomUUID } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import type { z } from "zod";
import {
  brazeSeriesJobOptionsSchema,
  broadcastJobRange,
  broadcastMetricsJobOptionsSchema,
  DAY_MS,
  firstRun,
  HOUR_MS,
  LIMITS,
  nextRun,
  rawEventJobOptionsSchema,
  segmentExportOptionsSchema,
  usersByIdJobOptionsSchema,
  type UsersByIdJobOptions,
  type BrazeSeriesJobOptions,
  type BroadcastMetricsJobOptions,
  type ExportKind,
  type RawEventExportRequest,
  type SegmentExportOptions,
} from "../../domain/index.ts";
import type { AudienceCounter } from "../audience-counts.ts";
import { unknownCampaign, type BrazeSeries } from "../braze-series.ts";
import type { DeviceStore } from "../devices.ts";
import { ApiError, badRequest, zodIssues } from "../errors.ts";
import { redactSecrets, redactUrl, type Outbound } from "../outbound.ts";
import type { ExportJobRow, ExportJobSettings } from "../repositories/export-jobs.ts";
import type { ExportRunRow, RunState } from "../repositories/export-runs.ts";
import type { Repositories } from "../repositories/index.ts";
import type { Runner } from "../runner.ts";
import type { SecretBox } from "../secret-box.ts";
import type { SqlWorkers } from "../sql-worker.ts";
import type { AppKey, Store } from "../store.ts";
import { seriesFile } from "./braze-series.ts";
import { broadcastMetricsCsv } from "./broadcast-metrics.ts";
import type { CopyDestination, ExportedCopies } from "./copies.ts";
import { exportDevices } from "./device-export.ts";
import { exportRawEvents } from "./raw-events.ts";
import { checkSasUrl } from "./sas.ts";
import { exportSegmentUsers, USER_EXPORT_FIELDS, type UserExportField } from "./users.ts";

const RUN = "export.run";
const SCHEDULE = "export.schedule";

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
  options: Record<string, unknown>;
  schedule: string | null;
  prefix: string;
  /** Where exports go, without the SAS query. */
  container: string;
  next_run_time: string | null;
  last_run: ExportRun | null;
  /** Set when the job's schedule could not be run and was set aside (the reason). */
  schedule_error: string | null;
}

export interface JobSpec {
  kind: ExportKind;
  /** Kind-specific options (segment_export: SegmentExportOptions). */
  options?: Record<string, unknown> | undefined;
  schedule?: string | undefined;
  sasUrl: string;
  prefix?: string | undefined;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toRun(row: ExportRunRow): ExportRun {
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

/** A run failure whose message is already the sentence to show. */
class RunError extends Error {}

/** What a kind's writer gets: where to write and how to report progress. */
interface RunContext {
  runId: string;
  appId: number;
  app: AppKey;
  container: ContainerClient;
  /** The same container as exported copies record it (copies.ts). */
  destination: CopyDestination;
  /** The blob (or folder of parts) the run writes, fixed when the run was created. */
  target: string;
  progress(rows: number, total: number | null): void;
  signal: AbortSignal;
}

/** What a run wrote; `note` is kept on the run (a callback that failed, say); `blobName` replaces the target. */
interface RunResult {
  written: number;
  note?: string | null;
  blobName?: string;
}

/** One export kind: its options, where a run's output goes, and the writer. */
interface ExportKindSpec<O extends Record<string, unknown>> {
  /** Checks options, answering them normalized (defaults filled) or a 400 naming the field. */
  options(raw: Record<string, unknown> | undefined): O;
  /** Checks options against what the app holds when the job is made or changed (a 400 naming the field). */
  check?(options: O, app: AppKey): void;
  /** Options as one run uses them: a relative window becomes fixed dates, once, as of `at` (when the run is due). */
  forRun?(options: O, at: number): O;
  target(run: { runId: string; prefix: string; day: string; options: O }): string;
  write(options: O, context: RunContext): Promise<RunResult>;
}

const parseOptions = <S extends z.ZodType>(schema: S, raw: Record<string, unknown> | undefined): z.infer<S> => {
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) throw badRequest(zodIssues(parsed.error, "options"));
  return parsed.data;
};

/** A one-off raw event export's fixed window; a job's is relative (the last window_days before each run). */
type RawEventOptions = { starting_at?: string; ending_at?: string; event_names?: string[]; callback_endpoint?: string; window_days?: number };
/** A broadcast-metrics run: the job's options and the days this run reports on. */
type BroadcastMetricsRunOptions = BroadcastMetricsJobOptions & { startDate?: string; endDate?: string };

/** Refuses a users export field the export does not know (seeds: Braze export, fields_to_export). */
function checkUserFields<T extends { fields_to_export?: string[] | undefined }>(options: T): T {
  const unknown = (options.fields_to_export ?? []).filter((f) => !(USER_EXPORT_FIELDS as readonly string[]).includes(f));
  if (unknown.length > 0) throw new ApiError("BadRequest", `options.fields_to_export: unknown field(s) ${unknown.join(", ")}; known: ${USER_EXPORT_FIELDS.join(", ")}`);
  return options;
}

/** The end (last millisecond, ISO) of the last whole unit of a series before `now`. */
const lastWholeUnitEnd = (options: BrazeSeriesJobOptions, now: number): string => {
  const unit = options.unit === "hour" ? HOUR_MS : DAY_MS;
  return new Date(Math.floor(now / unit) * unit - 1).toISOString();
};

export class ExportService {
  private readonly kinds: { [K in ExportKind]: ExportKindSpec<Record<string, unknown>> };

  constructor(
    private readonly store: Store,
    private readonly repositories: Repositories,
    private readonly devices: DeviceStore,
    private readonly box: SecretBox,
    private readonly counter: AudienceCounter,
    private readonly runner: Runner,
    private readonly workers: SqlWorkers,
    private readonly outbound: Outbound,
    private readonly copies: ExportedCopies,
    private readonly brazeSeries: BrazeSeries,
  ) {
    this.kinds = {
      device_export: {
        options: () => ({}),
        target: ({ runId, prefix, day }) => `${prefix}device-exports/${day}/${runId}.jsonl`,
        write: async (_options, run) => {
          const copy = this.copies.track(run.appId, run.destination, run.target, "jsonl");
          try {
            const written = await exportDevices(this.store, this.devices, run.appId, run.container, run.target, (rows, total) => run.progress(rows, total), {
              key: this.copies.filterKey,
              filtered: (filter) => copy.written(filter),
            });
            return { written };
          } catch (error) {
            copy.failed();
            throw error;
          }
        },
      },
      raw_event_export: {
        // A job's window is relative (the last window_days before each run), so it always lies within the last 3 months.
        options: (raw) => parseOptions(rawEventJobOptionsSchema, raw),
        target: ({ prefix }) => `${prefix}appboy-event-data/`,
        write: async (options: RawEventOptions, run) => {
          // One raw export at a time per app (seeds: Braze export): a scheduled run that finds another running fails, saying so.
          const other = this.repositories.exportRuns.rawEventExportInProgress(run.appId, run.runId);
          if (other) throw new RunError(`another raw event export (${other.id}) was in progress; only one runs at a time (seeds: Braze export)`);
          const to = options.ending_at ? Date.parse(options.ending_at) : Date.now();
          const from = options.starting_at ? Date.parse(options.starting_at) : to - (options.window_days ?? 1) * DAY_MS;
          const result = await exportRawEvents(
            this.repositories.events,
            run.appId,
            `${run.app.owner}-${run.app.app}`,
            { from, to },
            options.event_names,
            run.container,
            run.target.replace(/appboy-event-data\/$/, ""),
            (rows) => run.progress(rows, null),
            (eventsBlob, propertiesBlob) => this.copies.track(run.appId, run.destination, eventsBlob, "csv.zip", propertiesBlob),
          );
          const note = options.callback_endpoint ? await this.callBack(options.callback_endpoint, run.target, result.files, run.signal) : null;
          return { written: result.rows, note, blobName: result.files[0]! };
        },
      },
      broadcast_metrics_export: {
        // The window is relative too (the last window_days, ending yesterday), so every run meets the seed's range rules.
        options: (raw) => parseOptions(broadcastMetricsJobOptionsSchema, raw),
        // A run's days are fixed once, when it is created, so its blob name and its report agree.
        forRun: (options, at) => ({ ...options, ...broadcastJobRange((options as BroadcastMetricsJobOptions).window_days, at) }),
        target: ({ prefix, options }) => `${prefix}${broadcastMetricsBlobName(options as Required<BroadcastMetricsRunOptions>)}`,
        write: async (options: BroadcastMetricsRunOptions, run) => {
          const { csv, days } = await broadcastMetricsCsv(
            this.workers,
            this.repositories.broadcastMetrics,
            { appId: run.appId, bundleId: options.bundle_id, channelId: options.channel_id ?? null, startDate: options.startDate!, endDate: options.endDate! },
            run.signal,
          );
          run.progress(0, days);
          await run.container
            .getBlockBlobClient(run.target)
            .upload(csv, Buffer.byteLength(csv), { blobHTTPHeaders: { blobContentType: "text/csv; charset=utf-8" }, abortSignal: run.signal });
          return { written: days };
        },
      },
      braze_series_export: {
        options: (raw) => parseOptions(brazeSeriesJobOptionsSchema, raw),
        // A campaign (a notification: not declared beside the job) must exist already. A segment is
        // looked up when each run starts, so a job may be declared in the same stack as its audience.
        check: (options: BrazeSeriesJobOptions, app) => {
          if (options.campaign_id !== undefined && !this.repositories.notifications.findInApp(this.store.appId(app), options.campaign_id)) {
            throw new ApiError("BadRequest", `options.${unknownCampaign(app, options.campaign_id).message}`);
          }
        },
        // A run reports the `length` whole units before the one it was due in (a late run still writes its own slot's).
        forRun: (options, at) => ({ ...options, ending_at: lastWholeUnitEnd(options as BrazeSeriesJobOptions, at) }),
        target: ({ prefix, day, runId, options }) => `${prefix}braze-series/${(options as BrazeSeriesJobOptions).series}/${day}/${runId}.${(options as BrazeSeriesJobOptions).format}`,
        write: async (options: BrazeSeriesJobOptions & { ending_at: string }, run) => {
          const { series, format, ...request } = options;
          let points: object[];
          try {
            points = await this.brazeSeries.compute(series, run.app, request);
          } catch (error) {
            // An unknown segment or campaign (removed since the job was made) ends the run, saying which.
            if (error instanceof ApiError) throw new RunError(`${series} series: ${error.message}`);
            throw error;
          }
          const file = seriesFile(points, format);
          await run.container
            .getBlockBlobClient(run.target)
            .upload(file.body, Buffer.byteLength(file.body), { blobHTTPHeaders: { blobContentType: file.contentType }, abortSignal: run.signal });
          run.progress(points.length, points.length);
          return { written: points.length };
        },
      },
      segment_export: {
        options: (raw) => {
          const parsed = checkUserFields(parseOptions(segmentExportOptionsSchema, raw));
          if (parsed.callback_endpoint) this.outbound.checkUrl("options.callback_endpoint", parsed.callback_endpoint);
          return parsed;
        },
        target: ({ prefix, day, options }) => `${prefix}segment-export/${(options as SegmentExportOptions).segment_id}/${day}/${randomUUID()}-${Math.floor(Date.now() / 1000)}/`,
        write: async (options: SegmentExportOptions, run) => {
          const audience = this.repositories.audiences.get(run.app, options.segment_id);
          if (!audience) throw new RunError(`segment (audience) '${options.segment_id}' no longer exists in app '${run.app.owner}/${run.app.app}'`);
          const result = await exportSegmentUsers(
            this.repositories,
            this.devices,
            run.appId,
            `${run.app.owner}/${run.app.app}`,
            () => this.counter.memberUserIds(run.app, audience.definition, audience.customProperties),
            run.container,
            run.target,
            options.output_format,
            options.fields_to_export as UserExportField[] | undefined,
            (users) => run.progress(users, null),
            (blobName, format) => this.copies.track(run.appId, run.destination, blobName, format),
          );
          const note = options.callback_endpoint ? await this.callBack(options.callback_endpoint, run.target, result.files, run.signal) : null;
          return { written: result.users, note };
        },
      },
      users_by_id_export: {
        options: (raw) => checkUserFields(parseOptions(usersByIdJobOptionsSchema, raw)),
        target: ({ prefix, day, runId }) => `${prefix}users-by-id/${day}/${runId}/`,
        // The users the job names, as the segment export writes its users; an id the app does not know is skipped.
        write: async (options: UsersByIdJobOptions, run) => {
          const result = await exportSegmentUsers(
            this.repositories,
            this.devices,
            run.appId,
            `${run.app.owner}/${run.app.app}`,
            () => [[...new Set(options.external_ids)]],
            run.container,
            run.target,
            options.output_format,
            options.fields_to_export as UserExportField[] | undefined,
            (users) => run.progress(users, options.external_ids.length),
            (blobName, format) => this.copies.track(run.appId, run.destination, blobName, format),
          );
          return { written: result.users };
        },
      },
    } as { [K in ExportKind]: ExportKindSpec<Record<string, unknown>> };

    runner.register<{ runId: string }>(RUN, {
      run: ({ runId }, context) => this.execute(runId, context.signal),
      dead: ({ runId }, reason) => this.fail(runId, reason),
      // Storage failures end the run (Failed, with the reason) on the first attempt; attempts are for crashes.
      maxAttempts: 3,
      timeoutMs: 6 * 3_600_000,
    });
    runner.register<{ jobId: string }>(SCHEDULE, {
      run: ({ jobId }) => {
        const { again } = this.fire(jobId);
        return Promise.resolve(again === undefined ? undefined : { again });
      },
      dead: ({ jobId }) => this.repositories.exportJobs.setNextRun(jobId, null),
      maxAttempts: 5,
    });
  }

  /** Queues the work a store from before the runner left: due jobs get schedule items; runs that cannot be resumed fail. */
  resumeLegacy(): void {
    this.store.transaction(() => {
      // Runs recorded without their SAS cannot be resumed by any process: they fail, saying why.
      this.repositories.exportRuns.failUnresumable("the service stopped while this run was in progress; it was not resumed (a scheduled job runs again at its next time)");
      for (const job of this.repositories.exportJobs.scheduled()) {
        if (!this.runner.item(SCHEDULE, job.id)) this.runner.enqueue(SCHEDULE, job.id, { appId: job.app_id, payload: { jobId: job.id }, runAt: job.next_run_at });
      }
    });
  }

  private checkSas(sasUrl: string): URL {
    return checkSasUrl(this.outbound, "blob_container_sas_uri", sasUrl, ["c", "w"]);
  }

  /**
   * Records a run and queues it; answers its id and where its output goes. Joins the caller's
   * transaction. `at` is when the run is due — a scheduled job's time, however late it fires — which
   * fixes its window and its blob's date.
   */
  private createRun(
    appId: number,
    kind: ExportKind,
    jobId: string | null,
    sasSealed: string,
    prefix: string,
    options: Record<string, unknown>,
    at = Date.now(),
  ): { runId: string; target: string } {
    const runId = randomUUID();
    const spec = this.kinds[kind];
    const runOptions = spec.forRun ? spec.forRun(options, at) : options;
    const target = spec.target({ runId, prefix, day: new Date(at).toISOString().slice(0, 10), options: runOptions });
    this.repositories.exportRuns.insert({ id: runId, app_id: appId, job_id: jobId, kind, options: JSON.stringify(runOptions), blob_name: target, sas_sealed: sasSealed });
    this.runner.enqueue(RUN, runId, { appId, payload: { runId } });
    return { runId, target };
  }

  // ---- one-off exports: App Center device export (swagger Push_ExportDevices) and Braze-style ones ----

  startDeviceExport(key: AppKey, sasUrl: string): string {
    this.checkSas(sasUrl);
    const appId = this.repositories.apps.id(key);
    return this.store.transaction(() => this.createRun(appId, "device_export", null, this.box.seal(sasUrl), "", {}).runId);
  }

  /** seeds: Braze export, Users by Segment. */
  startSegmentExport(key: AppKey, sasUrl: string, options: Record<string, unknown>): { runId: string; objectPrefix: string } {
    this.checkSas(sasUrl);
    const checked = this.kinds.segment_export.options(options) as SegmentExportOptions;
    if (!this.repositories.audiences.get(key, checked.segment_id)) throw new ApiError("BadRequest", `segment_id: audience '${checked.segment_id}' not found in app '${key.owner}/${key.app}'`);
    const appId = this.repositories.apps.id(key);
    const { runId, target } = this.store.transaction(() => this.createRun(appId, "segment_export", null, this.box.seal(sasUrl), "", checked));
    return { runId, objectPrefix: target.split("/").at(-2)! };
  }

  /** seeds: Braze export, Raw Event Stream Export: a window of at most a week in the last 3 months, one at a time. */
  startRawEventExport(key: AppKey, request: RawEventExportRequest, now = Date.now()): string {
    this.checkSas(request.blob_container_sas_uri);
    if (request.callback_endpoint) this.outbound.checkUrl("callback_endpoint", request.callback_endpoint);
    const from = Date.parse(request.starting_at);
    const to = Date.parse(request.ending_at);
    const window = LIMITS.rawEventExportWindowDays;
    const lookback = LIMITS.rawEventExportLookbackDays;
    if (to <= from) throw new ApiError("BadRequest", `ending_at must be after starting_at (got ${request.starting_at} → ${request.ending_at})`);
    if (to - from > window.value * DAY_MS) {
      throw new ApiError("BadRequest", `the window must be at most ${window.value} days (${window.unit}; got ${((to - from) / DAY_MS).toFixed(1)} days; ${window.source}): export longer periods a week at a time`);
    }
    if (from < now - lookback.value * DAY_MS) {
      throw new ApiError("BadRequest", `starting_at must be within the last ${lookback.value} days (${lookback.unit}; got ${request.starting_at}; ${lookback.source})`);
    }
    const appId = this.repositories.apps.id(key);
    return this.store.transaction(() => {
      const running = this.repositories.exportRuns.rawEventExportInProgress(appId);
      if (running) {
        throw new ApiError("TooManyRequests", `a raw event export (${running.id}) is already in progress for this app; only one runs at a time (seeds: Braze export)`, 30);
      }
      const options = { starting_at: request.starting_at, ending_at: request.ending_at, event_names: request.event_names, callback_endpoint: request.callback_endpoint };
      return this.createRun(appId, "raw_event_export", null, this.box.seal(request.blob_container_sas_uri), "", options).runId;
    });
  }

  // ---- jobs ----

  /** Checks a job; answers its options normalized and its first run time (a one-off job runs now). */
  private validate(key: AppKey, spec: JobSpec): { options: Record<string, unknown>; firstRunAt: number } {
    this.checkSas(spec.sasUrl);
    const options = this.kinds[spec.kind].options(spec.options);
    this.kinds[spec.kind].check?.(options, key);
    if (!spec.schedule) return { options, firstRunAt: Date.now() };
    // The parser the runner uses: a schedule accepted here always has a next run to compute.
    const first = firstRun(spec.schedule, new Date());
    if ("problem" in first) throw new ApiError("BadRequest", `schedule: ${first.problem}`);
    return { options, firstRunAt: first.at.getTime() };
  }

  createJob(key: AppKey, spec: JobSpec): ExportJob {
    const { options, firstRunAt } = this.validate(key, spec);
    const id = randomUUID();
    const appId = this.repositories.apps.id(key);
    this.store.transaction(() => {
      this.repositories.exportJobs.insert({ id, app_id: appId, ...this.jobSettings(spec, options, firstRunAt) });
      this.runner.enqueue(SCHEDULE, id, { appId, payload: { jobId: id }, runAt: firstRunAt });
    });
    return this.getJob(key, id)!;
  }

  /** Changes a job; a one-off job whose first run already happened does not run again. */
  updateJob(key: AppKey, id: string, spec: JobSpec): ExportJob | undefined {
    const job = this.jobRow(key, id);
    if (!job) return undefined;
    const { options, firstRunAt } = this.validate(key, spec);
    // A one-off job keeps its state: it either ran already or is still due.
    const nextRunAt = spec.schedule ? firstRunAt : job.next_run_at;
    this.store.transaction(() => {
      this.repositories.exportJobs.update(id, this.jobSettings(spec, options, nextRunAt));
      if (nextRunAt !== null) this.runner.enqueue(SCHEDULE, id, { appId: job.app_id, payload: { jobId: id }, runAt: nextRunAt });
      else this.runner.cancel(SCHEDULE, id);
    });
    return this.getJob(key, id);
  }

  deleteJob(key: AppKey, id: string): boolean {
    return this.store.transaction(() => {
      const deleted = this.repositories.exportJobs.delete(this.repositories.apps.id(key), id);
      // A schedule item that is running now finds its job gone and ends.
      if (deleted) this.runner.cancel(SCHEDULE, id);
      return deleted;
    });
  }

  /** A job as stored: its SAS sealed, its options as JSON. */
  private jobSettings(spec: JobSpec, options: Record<string, unknown>, nextRunAt: number | null): ExportJobSettings {
    return { kind: spec.kind, schedule: spec.schedule ?? null, sas_sealed: this.box.seal(spec.sasUrl), prefix: spec.prefix ?? "", next_run_at: nextRunAt, options: JSON.stringify(options) };
  }

  private jobRow(key: AppKey, id: string): ExportJobRow | undefined {
    return this.repositories.exportJobs.findInApp(this.repositories.apps.id(key), id);
  }

  getJob(key: AppKey, id: string): ExportJob | undefined {
    const row = this.jobRow(key, id);
    if (!row) return undefined;
    const last = this.repositories.exportRuns.lastOfJob(id);
    const schedule = this.runner.item(SCHEDULE, id);
    return {
      id: row.id,
      kind: row.kind,
      options: JSON.parse(row.options) as Record<string, unknown>,
      schedule: row.schedule,
      prefix: row.prefix,
      container: redactUrl(this.box.open(row.sas_sealed)),
      next_run_time: iso(row.next_run_at),
      last_run: last ? toRun(last) : null,
      schedule_error: schedule?.state === "dead" ? schedule.last_error : null,
    };
  }

  runs(key: AppKey, jobId: string, top = 30): ExportRun[] {
    return this.repositories.exportRuns.ofJob(this.repositories.apps.id(key), jobId, top).map(toRun);
  }

  getRun(key: AppKey, runId: string): ExportRun | undefined {
    const row = this.repositories.exportRuns.findInApp(this.repositories.apps.id(key), runId);
    return row ? toRun(row) : undefined;
  }

  // ---- the runner's side ----

  /**
   * Runs a job's schedule as of `now`: when due, creates its run and moves the job to its next time;
   * answers the run and when to look again. The runner calls it when the schedule item is due (only
   * the process holding the item's lease, so a due time yields one run whatever the number of
   * processes); tests call it with a `now` of their choosing.
   */
  fire(jobId: string, now = Date.now()): { runId?: string; again?: number } {
    return this.store.transaction(() => {
      const job = this.repositories.exportJobs.find(jobId);
      if (!job || job.next_run_at === null) return {};
      if (job.next_run_at > now) return { again: job.next_run_at };
      let next: number | null = null;
      if (job.schedule) {
        const computed = nextRun(job.schedule, new Date(Math.max(now, job.next_run_at)));
        // A schedule the store holds but the parser refuses (written by another version): the item
        // is retried, then set aside with this reason; the job's runs so far are untouched.
        if ("problem" in computed) throw new Error(`schedule: ${computed.problem}`);
        next = computed.at?.getTime() ?? null;
      }
      const { runId } = this.createRun(job.app_id, job.kind, job.id, job.sas_sealed, job.prefix, JSON.parse(job.options) as Record<string, unknown>, job.next_run_at);
      this.repositories.exportJobs.setNextRun(job.id, next);
      return next === null ? { runId } : { runId, again: next };
    });
  }

  /** Executes a run; whatever storage answers ends it Completed or Failed with a reason fit to show. */
  private async execute(runId: string, signal: AbortSignal): Promise<void> {
    const { apps, exportRuns } = this.repositories;
    const row = exportRuns.find(runId);
    if (!row || row.state !== "InProgress" || !row.sas_sealed) return;
    const sasUrl = this.box.open(row.sas_sealed);
    try {
      const app = apps.key(row.app_id);
      const result = await this.kinds[row.kind].write(JSON.parse(row.options) as Record<string, unknown>, {
        runId,
        appId: row.app_id,
        app,
        container: this.outbound.containerClient("blob_container_sas_uri", sasUrl, { abortSignal: signal }),
        destination: { kind: "sas", grant: sasUrl, containerUrl: redactUrl(sasUrl) },
        target: row.blob_name!,
        progress: (rows, total) => exportRuns.progress(runId, rows, total),
        signal,
      });
      exportRuns.complete(runId, { written: result.written, note: result.note ?? null, blobName: result.blobName ?? null });
    } catch (error) {
      // Stopped (this process is stopping, lost the lease, or the attempt timed out): the runner
      // decides — resumed by whoever holds the lease next, or Failed once attempts run out.
      if (signal.aborted) throw error;
      this.fail(runId, describeStorageError(error, sasUrl));
    }
  }

  private fail(runId: string, reason: string): void {
    this.repositories.exportRuns.fail(runId, redactSecrets(reason));
  }

  /** Tells the callback endpoint the export is ready (seeds: Braze export); a failure is noted, not fatal. */
  private async callBack(endpoint: string, target: string, files: string[], signal: AbortSignal): Promise<string | null> {
    const where = redactUrl(endpoint);
    try {
      const response = await this.outbound.fetch("callback_endpoint", endpoint, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ success: true, object_prefix: target.split("/").at(-2), files }),
        signal,
      });
      return response.ok ? null : `callback to ${where} answered ${response.status}`;
    } catch (error) {
      return `callback to ${where} failed: ${redactSecrets((error as Error).message)}`;
    }
  }
}

/**
 * Where a broadcast-metrics run writes: one CSV per dataset (and channel) and range, so a rerun of
 * the same range replaces its report instead of adding a second one.
 */
function broadcastMetricsBlobName(run: Required<BroadcastMetricsRunOptions>): string {
  const channel = run.channel_id ? `${Buffer.from(run.channel_id, "base64").toString("base64url")}/` : "";
  return `broadcast-metrics/${run.dataset}/${channel}${run.startDate}_${run.endDate}.csv`;
}

/** One sentence a person can act on, without the SAS signature or any other secret. */
function describeStorageError(error: unknown, sasUrl: string): string {
  if (error instanceof RunError) return error.message;
  const e = error as { statusCode?: number; code?: string; message?: string; name?: string; cause?: { code?: string } };
  const where = redactUrl(sasUrl);
  if (e.statusCode === 404 || e.code === "ContainerNotFound") return `container ${where} does not exist`;
  if (e.statusCode === 403) return `the storage service refused the SAS for ${where} (${e.code ?? "403"}): it may be expired, revoked or lack write permission`;
  if (e.name === "AbortError" || /timed out|aborted/i.test(e.message ?? "")) return `the storage service at ${new URL(sasUrl).origin} did not answer in time`;
  const network = e.code ?? e.cause?.code;
  if (network === "ECONNREFUSED" || network === "ENOTFOUND" || network === "ETIMEDOUT" || network === "REQUEST_SEND_ERROR" || network === "ECONNRESET") {
    return `could not reach the storage service at ${new URL(sasUrl).origin} (${network})`;
  }
  return `export to ${where} failed: ${redactSecrets((e.message ?? String(error)).split("\n")[0]!)}`;
}
