// The Braze dialect's own routes (seeds: Braze export) — segments and their daily size, news feed
// cards, the KPIs (DAU, MAU, new users, uninstalls), the sessions, custom event and purchase series
// and lists — beside the export routes it shares with the app-prefixed paths (exports.ts,
// data-subject-requests.ts). A segment is an audience: its id and name are the audience's name;
// disabled audiences count as archived. The service has no news feed cards: lists are empty and any
// card id is unknown (400). Series read the rollups (repositories/event-rollups.ts, activity.ts) and
// the recorded audience sizes, never the raw events.
import type { FastifyPluginAsync } from "fastify";
import { API, HOUR_MS, LIMITS, seriesBuckets, type AppKey, type Bucket, type SeriesQuery } from "../../domain/index.ts";
import { brazeApp } from "../braze.ts";
import { serve } from "../contract.ts";
import { ApiError } from "../errors.ts";
import { DAY_MS } from "../repositories/activity.ts";
import { EventRollups, type RollupKind } from "../repositories/event-rollups.ts";
import type { Services } from "../services.ts";

const unknownSegment = (key: AppKey, segmentId: string) =>
  new ApiError("BadRequest", `segment_id: unknown segment '${segmentId}' in app group '${key.owner}/${key.app}' (a segment is an audience: /braze/segments/list names them)`);
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

export const brazeRoutes = ({ repositories, store }: Services): FastifyPluginAsync => async (app) => {
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

  serve(app, API.brazeSessionsSeries, ({ query, request }) => ({
    message: "success" as const,
    data: series(brazeApp(request), query, "session").map(({ time, count }) => ({ time, sessions: count })),
  }));
  serve(app, API.brazeEventsList, ({ query, request }) => ({ message: "success" as const, events: listPage(brazeApp(request), "custom", query.page) }));
  serve(app, API.brazeEventsSeries, ({ query, request }) => ({
    message: "success" as const,
    data: series(brazeApp(request), query, "custom", query.event).map(({ time, count }) => ({ time, count })),
  }));
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

  serve(app, API.brazeFeedList, () => ({ message: "success" as const, cards: [] }));
  serve(app, API.brazeFeedDetails, ({ query }) => {
    throw unknownCard(query.card_id);
  });
  serve(app, API.brazeFeedSeries, ({ query }) => {
    throw unknownCard(query.card_id);
  });
};
