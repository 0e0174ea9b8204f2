// App Center push routes (contract: swagger Push_Send / Push_List / Push_Get / Push_Delete and the
// notifications_config routes Push_ConfigExists / Push_GetConfig / Push_SetConfig / Push_DeleteConfig).
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { LIMITS, notificationDefinitionSchema, pushConfigSchema, validateNotification } from "../../domain/index.ts";
import { scopedApp } from "../auth.ts";
import { ApiError, badRequest, parseOr400 } from "../errors.ts";
import { parseOrderBy } from "../notifications.ts";
import type { Services } from "../services.ts";

const listQuery = z.object({
  $top: z.coerce.number().int().min(0).max(LIMITS.notificationListTop.value).default(30),
  $skiptoken: z.string().optional(),
  $orderby: z.string().optional(),
  $inlinecount: z.enum(["allpages", "none"]).default("none"),
  include_archived: z.enum(["true", "false"]).optional(),
});
const skipToken = z.tuple([z.union([z.string(), z.number()]), z.string()]);

export const notificationRoutes = ({ notifications, pushConfigs }: Services): FastifyPluginAsync => async (app) => {
  app.post("/notifications", async (request, reply) => {
    const key = scopedApp(request);
    const definition = parseOr400(notificationDefinitionSchema, request.body);
    const issues = validateNotification(definition);
    if (issues.length > 0) throw badRequest(issues);
    const { id } = await notifications.send(key, definition);
    return reply
      .code(202)
      .header("Location", `/v0.1/apps/${encodeURIComponent(key.owner)}/${encodeURIComponent(key.app)}/push/notifications/${id}`)
      .send({ notification_id: id });
  });

  app.get("/notifications", async (request) => {
    const key = scopedApp(request);
    const query = parseOr400(listQuery, request.query);
    const order = parseOrderBy(query.$orderby);
    let after: [string | number, string] | undefined;
    if (query.$skiptoken) {
      const decoded = skipToken.safeParse(safeJson(Buffer.from(query.$skiptoken, "base64url").toString("utf8")));
      if (!decoded.success) throw new ApiError("BadRequest", "$skiptoken is not one this service issued");
      after = decoded.data;
    }
    const includeArchived = query.include_archived === "true";
    const page = notifications.list(key, { top: query.$top, order, includeArchived, ...(after ? { after } : {}) });
    const body: { values: unknown[]; total?: number; nextLink?: string } = { values: page.values };
    if (query.$inlinecount === "allpages") body.total = notifications.total(key, includeArchived);
    if (page.next) {
      const next = new URLSearchParams({ $top: String(query.$top), $skiptoken: Buffer.from(JSON.stringify(page.next)).toString("base64url") });
      if (query.$orderby) next.set("$orderby", query.$orderby);
      if (includeArchived) next.set("include_archived", "true");
      body.nextLink = `${request.url.split("?")[0]}?${next.toString()}`;
    }
    return body;
  });

  app.get("/notifications/:notification_id", async (request) => {
    const key = scopedApp(request);
    const { notification_id: id } = request.params as { notification_id: string };
    const details = notifications.get(key, id);
    if (!details) throw new ApiError("NotFound", `notification '${id}' not found in app '${key.owner}/${key.app}'`);
    return details;
  });

  app.delete("/notifications", async (request) => {
    const key = scopedApp(request);
    const { values } = parseOr400(z.object({ values: z.array(z.string()).min(1).max(1000) }).strict(), request.body);
    notifications.archive(key, values);
    return {};
  });

  app.head("/notifications_config", async (request, reply) => reply.code(pushConfigs.get(scopedApp(request)) ? 204 : 404).send());

  app.get("/notifications_config", async (request) => {
    const key = scopedApp(request);
    const config = pushConfigs.get(key);
    if (!config) throw new ApiError("NotFound", `app '${key.owner}/${key.app}' has no push configuration`);
    return config;
  });

  app.put("/notifications_config", async (request) => pushConfigs.set(scopedApp(request), parseOr400(pushConfigSchema, request.body)));

  app.delete("/notifications_config", async (request) => {
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
