// The Braze dialect's series (seeds: Braze export: sessions, custom events, revenue, purchase
// quantity): which buckets a query asks for, how a bucket is labelled, and the fixed rates that
// turn a purchase's currency into the USD the revenue series reports.
//
// A series is `length` units (day or hour, UTC) ending with the unit that holds `ending_at`
// (default: now), oldest first. A day is labelled `YYYY-MM-DD`, an hour `YYYY-MM-DDTHH:00:00Z`
// (the seed: ISO 8601 date for days, extended for hours). An event counts in the unit its timestamp
// falls in; a unit ends at the start of the next (half-open).
import { z } from "zod";
import { LIMITS } from "./limits.ts";

export const SERIES_UNITS = ["day", "hour"] as const;
export type SeriesUnit = (typeof SERIES_UNITS)[number];
const UNIT_MS: Record<SeriesUnit, number> = { day: 86_400_000, hour: 3_600_000 };
export const HOUR_MS = UNIT_MS.hour;
export const DAY_MS = UNIT_MS.day;

const lengthMessage = `must be between ${LIMITS.dataSeriesLengthMin.value} and ${LIMITS.dataSeriesLengthMax.value} inclusive (${LIMITS.dataSeriesLengthMax.source})`;
/** How many units a series holds (a job's option: a JSON number). */
export const seriesLengthSchema = z.number().int(lengthMessage).min(LIMITS.dataSeriesLengthMin.value, lengthMessage).max(LIMITS.dataSeriesLengthMax.value, lengthMessage);

/**
 * A whole number as a query parameter: decimal digits only (no sign, exponent, hex, spaces or
 * leading zeros), given once; the message says what it is when it is missing or malformed.
 */
export const digitsParam = (what: string) =>
  z
    .string({ error: paramError(what) })
    .regex(/^(0|[1-9][0-9]*)$/, `must be ${what}, in decimal digits without leading zeros`)
    .transform(Number);
/** A text query parameter (an id or a name), given once and not empty; the message says what it is when it is missing. */
export const textParam = (what: string) => z.string({ error: paramError(what) }).min(1, `must not be empty: ${what}`);
function paramError(what: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? `is required: ${what}` : Array.isArray(issue.input) ? "must be given once" : `must be ${what}`);
}
/** How many units a series holds, as its query parameter. */
export const seriesLengthParam = digitsParam(`a whole number from ${LIMITS.dataSeriesLengthMin.value} to ${LIMITS.dataSeriesLengthMax.value}`).pipe(seriesLengthSchema);
/** When the series ends: ISO 8601 with an offset, not in the future (checked against the clock when asked). */
export const endingAtSchema = z.iso.datetime({
  offset: true,
  error: (issue) =>
    `must be an ISO 8601 date and time with an offset, e.g. 2026-11-23T23:59:59-05:00${typeof issue.input === "string" && issue.input.includes(" ") ? " (a space: a + in a URL query must be sent as %2B)" : ""}`,
});

export interface SeriesQuery {
  readonly length: number;
  readonly unit: SeriesUnit;
  readonly ending_at?: string | undefined;
}

export interface Bucket {
  /** Start of the unit, epoch ms (UTC). */
  readonly start: number;
  readonly end: number;
  readonly label: string;
}

/** The first instant a label can name (ISO 8601's four-digit years; before it, labels turn to "-000001-…"). */
const EARLIEST_SERIES_START = Date.parse("0001-01-01T00:00:00Z");

/** The buckets a query asks for, oldest first; a message naming `ending_at` when it lies in the future or too far back. */
export function seriesBuckets(query: SeriesQuery, now = Date.now()): Bucket[] | { problem: string } {
  const ending = query.ending_at === undefined ? now : Date.parse(query.ending_at);
  if (ending > now) return { problem: `ending_at: ${query.ending_at} is in the future; a series ends now at the latest` };
  const size = UNIT_MS[query.unit];
  const last = Math.floor(ending / size) * size;
  if (last - (query.length - 1) * size < EARLIEST_SERIES_START) {
    return { problem: `ending_at: ${query.length} ${query.unit}${query.length === 1 ? "" : "s"} ending at ${query.ending_at} would begin before 0001-01-01T00:00:00Z` };
  }
  return Array.from({ length: query.length }, (_, i) => {
    const start = last - (query.length - 1 - i) * size;
    const iso = new Date(start).toISOString();
    return { start, end: start + size, label: query.unit === "day" ? iso.slice(0, 10) : `${iso.slice(0, 13)}:00:00Z` };
  });
}

/**
 * USD per unit of each currency a purchase may be in: fixed rates (2026-11-01 reference rates,
 * rounded), so a revenue series does not move when a market does. A currency not listed is
 * refused at ingest, naming the ones that are.
 */
export const USD_PER_UNIT: Readonly<Record<string, number>> = {
  USD: 1,
  EUR: 1.08,
  GBP: 1.27,
  JPY: 0.0066,
  CAD: 0.73,
  AUD: 0.66,
  BRL: 0.18,
  INR: 0.012,
  MXN: 0.055,
  CHF: 1.13,
  SEK: 0.094,
};
export const CURRENCIES = Object.keys(USD_PER_UNIT);

/** An amount in USD cents (a whole number; a currency without a rate: 0, refused at ingest anyway). */
export const usdCents = (amount: number, currency: string): number => {
  const rate = USD_PER_UNIT[currency];
  return rate === undefined ? 0 : Math.round(amount * rate * 100);
};

// ---- campaigns (seeds: Braze export: campaigns/list, details, data_series) ----
// A campaign is one notification (its id and name); every one is sent through the API, so each is
// an API campaign with a single variation (no multivariate arrays, no control group).

/** Braze's message type for each push channel a device may have (seeds: "Possible message types"). */
export const BRAZE_PUSH_MESSAGE_TYPES = { apns: "apple_push", fcm: "android_push", wns: "windows_universal_push" } as const;

/** The statistics each push message type reports per day (seeds: the `android_push` object, with unique opens). */
export const CAMPAIGN_PUSH_STATS = ["sent", "direct_opens", "total_opens", "unique_opens", "bounces", "unique_recipients"] as const;

/**
 * A conversion: a device's first purchase within this many hours after its first open of the
 * campaign's push (Braze's default conversion deadline is three days).
 */
export const CONVERSION_WINDOW_HOURS = 72;

/** Braze's schedule type for a notification: sent when the API asked (an API-triggered campaign). */
export const CAMPAIGN_SCHEDULE_TYPE = "api_triggered";
