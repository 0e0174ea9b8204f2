// Export runs: each run of an export, its SAS sealed so any process may resume it, its progress and outcome.
import type { ExportKind } from "../../domain/index.ts";
import type { Store } from "../store.ts";

export type RunState = "InProgress" | "Completed" | "Failed";

export interface ExportRunRow {
  id: string;
  app_id: number;
  options: string;
  job_id: string | null;
  kind: ExportKind;
  state: RunState;
  started_at: number;
  finished_at: number | null;
  rows_written: number;
  total_rows: number | null;
  blob_name: string | null;
  error: string | null;
  sas_sealed: string | null;
}

export class ExportRuns {
  constructor(private readonly store: Store) {}

  /** Records a run InProgress, started now; joins the caller's transaction. */
  /** The app's runs of one kind: id and options. */
  optionsOfKind(appId: number, kind: ExportKind): { id: string; options: string }[] {
    return this.store.db.prepare("SELECT id, options FROM export_runs WHERE app_id = ? AND kind = ?").all(appId, kind) as unknown as { id: string; options: string }[];
  }

  /** Replaces a run's recorded options (an erasure taking its subject out of them). */
  setOptions(id: string, options: string): void {
    this.store.db.prepare("UPDATE export_runs SET options = ? WHERE id = ?").run(options, id);
  }

  insert(run: Pick<ExportRunRow, "id" | "app_id" | "job_id" | "kind" | "options" | "blob_name" | "sas_sealed">): void {
    this.store.db
      .prepare("INSERT INTO export_runs (id, app_id, job_id, kind, state, started_at, options, blob_name, sas_sealed) VALUES (?, ?, ?, ?, 'InProgress', ?, ?, ?, ?)")
      .run(run.id, run.app_id, run.job_id, run.kind, Date.now(), run.options, run.blob_name, run.sas_sealed);
  }

  find(id: string): ExportRunRow | undefined {
    return this.store.db.prepare("SELECT * FROM export_runs WHERE id = ?").get(id) as ExportRunRow | undefined;
  }

  findInApp(appId: number, id: string): ExportRunRow | undefined {
    return this.store.db.prepare("SELECT * FROM export_runs WHERE id = ? AND app_id = ?").get(id, appId) as ExportRunRow | undefined;
  }

  /** The job's newest run. */
  lastOfJob(jobId: string): ExportRunRow | undefined {
    return this.store.db.prepare("SELECT * FROM export_runs WHERE job_id = ? ORDER BY started_at DESC, id DESC LIMIT 1").get(jobId) as ExportRunRow | undefined;
  }

  /** The job's newest runs, at most `top`. */
  ofJob(appId: number, jobId: string, top: number): ExportRunRow[] {
    return this.store.db
      .prepare("SELECT * FROM export_runs WHERE job_id = ? AND app_id = ? ORDER BY started_at DESC, id DESC LIMIT ?")
      .all(jobId, appId, top) as unknown as ExportRunRow[];
  }

  /** A raw event export of the app in progress, other than `except`. */
  rawEventExportInProgress(appId: number, except?: string): { id: string } | undefined {
    return this.store.db
      .prepare(`SELECT id FROM export_runs WHERE app_id = ? AND kind = 'raw_event_export' AND state = 'InProgress'${except === undefined ? "" : " AND id != ?"}`)
      .get(appId, ...(except === undefined ? [] : [except])) as { id: string } | undefined;
  }

  /** Records a run's progress while it is in progress. */
  /** A run of the app still writing that was created by `before`: what it writes may hold data erased since. */
  inProgressCreatedBy(appId: number, before: number): { id: string } | undefined {
    return this.store.db.prepare("SELECT id FROM export_runs WHERE app_id = ? AND state = 'InProgress' AND started_at <= ? LIMIT 1").get(appId, before) as { id: string } | undefined;
  }

  progress(id: string, rowsWritten: number, totalRows: number | null): void {
    this.store.db.prepare("UPDATE export_runs SET rows_written = ?, total_rows = ? WHERE id = ? AND state = 'InProgress'").run(rowsWritten, totalRows, id);
  }

  /** Ends a run Completed; `note` is kept as its error (a callback that failed, say), `blobName` replaces its target. */
  complete(id: string, result: { written: number; note: string | null; blobName: string | null }): void {
    this.store.db
      .prepare("UPDATE export_runs SET state = 'Completed', finished_at = ?, rows_written = ?, error = ?, blob_name = coalesce(?, blob_name) WHERE id = ?")
      .run(Date.now(), result.written, result.note, result.blobName, id);
  }

  /** Ends a run in progress Failed with the reason. */
  fail(id: string, reason: string): void {
    this.store.db.prepare("UPDATE export_runs SET state = 'Failed', finished_at = ?, error = ? WHERE id = ? AND state = 'InProgress'").run(Date.now(), reason, id);
  }

  /** Ends Failed, with the reason, every run in progress recorded without its SAS (no process can resume it). */
  failUnresumable(reason: string): void {
    this.store.db.prepare("UPDATE export_runs SET state = 'Failed', finished_at = ?, error = ? WHERE state = 'InProgress' AND sas_sealed IS NULL").run(Date.now(), reason);
  }
}
