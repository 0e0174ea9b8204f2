// The Braze series, computed (seeds: Braze export; README: "The Braze dialect"): the KPIs, sessions,
// custom events, revenue and purchase quantity from the hourly rollups (repositories/event-rollups.ts,
// activity.ts), a segment's size from its recorded sizes, a campaign's daily stats from its
// deliveries and opens, and a series narrowed to a segment from its members' events on a worker
// thread. The /braze routes answer these points and the braze_series_export job writes them, so a
// file and an API answer say the same.
import {
  BRAZE_PUSH_MESSAGE_TYPES,
  CAMPAIGN_PUSH_STATS,
  CONVERSION_WINDOW_HOURS,
  DAY_MS,
  HOUR_MS,
  seriesBuckets,
  usdCents,
  type AppKey,
  type BrazeSeriesName,
  type BrazeSeriesPoint,
  type Bucket,
  type PushChannel,
  type SeriesUnit,
} from "../domain/index.ts";
import type { AudienceCounter } from "./audience-counts.ts";
import { quotedId } from "./braze.ts";
import { ApiError } from "./errors.ts";
import type { KpiActivity } from "./kpi-activity.ts";
import { EventRollups, type RollupKind } from "./repositories/event-rollups.ts";
import type { Repositories } from "./repositories/index.ts";
import type { SqlWorkers } from "./sql-worker.ts";
import type { Store } from "./store.ts";

/** What a series is asked for: its window and, for the series that take them, its parameters. */
export interface SeriesRequest {
  length: number;
  unit?: SeriesUnit | undefined;
  ending_at?: string | undefined;
  app_id?: string | undefined;
  event?: string | undefined;
  product?: string | undefined;
  segment_id?: string | undefined;
  campaign_id?: string | undefined;
}

export const unknownSegment = (key: AppKey, segmentId: string) =>
  new ApiError("BadRequest", `segment_id: unknown segment ${quotedId(segmentId)} in app group '${key.owner}/${key.app}' (a segment is an audience: /braze/segments/list names them)`);
export const unknownCampaign = (key: AppKey, campaignId: string) =>
  new ApiError("BadRequest", `campaign_id: unknown campaign ${quotedId(campaignId)} in app group '${key.owner}/${key.app}' (a campaign is a notification: /braze/campaigns/list names them)`);

/** Braze's message type of a push channel (a channel the service does not know stays as it is). */
export const messageType = (channel: string) => BRAZE_PUSH_MESSAGE_TYPES[channel as PushChannel] ?? channel;
type PushStats = Record<(typeof CAMPAIGN_PUSH_STATS)[number], number>;
const noStats = (): PushStats => Object.fromEntries(CAMPAIGN_PUSH_STATS.map((stat) => [stat, 0])) as PushStats;

/** Sums per-hour values into the buckets that span them. */
const perBucket = (buckets: readonly Bucket[], hours: ReadonlyMap<number, number>) =>
  buckets.map((bucket) => {
    let sum = 0;
    for (let hour = bucket.start / HOUR_MS; hour < bucket.end / HOUR_MS; hour++) sum += hours.get(hour) ?? 0;
    return sum;
  });

export class BrazeSeries {
  private readonly rollups: EventRollups;

  constructor(
    private readonly store: Store,
    private readonly repositories: Repositories,
    private readonly counter: AudienceCounter,
    private readonly workers: SqlWorkers,
    private readonly kpiActivity: KpiActivity,
  ) {
    this.rollups = new EventRollups(store);
  }

  /** The buckets a request asks for, or the seed's 400 naming the parameter; `app_id`, when sent, must be the app group's app. */
  buckets(key: AppKey, request: SeriesRequest, now = Date.now()): Bucket[] {
    if (request.app_id !== undefined && request.app_id !== `${key.owner}/${key.app}` && request.app_id !== key.app) {
      throw new ApiError("BadRequest", `app_id: ${quotedId(request.app_id)} is not an app of app group '${key.owner}/${key.app}' (each app group holds one app: leave app_id out)`);
    }
    const buckets = seriesBuckets({ length: request.length, unit: request.unit ?? "day", ending_at: request.ending_at }, now);
    if ("problem" in buckets) throw new ApiError("BadRequest", buckets.problem);
    return buckets;
  }

  /** A series' points, as its route answers them. */
  async compute<N extends BrazeSeriesName>(name: N, key: AppKey, request: SeriesRequest): Promise<BrazeSeriesPoint<N>[]> {
    const points = await this.points(name, key, request);
    return points as BrazeSeriesPoint<N>[];
  }

  private async points(name: BrazeSeriesName, key: AppKey, request: SeriesRequest): Promise<object[]> {
    const daily = { ...request, unit: "day" as const };
    // The activity KPIs count every event in: what the background has not recorded yet is, now.
    if (name === "dau" || name === "mau" || name === "new_users") await this.kpiActivity.catchUp();
    switch (name) {
      // The KPIs (README: "What the KPIs count"): counts per day; MAU the running total of its difference counts.
      case "dau":
        return this.labelled(key, daily, (buckets) => this.counts(key, buckets, "active"), "dau");
      case "new_users":
        return this.labelled(key, daily, (buckets) => this.counts(key, buckets, "new_user"), "new_users");
      case "uninstalls":
        return this.labelled(key, daily, (buckets) => this.counts(key, buckets, "uninstall"), "uninstalls");
      case "mau":
        return this.labelled(key, daily, (buckets) => this.mau(key, buckets), "mau");
      case "sessions":
        return this.labelled(key, request, (buckets) => this.events(key, buckets, request.segment_id, "session", "session_start"), "sessions");
      case "custom_event":
        return this.labelled(key, request, (buckets) => this.events(key, buckets, request.segment_id, "custom", "custom", request.event), "count");
      case "revenue":
        return this.labelled(key, request, (buckets) => this.purchases(key, buckets, request.product, "cents").map((cents) => cents / 100), "revenue");
      case "purchase_quantity":
        return this.labelled(key, request, (buckets) => this.purchases(key, buckets, request.product, "count"), "purchase_quantity");
      case "segment_size":
        return this.segmentSizes(key, daily);
      case "campaign":
        return this.campaign(key, daily);
    }
  }

  /** Each bucket's label and its value under `field`. */
  private async labelled(key: AppKey, request: SeriesRequest, values: (buckets: Bucket[]) => number[] | Promise<number[]>, field: string): Promise<object[]> {
    const buckets = this.buckets(key, request);
    const computed = await values(buckets);
    return buckets.map((bucket, i) => ({ time: bucket.label, [field]: computed[i]! }));
  }

  /** Per bucket, the rollups' count (or USD cents) of a kind (and name) over the hours it spans. */
  private counts(key: AppKey, buckets: Bucket[], kind: RollupKind, name?: string, value: "count" | "cents" = "count"): number[] {
    const rows = this.rollups.hourly(this.store.appId(key), kind, buckets[0]!.start / HOUR_MS, buckets.at(-1)!.end / HOUR_MS, name);
    return perBucket(buckets, new Map(rows.map((row) => [row.hour, row[value]])));
  }

  /** Purchases (or their USD cents) per bucket: of one product, or of all from their own hourly totals (one row an hour, however many products). */
  private purchases(key: AppKey, buckets: Bucket[], product: string | undefined, value: "count" | "cents"): number[] {
    return product === undefined ? this.counts(key, buckets, "purchase_total", "", value) : this.counts(key, buckets, "purchase", product, value);
  }

  /** The running total of MAU's difference counts at the end of each day: the last total on or before it. */
  private mau(key: AppKey, buckets: Bucket[]): number[] {
    const totals = this.rollups.cumulative(this.store.appId(key), "mau_delta", buckets.at(-1)!.end / HOUR_MS);
    let at = -1;
    return buckets.map((bucket) => {
      while (at + 1 < totals.length && totals[at + 1]!.hour * HOUR_MS < bucket.end) at++;
      return at >= 0 ? totals[at]!.count : 0;
    });
  }

  /**
   * Sessions or a custom event per bucket: from the rollups, or with a segment, the events of its
   * members now — the devices its definition matches — counted on a worker thread (segments are not
   * rolled up).
   */
  private async events(key: AppKey, buckets: Bucket[], segmentId: string | undefined, kind: RollupKind, type: string, name?: string): Promise<number[]> {
    if (segmentId === undefined) return this.counts(key, buckets, kind, name);
    const audience = this.repositories.audiences.get(key, segmentId);
    if (!audience) throw unknownSegment(key, segmentId);
    const appId = this.store.appId(key);
    const condition = this.counter.condition(appId, audience.definition, audience.customProperties);
    const [rows] = await this.workers.run([this.repositories.events.membersHourlyQuery(appId, condition, type, name, buckets[0]!.start, buckets.at(-1)!.end)]);
    return perBucket(buckets, new Map(rows.map((row) => [row.hour, row.count])));
  }

  /** A segment's size as last recorded on each day. */
  private segmentSizes(key: AppKey, request: SeriesRequest): object[] {
    const segmentId = request.segment_id ?? "";
    if (!this.repositories.audiences.get(key, segmentId)) throw unknownSegment(key, segmentId);
    const buckets = this.buckets(key, request);
    const sizes = this.repositories.audiences.dailySizes(key, segmentId, buckets[0]!.start / DAY_MS, buckets.at(-1)!.start / DAY_MS);
    return buckets.map((bucket, i) => ({ time: bucket.label, size: sizes[i]! }));
  }

  /**
   * A campaign's days (README: "Campaigns"): sent and bounced deliveries on the day it was sent,
   * opens on the day they happened, a conversion on its purchase's day (and on the send day for
   * conversions_by_send_time).
   */
  private campaign(key: AppKey, request: SeriesRequest): object[] {
    const campaignId = request.campaign_id ?? "";
    const appId = this.store.appId(key);
    const row = this.repositories.notifications.findInApp(appId, campaignId);
    if (!row) throw unknownCampaign(key, campaignId);
    const buckets = this.buckets(key, request);
    const first = buckets[0]!.start / DAY_MS;
    const days = buckets.map(() => ({ conversions: 0, cents: 0, bySendTime: 0, messages: new Map<string, PushStats>() }));
    const dayOf = (at: number) => days[Math.floor(at / DAY_MS) - first];
    const statsOf = (day: (typeof days)[number], channel: string) => {
      const type = messageType(channel);
      if (!day.messages.has(type)) day.messages.set(type, noStats());
      return day.messages.get(type)!;
    };
    // Every channel the campaign went out on appears every day (zeros where nothing happened).
    const outcomes = this.repositories.notifications.outcomesByChannel(row.id);
    for (const day of days) for (const { channel } of outcomes) statsOf(day, channel);
    const sendDay = dayOf(row.send_time);
    if (sendDay) {
      for (const { channel, sent, bounces } of outcomes) Object.assign(statsOf(sendDay, channel), { sent, bounces, unique_recipients: sent });
    }
    // Opens count from the send on (one dated before it is a device's clock, not a reaction to the
    // campaign), and so do the conversions they lead to; a campaign never sent has neither.
    const sentAt = row.send_time ?? Infinity;
    for (const open of this.repositories.events.campaignOpens(appId, row.id, Math.max(buckets[0]!.start, sentAt), buckets.at(-1)!.end)) {
      if (open.channel === null) continue;
      const stats = statsOf(days[open.day - first]!, open.channel);
      stats.direct_opens += open.opens;
      stats.total_opens += open.opens;
      stats.unique_opens += open.devices;
    }
    for (const purchase of this.repositories.events.campaignConversions(appId, row.id, sentAt, CONVERSION_WINDOW_HOURS * HOUR_MS)) {
      const day = dayOf(purchase.occurred_at);
      if (day) {
        day.conversions++;
        day.cents += purchase.amount != null && purchase.currency ? usdCents(purchase.amount, purchase.currency) : 0;
      }
      if (sendDay) sendDay.bySendTime++;
    }
    return buckets.map((bucket, i) => ({
      time: bucket.label,
      conversions: days[i]!.conversions,
      revenue: days[i]!.cents / 100,
      conversions_by_send_time: days[i]!.bySendTime,
      messages: Object.fromEntries([...days[i]!.messages].map(([type, stats]) => [type, [stats]])),
    }));
  }
}
