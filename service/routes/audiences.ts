// App Center audience routes (contract: swagger, Analytics_* operations; schemas in domain/api.ts):
// list, get, head, put, delete, definition/test and the property metadata.
import type { FastifyPluginAsync } from "fastify";
import { API, DEVICE_PROPERTIES, isDeviceProperty, LIMITS, validateAudience, validateAudienceName, type Audience } from "../../domain/index.ts";
import { scopedApp } from "../auth.ts";
import { serve } from "../contract.ts";
import { ApiError, badRequest } from "../errors.ts";
import type { Services } from "../services.ts";
import type { AudienceRecord } from "../repositories/audiences.ts";

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

/** The audience name of the path, checked against the contract's rules (swagger AudienceNameParameter). */
function audienceName(name: string): string {
  const issues = validateAudienceName(name, "audience_name");
  if (issues.length > 0) throw badRequest(issues);
  return name;
}

export const audienceRoutes = ({ store, repositories: { audiences }, devices, counter }: Services): FastifyPluginAsync => async (app) => {
  serve(app, API.listAudiences, ({ query, request }) => {
    const key = scopedApp(request);
    const top = query.$top ?? 100;
    const after = query.$skiptoken ? Buffer.from(query.$skiptoken, "base64url").toString("utf8") : undefined;
    const includeDisabled = query.include_disabled === "true";
    // One extra row tells whether another page exists without a second query.
    const rows = audiences.list(key, { includeDisabled, limit: top + 1, ...(after !== undefined ? { after } : {}) });
    const page = rows.slice(0, top);
    const body: { values: Audience[]; nextLink?: string } = { values: page.map(toAudienceBody) };
    if (rows.length > top) {
      const next = new URLSearchParams({ $top: String(top), $skiptoken: Buffer.from(page.at(-1)!.name, "utf8").toString("base64url") });
      if (includeDisabled) next.set("include_disabled", "true");
      body.nextLink = `${request.url.split("?")[0]}?${next.toString()}`;
    }
    return body;
  });

  serve(app, API.listDeviceProperties, () => ({ values: DEVICE_PROPERTIES }));

  serve(app, API.listCustomProperties, ({ request }) => ({ values: audiences.customProperties(scopedApp(request)) }));

  serve(app, API.listDevicePropertyValues, async ({ params, query, request }) => {
    const key = scopedApp(request);
    if (!isDeviceProperty(params.property_name)) throw new ApiError("NotFound", `'${params.property_name}' is not a device property`);
    return { values: await devices.propertyValues(key, params.property_name, query.contains) };
  });

  serve(app, API.testAudience, async ({ body, request }) => {
    const key = scopedApp(request);
    const { issues, checked } = validateAudience("test", body);
    if (issues.length > 0 || !checked) throw badRequest(issues);
    const customProperties = body.custom_properties ?? {};
    const counts = await counter.estimate(key, body.definition, customProperties);
    return { definition: checked.normalized, custom_properties: customProperties, estimated_count: counts.estimated, estimated_total_count: counts.total };
  });

  serve(app, API.audienceExists, ({ params, request, reply }) => {
    const key = scopedApp(request);
    return reply.code(audiences.get(key, audienceName(params.audience_name)) ? 204 : 404).send();
  });

  serve(app, API.getAudience, ({ params, request }) => {
    const key = scopedApp(request);
    const name = audienceName(params.audience_name);
    const record = audiences.get(key, name);
    if (!record) throw new ApiError("NotFound", `audience '${name}' not found in app '${key.owner}/${key.app}'`);
    return toAudienceBody(record);
  });

  serve(app, API.putAudience, async ({ params, body, request }) => {
    const key = scopedApp(request);
    const name = audienceName(params.audience_name);
    const { issues } = validateAudience(name, body);
    if (issues.length > 0) throw badRequest(issues);
    const audience = { name, definition: body.definition, description: body.description, enabled: body.enabled ?? true, customProperties: body.custom_properties ?? {} };
    const { counting: needsCount, saved } = store.transaction(() => {
      const exists = audiences.get(key, name) !== undefined;
      const count = audiences.count(key);
      if (!exists && count >= LIMITS.audiencesPerApp.value) {
        throw new ApiError(
          "Conflict",
          `cannot create audience '${name}': app '${key.owner}/${key.app}' already has ${count} audiences; ` +
            `the limit is ${LIMITS.audiencesPerApp.value} ${LIMITS.audiencesPerApp.unit} (${LIMITS.audiencesPerApp.source})`,
        );
      }
      const counting = audiences.upsert(key, audience);
      if (counting) counter.schedule(key);
      return { counting, saved: audiences.get(key, name)! };
    });
    // Answered as Calculating with an estimate (exact in an app of up to AUDIENCE_ESTIMATE_SAMPLE_DEVICES); the full
    // count follows in the background and replaces it (GET then shows Ready). An estimate that fails
    // leaves the count as it was: the PUT itself has happened.
    if (needsCount) {
      const estimate = await counter.estimate(key, audience.definition, audience.customProperties).catch(() => undefined);
      if (estimate) audiences.setProvisionalCount(key, audience, estimate.estimated);
    }
    // (Deleted meanwhile by another request: the answer is what this one saved.)
    return toAudienceBody(audiences.get(key, name) ?? saved);
  });

  serve(app, API.deleteAudience, ({ params, request }) => {
    const key = scopedApp(request);
    const name = audienceName(params.audience_name);
    if (!audiences.delete(key, name)) throw new ApiError("NotFound", `audience '${name}' not found in app '${key.owner}/${key.app}'`);
  });
};
