// CloudKit-style data export tokens (seeds: CloudKit broadcast-metrics export): one app (bundle
// id), one dataset, an expiry at most six months ahead; the value is shown once, at creation.
import { z } from "zod";
import { LIMITS } from "./limits.ts";

export const DATA_EXPORT_DATASETS = ["broadcast_application_metrics", "broadcast_channel_metrics"] as const;
export type DataExportDataset = (typeof DATA_EXPORT_DATASETS)[number];

/** A token's lifetime when its resource gives neither an expiry nor a lifetime. */
export const DATA_EXPORT_TOKEN_DEFAULT_LIFETIME_DAYS = 90;

export const dataExportTokenRequestSchema = z
  .object({
    name: z.string().min(1).max(128),
    description: z.string().max(512).optional(),
    bundle_id: z.string().regex(/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/, "must be a bundle identifier such as com.example.app"),
    dataset: z.enum(DATA_EXPORT_DATASETS),
    expires_at: z.iso.datetime({ offset: true }),
  })
  .strict();
export type DataExportTokenRequest = z.infer<typeof dataExportTokenRequestSchema>;

/** The latest expiry allowed for a token created at `now`: six calendar months ahead. */
export function latestTokenExpiry(now: Date): Date {
  const latest = new Date(now);
  latest.setUTCMonth(latest.getUTCMonth() + LIMITS.dataExportTokenMonths.value);
  return latest;
}

/** Why an expiry is not allowed, or undefined when it is. */
export function tokenExpiryProblem(expiresAt: string, now = new Date()): string | undefined {
  const at = Date.parse(expiresAt);
  if (Number.isNaN(at)) return `'${expiresAt}' is not an ISO-8601 date-time`;
  if (at <= now.getTime()) return `must be in the future (got ${expiresAt})`;
  const latest = latestTokenExpiry(now);
  if (at > latest.getTime()) {
    return `must be at most ${LIMITS.dataExportTokenMonths.value} months ahead, i.e. by ${latest.toISOString()} (got ${expiresAt}; ${LIMITS.dataExportTokenMonths.source})`;
  }
  return undefined;
}
