// The Braze dialect's own routes (seeds: Braze export) — segments and their daily size, campaigns
// and their daily stats, news feed cards, the KPIs (DAU, MAU, new users, uninstalls), the sessions,
// custom event and purchase series and lists — beside the export routes it shares with the
// app-prefixed paths (exports.ts, data-subject-requests.ts). A segment is an audience: its id and
// name are the audience's name; disabled audiences count as archived. A campaign is a notification
// (README: "Campaigns"). The service has no news feed cards: lists are empty and any card id is
// unknown (400). The series are computed in braze-series.ts (which the series export job shares).
import type { FastifyPluginAsync } from "fastify";
import { API, CAMPAIGN_SCHEDULE_TYPE, LIMITS, type AppKey } from "../../domain/index.ts";
import { brazeApp, quotedId } from "../braze.ts";
import { messageType, unknownCampaign, unknownSegment } from "../braze-series.ts";
import { serve } from "../contract.ts";
import { ApiError } from "../errors.ts";
import { EventRollups, type RollupKind } from "../repositories/event-rollups.ts";
import type { Services } from "../services.ts";

const unknownCard = (cardId: string) => new ApiError("BadRequest", `card_id: unknown card ${quotedId(cardId)} (this service has no news feed cards; /braze/feed/list is always empty)`);

export const brazeRoutes = ({ repositories, store, brazeSeries }: Services): FastifyPluginAsync => async (app) => {
  const pageSize = LIMITS.brazeListPage.value;
  const namesPage = LIMITS.brazeNamesPage.value;
  const rollups = new EventRollups(store);
  const listPage = (key: AppKey, kind: RollupKind, page: number) => rollups.names(store.appId(key), kind, { offset: page * namesPage, limit: namesPage });
  const success = "success" as const;

  serve(app, API.brazeDauSeries, async ({ query, request }) => ({ message: success, data: await brazeSeries.compute("dau", brazeApp(request), query) }));
  serve(app, API.brazeMauSeries, async ({ query, request }) => ({ message: success, data: await brazeSeries.compute("mau", brazeApp(request), query) }));
  serve(app, API.brazeNewUsersSeries, async ({ query, request }) => ({ message: success, data: await brazeSeries.compute("new_users", brazeApp(request), query) }));
  serve(app, API.brazeUninstallsSeries, async ({ query, request }) => ({ message: success, data: await brazeSeries.compute("uninstalls", brazeApp(request), query) }));
  serve(app, API.brazeSessionsSeries, async ({ query, request }) => ({ message: success, data: await brazeSeries.compute("sessions", brazeApp(request), query) }));
  serve(app, API.brazeEventsSeries, async ({ query, request }) => ({ message: success, data: await brazeSeries.compute("custom_event", brazeApp(request), query) }));
  serve(app, API.brazeRevenueSeries, async ({ query, request }) => ({ message: success, data: await brazeSeries.compute("revenue", brazeApp(request), query) }));
  serve(app, API.brazeQuantitySeries, async ({ query, request }) => ({ message: success, data: await brazeSeries.compute("purchase_quantity", brazeApp(request), query) }));
  serve(app, API.brazeSegmentSeries, async ({ query, request }) => ({ message: success, data: await brazeSeries.compute("segment_size", brazeApp(request), query) }));
  serve(app, API.brazeCampaignSeries, async ({ query, request }) => ({ message: success, data: await brazeSeries.compute("campaign", brazeApp(request), query) }));

  serve(app, API.brazeEventsList, ({ query, request }) => ({ message: success, events: listPage(brazeApp(request), "custom", query.page) }));
  serve(app, API.brazeProductsList, ({ query, request }) => ({ message: success, products: listPage(brazeApp(request), "purchase", query.page) }));

  serve(app, API.brazeSegmentsList, ({ query, request }) => ({
    message: success,
    segments: repositories.audiences
      .newestFirst(brazeApp(request), { offset: query.page * pageSize, limit: pageSize })
      .map((audience) => ({ id: audience.name, name: audience.name, analytics_tracking_enabled: true, tags: [] })),
  }));
  serve(app, API.brazeSegmentDetails, ({ query, request }) => {
    const key = brazeApp(request);
    const audience = repositories.audiences.get(key, query.segment_id);
    if (!audience) throw unknownSegment(key, query.segment_id);
    return { message: success, created_at: audience.createdAt, updated_at: audience.updatedAt, name: audience.name, description: audience.definition, tags: [] };
  });

  // Campaigns (README: "Campaigns"): the app's notifications, newest first.
  serve(app, API.brazeCampaignsList, ({ query, request }) => ({
    message: success,
    campaigns: repositories.notifications
      .newestFirst(store.appId(brazeApp(request)), { includeArchived: query.include_archived === "true", offset: query.page * pageSize, limit: pageSize })
      .map((row) => ({ id: row.id, name: row.name, is_api_campaign: true, tags: [] })),
  }));
  serve(app, API.brazeCampaignDetails, ({ query, request }) => {
    const key = brazeApp(request);
    const row = repositories.notifications.findInApp(store.appId(key), query.campaign_id);
    if (!row) throw unknownCampaign(key, query.campaign_id);
    const sentAt = new Date(row.send_time).toISOString();
    const delivered = row.state !== "Queued" && row.state !== "NoTargetFound";
    return {
      message: success,
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

  serve(app, API.brazeFeedList, () => ({ message: success, cards: [] }));
  serve(app, API.brazeFeedDetails, ({ query }) => {
    throw unknownCard(query.card_id);
  });
  serve(app, API.brazeFeedSeries, ({ query }) => {
    throw unknownCard(query.card_id);
  });
};
