// The service's OpenAPI document is generated from the one contract (domain/api.ts); this compares
// it with the App Center swagger (docs/contracts, a copy of shared/contracts): every App Center operation the service
// implements has the same path, method, operationId, success status, and the same field names in its
// request and answer — any difference is listed here, with the reason, or the test fails.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Fastify from "fastify";
import { serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { serve } from "../../service/contract.ts";
import { API } from "../../domain/index.ts";
import { REPO_ROOT } from "../helpers/pulumi.ts";
import { startService, type TestService } from "../helpers/service.ts";

interface SwaggerSchema {
  $ref?: string;
  allOf?: SwaggerSchema[];
  properties?: Record<string, SwaggerSchema>;
  type?: string;
  items?: SwaggerSchema;
}
interface SwaggerOperation {
  operationId: string;
  parameters?: { in: string; name: string; schema?: SwaggerSchema }[];
  responses: Record<string, { schema?: SwaggerSchema }>;
}
const swagger = JSON.parse(readFileSync(join(REPO_ROOT, "docs", "contracts", "appcenter-push-analytics-gdpr-export.swagger.json"), "utf8")) as {
  paths: Record<string, Record<string, SwaggerOperation>>;
  definitions: Record<string, SwaggerSchema>;
};

/** Swagger operations the service does not implement (none now): listed, not compared. */
const NOT_YET = new Set<string>();

/** Fields pushplane answers beyond the swagger, each with why (extensions, never renames). */
const EXTRA_ANSWER_FIELDS: Record<string, string[]> = {
  // The swagger's ExportStatusResult has id and status only; pushplane adds progress and where the file went.
  Push_ExportDevicesStatus: ["job_id", "kind", "started_at", "finished_at", "rows_written", "total_rows", "percent", "blob_name", "error"],
  // The masked secret fields are the type's own (key_id, token …) and answered masked: declared as a catch-all, plus the fingerprint.
  Push_GetConfig: ["secret_fingerprint"],
  Push_SetConfig: ["secret_fingerprint"],
};

/** Property names of a swagger schema, $ref and allOf resolved; for an array, its items'. */
function swaggerFields(schema: SwaggerSchema | undefined): string[] {
  if (!schema) return [];
  if (schema.$ref) return swaggerFields(swagger.definitions[schema.$ref.split("/").at(-1)!]);
  if (schema.type === "array") return swaggerFields(schema.items);
  return [...new Set([...(schema.allOf ?? []).flatMap(swaggerFields), ...Object.keys(schema.properties ?? {})])].sort();
}

interface OpenApiSchema {
  properties?: Record<string, OpenApiSchema>;
  anyOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
  type?: string;
  items?: OpenApiSchema;
}
function openApiFields(schema: OpenApiSchema | undefined): string[] {
  if (!schema) return [];
  if (schema.type === "array") return openApiFields(schema.items);
  const variants = [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])];
  return [...new Set([...variants.flatMap(openApiFields), ...Object.keys(schema.properties ?? {})])].sort();
}

let service: TestService;
let openapi: { paths: Record<string, Record<string, { operationId?: string; requestBody?: { content: Record<string, { schema: OpenApiSchema }> }; responses: Record<string, { content?: Record<string, { schema: OpenApiSchema }> }> }>> };
beforeAll(async () => {
  service = await startService();
  const response = await service.app.inject({ method: "GET", url: "/openapi.json" });
  expect(response.statusCode).toBe(200);
  openapi = response.json();
});
afterAll(async () => {
  await service.close();
});

const appCenterOperations = Object.entries(swagger.paths).flatMap(([path, operations]) =>
  Object.entries(operations)
    .filter(([method]) => method !== "parameters")
    .map(([method, operation]) => ({ path, method, operation })),
);

describe("the OpenAPI document, generated from domain/api.ts", () => {
  it("describes every registered route, and the registered routes are exactly the contract's", () => {
    const documented = Object.entries(openapi.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    const contract = Object.values(API).map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, "{$1}")}`);
    expect(documented.sort()).toEqual([...contract].sort());
    const registered = service.app.routeTable.filter((route) => route.url !== "/openapi.json").map((route) => `${route.method} ${route.url.replace(/:(\w+)/g, "{$1}")}`);
    expect(registered.sort()).toEqual([...contract].sort());
  });

  it("lists the App Center operations not implemented yet", () => {
    const implemented = new Set<string>(Object.values(API).flatMap((route) => ("operationId" in route ? [route.operationId] : [])));
    const missing = appCenterOperations.map((o) => o.operation.operationId).filter((id) => !implemented.has(id));
    expect(missing.sort()).toEqual([...NOT_YET].sort());
  });
});

describe.each(appCenterOperations.filter((o) => !NOT_YET.has(o.operation.operationId)))("App Center $operation.operationId", ({ path, method, operation }) => {
  const ours = () => openapi.paths[path]?.[method];

  it("has the swagger's path, method and operationId", () => {
    expect(ours(), `${method.toUpperCase()} ${path}`).toBeDefined();
    expect(ours()!.operationId).toBe(operation.operationId);
  });

  it("answers the swagger's success status", () => {
    const success = Object.keys(operation.responses).filter((status) => /^2\d\d$/.test(status));
    const answered = Object.keys(ours()!.responses).filter((status) => /^2\d\d$/.test(status));
    expect(answered.some((status) => success.includes(status)), `swagger ${success.join("/")}, ours ${answered.join("/")}`).toBe(true);
  });

  it("takes the swagger's request field names", () => {
    const body = operation.parameters?.find((p) => p.in === "body");
    const theirs = swaggerFields(body?.schema);
    const mine = openApiFields(ours()!.requestBody?.content["application/json"]?.schema);
    // Every field we take is the swagger's (a discriminated union's variants add their own: type-specific fields).
    if (theirs.length > 0) for (const field of theirs) expect(mine, `request field ${field}`).toContain(field);
  });

  it("answers the swagger's field names, and no others but the listed extensions", () => {
    const status = Object.keys(operation.responses).find((s) => /^2\d\d$/.test(s))!;
    const theirs = swaggerFields(operation.responses[status]?.schema);
    const answered = Object.entries(ours()!.responses).find(([s]) => /^2\d\d$/.test(s))?.[1];
    const mine = openApiFields(answered?.content?.["application/json"]?.schema);
    for (const field of theirs) expect(mine, `answer field ${field}`).toContain(field);
    const extras = mine.filter((field) => !theirs.includes(field) && !((EXTRA_ANSWER_FIELDS as Record<string, string[]>)[operation.operationId] ?? []).includes(field));
    expect(extras, "fields answered beyond the swagger").toEqual([]);
  });
});

describe("answers are serialized with the contract's schemas", () => {
  // What makes a sealed or internal field unable to leak: the serializer writes the declared fields only.
  it("a field the contract does not declare never leaves the service", async () => {
    const app = Fastify();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    const contract = { method: "GET", path: "/thing", summary: "t", auth: "none", responses: { 200: z.object({ name: z.string() }) } } as const;
    serve(app, contract, () => ({ name: "visible", sas_sealed: "v1.secret" }) as { name: string });
    const answer = await app.inject({ method: "GET", url: "/thing" });
    expect(answer.json()).toEqual({ name: "visible" });
    await app.close();
  });
});
