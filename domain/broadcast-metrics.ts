// CloudKit-style broadcast push metrics export (seeds: CloudKit broadcast-metrics export): a date
// range request answered with a status URL, then a CSV download. Dates are calendar days (UTC).
import { z } from "zod";
import { LIMITS } from "./limits.ts";

export const broadcastMetricsRequestSchema = z
  .object({
    startDate: z.iso.date(),
    endDate: z.iso.date(),
    /** Channel metrics only: the channel's id, base64-encoded bytes (here: an audience name). */
    channelId: z.base64().optional(),
  })
  .strict();
export type BroadcastMetricsRequest = z.infer<typeof broadcastMetricsRequestSchema>;

export const BROADCAST_METRICS_STATUSES = ["PROCESSING", "SUCCESS", "FAILED", "EXPIRED"] as const;
export type BroadcastMetricsStatus = (typeof BROADCAST_METRICS_STATUSES)[number];

/** The CSV's columns; a count below the suppression threshold is written as -1. */
export const BROADCAST_METRICS_COLUMNS = ["date", "bundle_id", "channel_id", "subscribers", "messages_sent", "messages_delivered", "messages_opened"] as const;
/** Counts from 1 to this are suppressed (-1), so a report never singles out a handful of people. */
export const SUPPRESSION_THRESHOLD = 9;

const DAY = 86_400_000;
const startOfDay = (ms: number) => Math.floor(ms / DAY) * DAY;

/** Why a date range may not be requested, or undefined. */
export function broadcastRangeProblem(startDate: string, endDate: string, now = Date.now()): string | undefined {
  const start = Date.parse(`${startDate}T00:00:00Z`);
  const end = Date.parse(`${endDate}T00:00:00Z`);
  const today = startOfDay(now);
  const back = LIMITS.broadcastMetricsStartDaysBack;
  const ago = LIMITS.broadcastMetricsEndDaysAgoMin;
  if (end < start) return `endDate must not be before startDate (got ${startDate} → ${endDate})`;
  if (start < today - back.value * DAY) return `startDate must be at most ${back.value} days back, i.e. ${new Date(today - back.value * DAY).toISOString().slice(0, 10)} or later (got ${startDate}; ${back.source})`;
  if (end > today - ago.value * DAY) return `endDate must be at least ${ago.value} day ago, i.e. ${new Date(today - ago.value * DAY).toISOString().slice(0, 10)} or earlier (got ${endDate}; ${ago.source})`;
  return undefined;
}

export const suppress = (count: number): number => (count > 0 && count <= SUPPRESSION_THRESHOLD ? -1 : count);
