// App Center push routes (contract: swagger Push_Send / Push_List / Push_Get / Push_Delete and the
// notifications_config routes Push_ConfigExists / Push_GetConfig / Push_SetConfig / Push_DeleteConfig;
// schemas in domain/api.ts).
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { API, validateNotification } from "../../domain/index.ts";
import { scopedApp } from "../auth.ts";
import { serve } from "../contract.ts";
import { ApiError, badRequest } from "../errors.ts";
import { parseOrderBy } from "../notifications.ts";
import type { Services } from "../services.ts";

const skipToken = z.tuple([z.union([z.string(), z.number()]), z.string()]);

export const notificationRoutes = ({ notifications, pushConfigs }: Services): FastifyPluginAsync => async (app) => {
  serve(app, API.sendNotification, async ({ body, request, reply }) => {
    const key = scopedApp(request);
    const issues = validateNotification(body);
    if (issues.length > 0) throw badRequest(issues);
    const { id } = await notifications.send(key, body);
    reply.header("Location", `/v0.1/apps/${encodeURIComponent(key.owner)}/${encodeURIComponent(key.app)}/push/notifications/${id}`);
    return { notification_id: id };
  });

  serve(app, API.listNotifications, ({ query, request }) => {
    const key = scopedApp(request);
    const order = parseOrderBy(query.$orderby);
    let after: [string | number, string] | undefined;
    if (query.$skiptoken) {
      const decoded = skipToken.safeParse(safeJson(Buffer.from(query.$skiptoken, "base64url").toString("utf8")));
      if (!decoded.success) throw new ApiError("BadRequest", "$skiptoken is not one this service issued");
      after = decoded.data;
    }
    const includeArchived = query.include_archived === "true";
    const page = notifications.list(key, { top: query.$top, order, includeArchived, ...(after ? { after } : {}) });
    const body: { values: typeof page.values; total?: number; nextLink?: string } = { values: page.values };
    if (query.$inlinecount === "allpages") body.total = notifications.total(key, includeArchived);
    if (page.next) {
      const next = new URLSearchParams({ $top: String(query.$top), $skiptoken: Buffer.from(JSON.stringify(page.next)).toString("base64url") });
      if (query.$orderby) next.set("$orderby", query.$orderby);
      if (includeArchived) next.set("include_archived", "true");
      body.nextLink = `${request.url.split("?")[0]}?${next.toString()}`;
    }
    return body;
  });

  serve(app, API.getNotification, ({ params, request }) => {
    const key = scopedApp(request);
    const details = notifications.get(key, params.notification_id);
    if (!details) throw new ApiError("NotFound", `notification '${params.notification_id}' not found in app '${key.owner}/${key.app}'`);
    return details;
  });

  serve(app, API.archiveNotifications, ({ body, request }) => {
    notifications.archive(scopedApp(request), body.values);
    return {};
  });

  serve(app, API.pushConfigExists, ({ request, reply }) => reply.code(pushConfigs.get(scopedApp(request)) ? 204 : 404).send());

  serve(app, API.getPushConfig, ({ request }) => {
    const key = scopedApp(request);
    const config = pushConfigs.get(key);
    if (!config) throw new ApiError("NotFound", `app '${key.owner}/${key.app}' has no push configuration`);
    return config;
  });

  serve(app, API.setPushConfig, ({ body, request }) => pushConfigs.set(scopedApp(request), body));

  serve(app, API.deletePushConfig, ({ request }) => {
    const key = scopedApp(request);
    if (!pushConfigs.delete(key)) throw new ApiError("NotFound", `app '${key.owner}/${key.app}' has no push configuration`);
    return {};
  });
};

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
