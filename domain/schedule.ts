// Cron schedules for export jobs (UTC), checked the same way at `pulumi preview`, when the service
// accepts a job, and when its runner computes the next run: one parser, one grammar.
import { Cron } from "croner";

/**
 * Five fields (minute hour day-of-month month day-of-week) or a nickname such as `@daily`: the
 * service schedules to the minute, so croner's optional seconds and year fields are refused.
 */
const FIELDS = 5;

/** The next time `schedule` fires after `after`, `null` when it never fires again, or what is wrong with it. */
export function nextRun(schedule: string, after: Date): { at: Date | null } | { problem: string } {
  const text = schedule.trim();
  const fields = text.split(/\s+/).length;
  if (!text.startsWith("@") && fields !== FIELDS) {
    return { problem: `'${schedule}' has ${fields} fields; a schedule has ${FIELDS} (minute hour day-of-month month day-of-week, UTC) or is a nickname such as @daily` };
  }
  try {
    return { at: new Cron(text, { paused: true, timezone: "Etc/UTC" }).nextRun(after) };
  } catch (error) {
    return { problem: `'${schedule}' is not a cron expression (${(error as Error).message})` };
  }
}

/** For a new or changed schedule: when it first fires, or what is wrong with it (one that never fires is wrong). */
export function firstRun(schedule: string, after: Date): { at: Date } | { problem: string } {
  const next = nextRun(schedule, after);
  if ("problem" in next) return next;
  return next.at ? { at: next.at } : { problem: `'${schedule}' never fires after ${after.toISOString()}` };
}
