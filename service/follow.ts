// `pushplane-service export follow`: follows an export run over the API with a progress bar, so a
// long export shows how far it is; exits 0 when it completes, 1 when it fails (with the reason).
import { SingleBar } from "cli-progress";
import { PushplaneClient, type ExportRunResult } from "../client/client.ts";

export interface FollowOptions {
  endpoint: string;
  apiToken: string;
  owner: string;
  app: string;
  /** A run id, or a job id whose latest run is followed (waiting for its first if that is due within a minute). */
  runId?: string;
  jobId?: string;
  intervalMs?: number;
  out?: NodeJS.WriteStream;
}

const FIRST_RUN_WAIT_MS = 60_000;

export async function followExport(options: FollowOptions): Promise<ExportRunResult> {
  const client = new PushplaneClient({ endpoint: options.endpoint, apiToken: options.apiToken });
  const ref = { owner: options.owner, app: options.app };
  const current = async (): Promise<ExportRunResult> => {
    if (options.runId) {
      const run = await client.getExportRun(ref, options.runId);
      if (!run) throw new Error(`export run '${options.runId}' not found in ${ref.owner}/${ref.app}`);
      return run;
    }
    const waitUntil = Date.now() + FIRST_RUN_WAIT_MS;
    for (;;) {
      const job = await client.getExportJob(ref, options.jobId!);
      if (!job) throw new Error(`export job '${options.jobId}' not found in ${ref.owner}/${ref.app}`);
      if (job.last_run) return job.last_run;
      // A job just created (a one-off runs at the scheduler's next tick): wait for it, not for a nightly one.
      const due = job.next_run_time ? Date.parse(job.next_run_time) : Infinity;
      if (due > waitUntil) throw new Error(`export job '${options.jobId}' has not run yet; next run at ${job.next_run_time ?? "never"}`);
      if (Date.now() > waitUntil) throw new Error(`export job '${options.jobId}' was due at ${job.next_run_time} but has not started: is the service's scheduler running?`);
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
    }
  };
  const bar = new SingleBar({ format: "export {run} |{bar}| {percentage}% {value}/{total} rows {status}", stream: options.out ?? process.stderr, noTTYOutput: true, notTTYSchedule: 1000 });
  let run = await current();
  bar.start(run.total_rows ?? 0, run.rows_written, { run: run.export_id.slice(0, 8), status: run.status });
  while (run.status === "InProgress") {
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
    run = await current();
    bar.setTotal(run.total_rows ?? 0);
    bar.update(run.rows_written, { status: run.status });
  }
  bar.update(run.rows_written, { status: run.status });
  bar.stop();
  return run;
}
