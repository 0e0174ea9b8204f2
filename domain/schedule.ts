// Cron schedules for export jobs (UTC), checked the same way at `pulumi preview` and in the service.
import { Cron } from "croner";

/** The next time `schedule` fires after `after`, or a sentence saying what is wrong with it. */
export function nextRun(schedule: string, after: Date): { at: Date } | { problem: string } {
  try {
    const next = new Cron(schedule, { paused: true, timezone: "Etc/UTC" }).nextRun(after);
    return next ? { at: next } : { problem: `'${schedule}' never fires` };
  } catch (error) {
    return { problem: `'${schedule}' is not a cron expression (${(error as Error).message})` };
  }
}
