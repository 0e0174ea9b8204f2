// The Braze dialect's own routes (seeds: Braze export) — segments and their daily size, campaigns
// and their daily stats, news feed cards, the KPIs (DAU, MAU, new users, uninstalls), the sessions,
// custom event and purchase series and lists — beside the export routes it shares with the
// app-prefixed paths (exports.ts, data-subject-requests.ts). A segment is an audience: its id and
// name are the audience's name; disabled audiences count as archived. A campaign is a notification
// (README: "Campaigns"). The service has no news feed cards: lists are empty and any card id is
// unknown (400). Series read the rollups (repositories/event-rollups.ts, activity.ts) and the
// recorded audience sizes, never the app's raw events; a campaign reads its own opens, a series
// narrowed to a segment its members' events (on a worker thread).
import type { FastifyPluginAsync } from "fastify";
import {
  API,
  BRAZE_PUSH_MESSAGE_TYPES,
  CAMPAIGN_PUSH_STATS,
  CAMPAIGN_SCHEDULE_TYPE,
  CONVERSION_WINDOW_HOURS,
  DAY_MS,
  HOUR_MS,
  LIMITS,
  seriesBuckets,
  usdCents,
  type AppKey,
  type Bucket,
  type PushChannel,
  type SeriesQuery,
} from "../../domain/index.ts";
import { brazeApp } from "../braze.ts";
import { serve } from "../contract.ts";
import { ApiError } from "../errors.ts";
import { EventRollups, type RollupKind } from "../repositories/event-rollups.ts";
import type { Services } from "../services.ts";

const unknownSegment = (key: AppKey, segmentId: string) =>
  new ApiError("BadRequest", `segment_id: unknown segment '${segmentId}' in app group '${key.owner}/${key.app}' (a segment is an audience: /braze/segments/list names them)`);
const unknownCampaign = (key: AppKey, campaignId: string) =>
  new ApiError("BadRequest", `campaign_id: unknown campaign '${campaignId}' in app group '${key.owner}/${key.app}' (a campaign is a notification: /braze/campaigns/list names them)`);
const unknownCard = (cardId: string) => new ApiError("BadRequest", `card_id: unknown card '${cardId}' (this service has no news feed cards; /braze/feed/list is always empty)`);

type KpiQuery = Omit<SeriesQuery, "unit"> & { app_id?: string | undefined };

/** The buckets a series query asks for, or the seed's 400 naming the parameter; `app_id`, when sent, must be the app group's app. */
function bucketsOf(key: AppKey, query: SeriesQuery & { app_id?: string | undefined }): Bucket[] {
  if (query.app_id !== undefined && query.app_id !== `${key.owner}/${key.app}` && query.app_id !== key.app) {
    throw new ApiError("BadRequest", `app_id: '${query.app_id}' is not an app of app group '${key.owner}/${key.app}' (each app group holds one app: leave app_id out)`);
  }
  const buckets = seriesBuckets(query);
  if ("problem" in buckets) throw new ApiError("BadRequest", buckets.problem);
  return buckets;
}

/** Braze's message type of a push channel (a channel the service does not know stays as it is). */
const messageType = (channel: string) => BRAZE_PUSH_MESSAGE_TYPES[channel as PushChannel] ?? channel;
type PushStats = Record<(typeof CAMPAIGN_PUSH_STATS)[number], number>;
const noStats = (): PushStats => Object.fromEntries(CAMPAIGN_PUSH_STATS.map((stat) => [stat, 0])) as PushStats;

export const brazeRoutes = ({ repositories, store, counter, workers }: Services): FastifyPluginAsync => async (app) => {
  const pageSize = LIMITS.brazeListPage.value;
  const namesPage = LIMITS.brazeNamesPage.value;
  const rollups = new EventRollups(store);

  /** Per bucket, the rollups' count and USD cents over the hours it spans. */
  const series = (key: AppKey, query: SeriesQuery & { app_id?: string | undefined }, kind: RollupKind, name?: string) => {
    const buckets = bucketsOf(key, query);
    const hours = new Map(rollups.hourly(store.appId(key), kind, buckets[0]!.start / HOUR_MS, buckets.at(-1)!.end / HOUR_MS, name).map((row) => [row.hour, row]));
    return buckets.map((bucket) => {
      let count = 0;
      let cents = 0;
      for (let hour = bucket.start / HOUR_MS; hour < bucket.end / HOUR_MS; hour++) {
        count += hours.get(hour)?.count ?? 0;
        cents += hours.get(hour)?.cents ?? 0;
      }
      return { time: bucket.label, count, cents };
    });
  };
  const listPage = (key: AppKey, kind: RollupKind, page: number) => rollups.names(store.appId(key), kind, { offset: page * namesPage, limit: namesPage });

  // The KPIs (README: "What the KPIs count"), daily: DAU, new users and uninstalls are counts per day;
  // MAU is the running total of its difference counts up to each day.
  const daily = (key: AppKey, query: KpiQuery, kind: RollupKind) => series(key, { ...query, unit: "day" }, kind).map(({ time, count }) => ({ time, count }));
  serve(app, API.brazeDauSeries, ({ query, request }) => ({ message: "success" as const, data: daily(brazeApp(request), query, "active").map(({ time, count }) => ({ time, dau: count })) }));
  serve(app, API.brazeNewUsersSeries, ({ query, request }) => ({ message: "success" as const, data: daily(brazeApp(request), query, "new_user").map(({ time, count }) => ({ time, new_users: count })) }));
  serve(app, API.brazeUninstallsSeries, ({ query, request }) => ({ message: "success" as const, data: daily(brazeApp(request), query, "uninstall").map(({ time, count }) => ({ time, uninstalls: count })) }));
  serve(app, API.brazeMauSeries, ({ query, request }) => {
    const key = brazeApp(request);
    const buckets = bucketsOf(key, { ...query, unit: "day" });
    const totals = rollups.cumulative(store.appId(key), "mau_delta", buckets.at(-1)!.end / HOUR_MS);
    // The running total at a day is the last total recorded on or before it.
    let at = -1;
    return {
      message: "success" as const,
      data: buckets.map((bucket) => {
        while (at + 1 < totals.length && totals[at + 1]!.hour * HOUR_MS < bucket.end) at++;
        return { time: bucket.label, mau: at >= 0 ? totals[at]!.count : 0 };
      }),
    };
  });

  /**
   * Per bucket, the events of one type (and name) of a segment's members now — the devices its
   * definition matches — counted from their events on a worker thread: segments are not rolled up.
   */
  const segmentSeries = async (key: AppKey, query: SeriesQuery & { app_id?: string | undefined }, segmentId: string, type: string, name?: string) => {
    const audience = repositories.audiences.get(key, segmentId);
    if (!audience) throw unknownSegment(key, segmentId);
    const buckets = bucketsOf(key, query);
    const appId = store.appId(key);
    const condition = counter.condition(appId, audience.definition, audience.customProperties);
    const [rows] = await workers.run([repositories.events.membersHourlyQuery(appId, condition, type, name, buckets[0]!.start, buckets.at(-1)!.end)]);
    const hours = new Map(rows.map((row) => [row.hour, row.count]));
    return buckets.map((bucket) => {
      let count = 0;
      for (let hour = bucket.start / HOUR_MS; hour < bucket.end / HOUR_MS; hour++) count += hours.get(hour) ?? 0;
      return { time: bucket.label, count };
    });
  };

  serve(app, API.brazeSessionsSeries, async ({ query, request }) => {
    const key = brazeApp(request);
    const counts = query.segment_id === undefined ? series(key, query, "session") : await segmentSeries(key, query, query.segment_id, "session_start");
    return { message: "success" as const, data: counts.map(({ time, count }) => ({ time, sessions: count })) };
  });
  serve(app, API.brazeEventsList, ({ query, request }) => ({ message: "success" as const, events: listPage(brazeApp(request), "custom", query.page) }));
  serve(app, API.brazeEventsSeries, async ({ query, request }) => {
    const key = brazeApp(request);
    const counts = query.segment_id === undefined ? series(key, query, "custom", query.event) : await segmentSeries(key, query, query.segment_id, "custom", query.event);
    return { message: "success" as const, data: counts.map(({ time, count }) => ({ time, count })) };
  });
  serve(app, API.brazeProductsList, ({ query, request }) => ({ message: "success" as const, products: listPage(brazeApp(request), "purchase", query.page) }));
  serve(app, API.brazeRevenueSeries, ({ query, request }) => ({
    message: "success" as const,
    data: series(brazeApp(request), query, "purchase", query.product).map(({ time, cents }) => ({ time, revenue: cents / 100 })),
  }));
  serve(app, API.brazeQuantitySeries, ({ query, request }) => ({
    message: "success" as const,
    data: series(brazeApp(request), query, "purchase", query.product).map(({ time, count }) => ({ time, purchase_quantity: count })),
  }));

  serve(app, API.brazeSegmentsList, ({ query, request }) => ({
    message: "success" as const,
    segments: repositories.audiences
      .newestFirst(brazeApp(request), { offset: query.page * pageSize, limit: pageSize })
      .map((audience) => ({ id: audience.name, name: audience.name, analytics_tracking_enabled: true, tags: [] })),
  }));

  serve(app, API.brazeSegmentDetails, ({ query, request }) => {
    const key = brazeApp(request);
    const audience = repositories.audiences.get(key, query.segment_id);
    if (!audience) throw unknownSegment(key, query.segment_id);
    return { message: "success" as const, created_at: audience.createdAt, updated_at: audience.updatedAt, name: audience.name, description: audience.definition, tags: [] };
  });

  serve(app, API.brazeSegmentSeries, ({ query, request }) => {
    const key = brazeApp(request);
    if (!repositories.audiences.get(key, query.segment_id)) throw unknownSegment(key, query.segment_id);
    const buckets = bucketsOf(key, { ...query, unit: "day" });
    const sizes = repositories.audiences.dailySizes(key, query.segment_id, buckets[0]!.start / DAY_MS, buckets.at(-1)!.start / DAY_MS);
    return { message: "success" as const, data: buckets.map((bucket, i) => ({ time: bucket.label, size: sizes[i]! })) };
  });

  // Campaigns (README: "Campaigns"): a notification, newest first; sent and bounced deliveries count
  // on the day it was sent, opens on the day they happened, a conversion on its purchase's day (and
  // on the send day for conversions_by_send_time).
  const campaign = (key: AppKey, campaignId: string) => {
    const row = repositories.notifications.findInApp(store.appId(key), campaignId);
    if (!row) throw unknownCampaign(key, campaignId);
    return row;
  };
  serve(app, API.brazeCampaignsList, ({ query, request }) => ({
    message: "success" as const,
    campaigns: repositories.notifications
      .newestFirst(store.appId(brazeApp(request)), { includeArchived: query.include_archived === "true", offset: query.page * pageSize, limit: pageSize })
      .map((row) => ({ id: row.id, name: row.name, is_api_campaign: true, tags: [] })),
  }));
  serve(app, API.brazeCampaignDetails, ({ query, request }) => {
    const row = campaign(brazeApp(request), query.campaign_id);
    const sentAt = new Date(row.send_time).toISOString();
    const delivered = row.state !== "Queued" && row.state !== "NoTargetFound";
    return {
      message: "success" as const,
      created_at: sentAt,
      updated_at: sentAt,
      name: row.name,
      archived: row.archived === 1,
      schedule_type: CAMPAIGN_SCHEDULE_TYPE,
      channels: repositories.notifications.outcomesByChannel(row.id).map(({ channel }) => messageType(channel)),
      first_sent: delivered ? sentAt : null,
      last_sent: delivered ? sentAt : null,
      tags: [],
    };
  });
  serve(app, API.brazeCampaignSeries, ({ query, request }) => {
    const key = brazeApp(request);
    const row = campaign(key, query.campaign_id);
    const buckets = bucketsOf(key, { ...query, unit: "day" });
    const first = buckets[0]!.start / DAY_MS;
    const days = buckets.map(() => ({ conversions: 0, cents: 0, bySendTime: 0, messages: new Map<string, PushStats>() }));
    const dayOf = (at: number) => days[Math.floor(at / DAY_MS) - first];
    const statsOf = (day: (typeof days)[number], channel: string) => {
      const type = messageType(channel);
      if (!day.messages.has(type)) day.messages.set(type, noStats());
      return day.messages.get(type)!;
    };
    // Every channel the campaign went out on appears every day (zeros where nothing happened).
    const outcomes = repositories.notifications.outcomesByChannel(row.id);
    for (const day of days) for (const { channel } of outcomes) statsOf(day, channel);
    const sendDay = dayOf(row.send_time);
    if (sendDay) {
      for (const { channel, sent, bounces } of outcomes) Object.assign(statsOf(sendDay, channel), { sent, bounces, unique_recipients: sent });
    }
    for (const open of repositories.events.campaignOpens(store.appId(key), row.id, buckets[0]!.start, buckets.at(-1)!.end)) {
      if (open.channel === null) continue;
      const stats = statsOf(days[open.day - first]!, open.channel);
      stats.direct_opens += open.opens;
      stats.total_opens += open.opens;
      stats.unique_opens += open.devices;
    }
    for (const purchase of repositories.events.campaignConversions(store.appId(key), row.id, CONVERSION_WINDOW_HOURS * HOUR_MS)) {
      const day = dayOf(purchase.occurred_at);
      if (day) {
        day.conversions++;
        day.cents += purchase.amount != null && purchase.currency ? usdCents(purchase.amount, purchase.currency) : 0;
      }
      if (sendDay) sendDay.bySendTime++;
    }
    return {
      message: "success" as const,
      data: buckets.map((bucket, i) => ({
        time: bucket.label,
        conversions: days[i]!.conversions,
        revenue: days[i]!.cents / 100,
        conversions_by_send_time: days[i]!.bySendTime,
        messages: Object.fromEntries([...days[i]!.messages].map(([type, stats]) => [type, [stats]])),
      })),
    };
  });

  serve(app, API.brazeFeedList, () => ({ message: "success" as const, cards: [] }));
  serve(app, API.brazeFeedDetails, ({ query }) => {
    throw unknownCard(query.card_id);
  });
  serve(app, API.brazeFeedSeries, ({ query }) => {
    throw unknownCard(query.card_id);
  });
};
