// Export jobs: one-off or cron-scheduled exports of an app, with their SAS URL sealed and their next run time.
import type { ExportKind } from "../../domain/index.ts";
import type { Store } from "../store.ts";

export interface ExportJobRow {
  id: string;
  options: string;
  app_id: number;
  kind: ExportKind;
  schedule: string | null;
  sas_sealed: string;
  prefix: string;
  next_run_at: number | null;
}

/** What a job is set to: created with, or changed to. */
export type ExportJobSettings = Pick<ExportJobRow, "kind" | "schedule" | "sas_sealed" | "prefix" | "next_run_at" | "options">;

export class ExportJobs {
  constructor(private readonly store: Store) {}

  /** Records a job, created now. */
  insert(job: Pick<ExportJobRow, "id" | "app_id"> & ExportJobSettings): void {
    this.store.db
      .prepare("INSERT INTO export_jobs (id, app_id, kind, schedule, sas_sealed, prefix, next_run_at, created_at, options) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(job.id, job.app_id, job.kind, job.schedule, job.sas_sealed, job.prefix, job.next_run_at, Date.now(), job.options);
  }

  update(id: string, job: ExportJobSettings): void {
    this.store.db
      .prepare("UPDATE export_jobs SET kind = ?, schedule = ?, sas_sealed = ?, prefix = ?, next_run_at = ?, options = ? WHERE id = ?")
      .run(job.kind, job.schedule, job.sas_sealed, job.prefix, job.next_run_at, job.options, id);
  }

  delete(appId: number, id: string): boolean {
    return Number(this.store.db.prepare("DELETE FROM export_jobs WHERE id = ? AND app_id = ?").run(id, appId).changes) > 0;
  }

  find(id: string): ExportJobRow | undefined {
    return this.store.db.prepare("SELECT * FROM export_jobs WHERE id = ?").get(id) as ExportJobRow | undefined;
  }

  findInApp(appId: number, id: string): ExportJobRow | undefined {
    return this.store.db.prepare("SELECT * FROM export_jobs WHERE id = ? AND app_id = ?").get(id, appId) as ExportJobRow | undefined;
  }

  /** The app's jobs of one kind. */
  ofKind(appId: number, kind: ExportKind): ExportJobRow[] {
    return this.store.db.prepare("SELECT * FROM export_jobs WHERE app_id = ? AND kind = ?").all(appId, kind) as unknown as ExportJobRow[];
  }

  /** Replaces a job's options (an erasure taking its subject out of them). */
  setOptions(id: string, options: string): void {
    this.store.db.prepare("UPDATE export_jobs SET options = ? WHERE id = ?").run(options, id);
  }

  /** Moves the job to its next run time (null: it runs no more). */
  setNextRun(id: string, nextRunAt: number | null): void {
    this.store.db.prepare("UPDATE export_jobs SET next_run_at = ? WHERE id = ?").run(nextRunAt, id);
  }

  /** Every job of any app that has a run to come. */
  scheduled(): { id: string; app_id: number; next_run_at: number }[] {
    return this.store.db.prepare("SELECT id, app_id, next_run_at FROM export_jobs WHERE next_run_at IS NOT NULL").all() as unknown as { id: string; app_id: number; next_run_at: number }[];
  }
}
