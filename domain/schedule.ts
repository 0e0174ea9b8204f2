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

/**
 * The shortest time between two consecutive runs of a schedule over the year after `from` (a cron
 * expression's runs repeat within a year, leap days and month lengths aside), in minutes; null when
 * it runs at most once, or the schedule is not valid (nextRun says why).
 */
export function shortestInterval(schedule: string, from: Date): number | null {
  const first = nextRun(schedule, from);
  if ("problem" in first || first.at === null) return null;
  const cron = new Cron(schedule.trim(), { paused: true, timezone: "Etc/UTC" });
  const until = from.getTime() + 366 * 86_400_000;
  let shortest: number | null = null;
  let previous = first.at;
  // At most one run a minute: a year of runs is bounded (and a schedule that fires every minute ends the walk at once).
  for (let next = cron.nextRun(previous); next && next.getTime() <= until; next = cron.nextRun(next)) {
    const minutes = (next.getTime() - previous.getTime()) / 60_000;
    shortest = shortest === null ? minutes : Math.min(shortest, minutes);
    if (shortest <= 1) break;
    previous = next;
  }
  return shortest;
}

/** For a new or changed schedule: when it first fires, or what is wrong with it (one that never fires is wrong). */
export function firstRun(schedule: string, after: Date): { at: Date } | { problem: string } {
  const next = nextRun(schedule, after);
  if ("problem" in next) return next;
  return next.at ? { at: next.at } : { problem: `'${schedule}' never fires after ${after.toISOString()}` };
}
