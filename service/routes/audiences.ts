// App Center audience routes (contract: swagger, Analytics_* operations): list, get, head, put,
// delete, definition/test and the property metadata.
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import {
  audienceDefinitionSchema,
  DEVICE_PROPERTIES,
  isDeviceProperty,
  LIMITS,
  validateAudience,
  validateAudienceName,
  type Audience,
} from "../../domain/index.ts";
import { scopedApp } from "../auth.ts";
import { ApiError, badRequest, parseOr400 } from "../errors.ts";
import type { Services } from "../services.ts";
import type { AudienceRecord } from "../store.ts";

const nameParams = z.object({ audience_name: z.string() });
const listQuery = z.object({
  include_disabled: z.enum(["true", "false"]).optional(),
  $top: z.coerce.number().int().min(1).max(LIMITS.audiencesPerApp.value).optional(),
  $skiptoken: z.string().optional(),
});

export function toAudienceBody(record: AudienceRecord): Audience {
  return {
    name: record.name,
    ...(record.description !== undefined ? { description: record.description } : {}),
    definition: record.definition,
    enabled: record.enabled,
    custom_properties: record.customProperties,
    estimated_count: record.estimatedCount,
    estimated_total_count: record.estimatedTotalCount,
    state: record.state,
    timestamp: record.updatedAt,
  };
}

function audienceName(params: unknown): string {
  const { audience_name: name } = parseOr400(nameParams, params);
  const issues = validateAudienceName(name, "audience_name");
  if (issues.length > 0) throw badRequest(issues);
  return name;
}

export const audienceRoutes = ({ store, devices, counter }: Services): FastifyPluginAsync => async (app) => {
  app.get("/", async (request) => {
    const key = scopedApp(request);
    const query = parseOr400(listQuery, request.query);
    const top = query.$top ?? 100;
    const after = query.$skiptoken ? Buffer.from(query.$skiptoken, "base64url").toString("utf8") : undefined;
    const includeDisabled = query.include_disabled === "true";
    // One extra row tells whether another page exists without a second query.
    const rows = store.listAudiences(key, { includeDisabled, limit: top + 1, ...(after !== undefined ? { after } : {}) });
    const page = rows.slice(0, top);
    const body: { values: Audience[]; nextLink?: string } = { values: page.map(toAudienceBody) };
    if (rows.length > top) {
      const next = new URLSearchParams({ $top: String(top), $skiptoken: Buffer.from(page.at(-1)!.name, "utf8").toString("base64url") });
      if (includeDisabled) next.set("include_disabled", "true");
      body.nextLink = `${request.url.split("?")[0]}?${next.toString()}`;
    }
    return body;
  });

  app.get("/metadata/device_properties", async (request) => {
    scopedApp(request);
    return { values: DEVICE_PROPERTIES };
  });

  app.get("/metadata/custom_properties", async (request) => {
    return { values: store.customProperties(scopedApp(request)) };
  });

  app.get("/metadata/device_properties/:property_name/values", async (request) => {
    const key = scopedApp(request);
    const { property_name: property } = request.params as { property_name: string };
    if (!isDeviceProperty(property)) throw new ApiError("NotFound", `'${property}' is not a device property`);
    const { contains } = parseOr400(z.object({ contains: z.string().max(256).optional() }), request.query);
    return { values: await devices.propertyValues(key, property, contains) };
  });

  app.post("/definition/test", async (request) => {
    const key = scopedApp(request);
    const body = parseOr400(audienceDefinitionSchema, request.body);
    const { issues, checked } = validateAudience("test", body);
    if (issues.length > 0 || !checked) throw badRequest(issues);
    const customProperties = body.custom_properties ?? {};
    const counts = await counter.count(key, body.definition, customProperties);
    return { definition: checked.normalized, custom_properties: customProperties, estimated_count: counts.estimated, estimated_total_count: counts.total };
  });

  app.head("/:audience_name", async (request, reply) => {
    const key = scopedApp(request);
    const exists = store.getAudience(key, audienceName(request.params)) !== undefined;
    return reply.code(exists ? 204 : 404).send();
  });

  app.get("/:audience_name", async (request) => {
    const key = scopedApp(request);
    const name = audienceName(request.params);
    const record = store.getAudience(key, name);
    if (!record) throw new ApiError("NotFound", `audience '${name}' not found in app '${key.owner}/${key.app}'`);
    return toAudienceBody(record);
  });

  app.put("/:audience_name", async (request) => {
    const key = scopedApp(request);
    const name = audienceName(request.params);
    const body = parseOr400(audienceDefinitionSchema, request.body);
    const { issues } = validateAudience(name, body);
    if (issues.length > 0) throw badRequest(issues);
    const saved = store.transaction(() => {
      const exists = store.getAudience(key, name) !== undefined;
      const count = store.countAudiences(key);
      if (!exists && count >= LIMITS.audiencesPerApp.value) {
        throw new ApiError(
          "Conflict",
          `cannot create audience '${name}': app '${key.owner}/${key.app}' already has ${count} audiences; ` +
            `the limit is ${LIMITS.audiencesPerApp.value} ${LIMITS.audiencesPerApp.unit} (${LIMITS.audiencesPerApp.source})`,
        );
      }
      const needsCount = store.upsertAudience(key, {
        name,
        definition: body.definition,
        description: body.description,
        enabled: body.enabled ?? true,
        customProperties: body.custom_properties ?? {},
      });
      // Answered as Calculating; the count follows in the background (GET shows Ready with estimated_count).
      if (needsCount) counter.schedule(key, name);
      return toAudienceBody(store.getAudience(key, name)!);
    });
    return saved;
  });

  app.delete("/:audience_name", async (request, reply) => {
    const key = scopedApp(request);
    const name = audienceName(request.params);
    if (!store.deleteAudience(key, name)) throw new ApiError("NotFound", `audience '${name}' not found in app '${key.owner}/${key.app}'`);
    return reply.code(204).send();
  });
};
