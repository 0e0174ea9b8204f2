// The Braze dialect's own routes (seeds: Braze export) — segments, news feed cards — beside the
// export routes it shares with the app-prefixed paths (exports.ts, data-subject-requests.ts). A
// segment is an audience: its id and name are the audience's name; disabled audiences count as
// archived. The service has no news feed cards: lists are empty and any card id is unknown (400).
import type { FastifyPluginAsync } from "fastify";
import { API, LIMITS } from "../../domain/index.ts";
import { brazeApp } from "../braze.ts";
import { serve } from "../contract.ts";
import { ApiError } from "../errors.ts";
import type { Services } from "../services.ts";

const unknownCard = (cardId: string) => new ApiError("BadRequest", `card_id: unknown card '${cardId}' (this service has no news feed cards; /braze/feed/list is always empty)`);

export const brazeRoutes = ({ repositories }: Services): FastifyPluginAsync => async (app) => {
  const pageSize = LIMITS.brazeListPage.value;

  serve(app, API.brazeSegmentsList, ({ query, request }) => ({
    message: "success" as const,
    segments: repositories.audiences
      .newestFirst(brazeApp(request), { offset: query.page * pageSize, limit: pageSize })
      .map((audience) => ({ id: audience.name, name: audience.name, analytics_tracking_enabled: true, tags: [] })),
  }));

  serve(app, API.brazeSegmentDetails, ({ query, request }) => {
    const key = brazeApp(request);
    const audience = repositories.audiences.get(key, query.segment_id);
    if (!audience) throw new ApiError("BadRequest", `segment_id: unknown segment '${query.segment_id}' in app group '${key.owner}/${key.app}' (a segment is an audience: /braze/segments/list names them)`);
    return { message: "success" as const, created_at: audience.createdAt, updated_at: audience.updatedAt, name: audience.name, description: audience.definition, tags: [] };
  });

  serve(app, API.brazeFeedList, () => ({ message: "success" as const, cards: [] }));
  serve(app, API.brazeFeedDetails, ({ query }) => {
    throw unknownCard(query.card_id);
  });
  serve(app, API.brazeFeedSeries, ({ query }) => {
    throw unknownCard(query.card_id);
  });
};
