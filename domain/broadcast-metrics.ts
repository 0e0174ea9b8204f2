// CloudKit-style broadcast push metrics export (seeds: CloudKit broadcast-metrics export): a date
// range request answered with a status URL, then a CSV download. Dates are calendar days (UTC).
import { z } from "zod";
import { DATA_EXPORT_DATASETS } from "./data-export-token.ts";
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

/**
 * Options of a scheduled broadcast-metrics export (an ExportJob of kind broadcast_metrics_export):
 * each run writes the CSV for the last `window_days` complete days, ending yesterday, so the range
 * always satisfies the seed's rules (start at most 30 days back, end at least a day ago).
 */
export const broadcastMetricsJobOptionsSchema = z
  .object({
    dataset: z.enum(DATA_EXPORT_DATASETS).default("broadcast_application_metrics"),
    /** The bundle id written in the CSV's bundle_id column. */
    bundle_id: z.string().min(1),
    /** Channel metrics only: the channel (an audience name) as base64, as CloudKit names channels. */
    channel_id: z.base64().optional(),
    window_days: z.number().int().min(1).max(LIMITS.broadcastMetricsStartDaysBack.value).default(1),
  })
  .strict()
  .superRefine((options, context) => {
    if (options.dataset === "broadcast_channel_metrics" && !options.channel_id) {
      context.addIssue({ code: "custom", path: ["channel_id"], message: "is required for broadcast_channel_metrics (base64 of the channel's audience name)" });
    }
    if (options.dataset === "broadcast_application_metrics" && options.channel_id) {
      context.addIssue({ code: "custom", path: ["channel_id"], message: "applies to broadcast_channel_metrics only" });
    }
  });
export type BroadcastMetricsJobOptions = z.infer<typeof broadcastMetricsJobOptionsSchema>;

/** The calendar days (UTC) a job run at `now` reports on: the last `windowDays`, ending yesterday. */
export function broadcastJobRange(windowDays: number, now = Date.now()): { startDate: string; endDate: string } {
  const today = startOfDay(now);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { startDate: day(today - windowDays * DAY), endDate: day(today - LIMITS.broadcastMetricsEndDaysAgoMin.value * DAY) };
}

export const suppress = (count: number): number => (count > 0 && count <= SUPPRESSION_THRESHOLD ? -1 : count);
