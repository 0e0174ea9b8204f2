// Wires the HTTP service: external plugins (rate limit, body limit), one auth hook for every
// route, the contract's error bodies, then the route modules.
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from "fastify";
import swagger from "@fastify/swagger";
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import { API, BRAZE_BASE } from "../domain/index.ts";
import { authenticate, scopedApp } from "./auth.ts";
import { authenticateBrazeEarly, quotedId } from "./braze.ts";
import { brazeRoutes } from "./routes/braze.ts";
import { serve } from "./contract.ts";
import { ApiError, boundedMessage, errorBody, sendError } from "./errors.ts";
import { accountDsrRoutes } from "./routes/account-dsr.ts";
import { audienceRoutes } from "./routes/audiences.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { cloudKitRoutes } from "./routes/cloudkit.ts";
import { dataExportTokenRoutes } from "./routes/data-export-tokens.ts";
import { dataSubjectRequestRoutes } from "./routes/data-subject-requests.ts";
import { exportConfigurationRoutes } from "./routes/export-configurations.ts";
import { exportRoutes } from "./routes/exports.ts";
import { notificationRoutes } from "./routes/notifications.ts";
import { redactSecrets } from "./outbound.ts";
import { backgroundWorkRoutes } from "./routes/background-work.ts";
import { createServices, type ServiceOptions, type Services } from "./services.ts";
import type { TokenRecord } from "./repositories/api-tokens.ts";
import type { Store } from "./store.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** The instance's parts (store repositories, runner, workers): for the CLI and tests below HTTP. */
    services: Services;
    /** Every registered route, as registered (the auth matrix and the contract tests derive from it). */
    routeTable: RouteEntry[];
  }
  interface FastifyRequest {
    apiToken?: TokenRecord;
  }
  interface FastifyContextConfig {
    /** Set on routes that do not take X-API-Token: health, the CloudKit routes (data export token or signed URL), the Braze dialect's. */
    public?: boolean;
    /** A Braze dialect route (service/braze.ts): its key is a Bearer token or api_key, its app the app_group_id. */
    braze?: boolean;
  }
}

export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  /** Exempt from X-API-Token (health, the CloudKit routes, the Braze dialect's). */
  readonly public: boolean;
  /** A Braze dialect route: a Bearer key or api_key, and app_group_id. */
  readonly braze: boolean;
}

export interface AppOptions extends ServiceOptions {
  store: Store;
  logger?: FastifyServerOptions["logger"];
  /** Requests per minute per token (or per address for routes without one). */
  rateLimitPerMinute?: number;
  bodyLimitBytes?: number;
  /** Proxies whose X-Forwarded-For is believed (addresses or CIDR ranges), so limits apply per real client. */
  trustProxy?: string[];
}

/**
 * A request URL as logged: each query value is decoded and redacted on its own, so a secret travels
 * neither as a parameter of its own (`sig=…`) nor inside another one (`?container=…%26sig%3D…`).
 */
function loggableUrl(url: string): string {
  const [rawPath = "", query] = url.split("?", 2);
  const path = redactSecrets(rawPath);
  if (query === undefined) return path;
  const params = new URLSearchParams(query);
  const shown = [...params].map(([name, value]) => `${name}=${redactSecrets(`${name}=${value}`).slice(name.length + 1)}`);
  return `${path}?${shown.join("&")}`;
}

/** What a request line looks like in the logs: never a signature, token or key from the query string. */
const requestLogSerializer = (request: { method: string; url: string; ip?: string; id?: string }) => ({
  method: request.method,
  url: loggableUrl(request.url),
  ...(request.ip ? { remoteAddress: request.ip } : {}),
});
const errorLogSerializer = (error: Error) => ({ type: error.name, message: redactSecrets(error.message), stack: redactSecrets(error.stack ?? "") });

/**
 * The OpenAPI document. @fastify/swagger documents HEAD routes only with exposeHeadRoutes, and then
 * suffixes their operationId with "-head" (for HEAD routes derived from a GET); ours are App Center
 * operations of their own, so their contract's operationId is restored.
 */
function openApiDocument(app: FastifyInstance): ReturnType<FastifyInstance["swagger"]> {
  const document = app.swagger() as { paths?: Record<string, Record<string, { operationId?: string }>> };
  for (const operations of Object.values(document.paths ?? {})) {
    const head = operations.head;
    if (head?.operationId?.endsWith("-head")) head.operationId = head.operationId.slice(0, -"-head".length);
  }
  return document as ReturnType<FastifyInstance["swagger"]>;
}

/** Whether a URL lies under the Braze dialect's base. */
const isBrazePath = (url: string) => url === BRAZE_BASE || url.startsWith(`${BRAZE_BASE}/`) || url.startsWith(`${BRAZE_BASE}?`);

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const logger = options.logger && typeof options.logger === "object" ? { ...options.logger, serializers: { req: requestLogSerializer, err: errorLogSerializer } } : (options.logger ?? false);
  const app = Fastify({
    logger,
    // Behind a reverse proxy every client shares the proxy's address, and so one budget of failed
    // authentications: name the proxy (serve --trust-proxy) so the client's own address counts.
    ...(options.trustProxy ? { trustProxy: options.trustProxy } : {}),
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    exposeHeadRoutes: false,
    // Audience names may hold characters such as spaces; keep the router from rejecting long names early.
    routerOptions: { maxParamLength: 500 },
    // What the router refuses before any hook runs (a bad percent-encoding, an over-long parameter)
    // is answered in the contract's error shape too.
    frameworkErrors: (error, _request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
      return (reply as FastifyReply).code(status).send(errorBody("BadRequest", redactSecrets(error.message)));
    },
  });
  // Requests are validated and answers serialized with the contract's zod schemas (domain/api.ts).
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: {
      info: { title: "pushplane service", version: "0.1", description: "App Center push, analytics and export dialect; Braze-style and CloudKit-style exports" },
      components: {
        securitySchemes: {
          apiToken: { type: "apiKey", in: "header", name: "X-API-Token" },
          brazeKey: { type: "http", scheme: "bearer", description: "A pushplane API token as a Braze API key (or the legacy api_key parameter); app_group_id names the app (owner/app)" },
          dataExportToken: { type: "apiKey", in: "header", name: "X-Apple-CloudKit-Management-Token" },
        },
      },
    },
    transform: jsonSchemaTransform,
    // HEAD routes are App Center operations too (Analytics_AudienceNameExists, Push_ConfigExists).
    exposeHeadRoutes: true,
  });

  app.setErrorHandler((thrown, request, reply) => {
    if (thrown instanceof ApiError) return sendError(reply, thrown);
    // A request the contract's schema refuses: the same "field: problem" sentences as everywhere.
    if (hasZodFastifySchemaValidationErrors(thrown)) {
      const fallback = thrown.validationContext === "querystring" ? "query" : (thrown.validationContext ?? "body");
      const message = thrown.validation.map((issue) => `${issue.instancePath.slice(1).replaceAll("/", ".") || fallback}: ${issue.message}`).join("; ");
      return sendError(reply, new ApiError("BadRequest", message));
    }
    const error = thrown as Error & { statusCode?: number };
    const status = error.statusCode;
    if (status === 429) return reply.code(429).send(errorBody("TooManyRequests", error.message));
    if (status === 413) return reply.code(413).send(errorBody("BadRequest", `request body is larger than ${options.bodyLimitBytes ?? 1024 * 1024} bytes`));
    if (status !== undefined && status >= 400 && status < 500) return reply.code(status).send(errorBody("BadRequest", error.message));
    // Never leak internals of a 5xx: log them, answer generically.
    request.log.error({ err: error }, "unhandled error");
    return reply.code(500).send(errorBody("InternalServerError", "internal error"));
  });
  app.setNotFoundHandler((request, reply) => {
    // The path only (a query may carry anything, secrets included), cut short like any echoed id.
    const message = `no route ${request.method} ${quotedId(request.url.split("?", 1)[0]!)}`;
    // Under the Braze base, as Braze answers errors.
    return reply.code(404).send(isBrazePath(request.url) ? { message: boundedMessage(message) } : errorBody("NotFound", message));
  });

  const services = createServices(options.store, options);
  app.decorate("services", services);
  const routeTable: RouteEntry[] = [];
  app.decorate("routeTable", routeTable);
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url, public: route.config?.public === true, braze: route.config?.braze === true });
  });

  // Failed authentication is limited per client address before anything else is looked at: a
  // client over the limit gets 429 whatever credentials it sends.
  // /healthz stays answerable: a load balancer behind the same address must not see the service down.
  app.addHook("onRequest", async (request, reply) => {
    if (request.routeOptions.url === API.health.path) return;
    const retryAfter = services.authFailures.blockedFor(request.ip);
    if (retryAfter !== undefined) {
      return sendError(reply, new ApiError("TooManyRequests", `too many failed authentications from this address; retry after ${retryAfter} s`, retryAfter));
    }
  });

  // One auth hook for every route; only routes flagged `config.public` are exempt.
  app.addHook("onRequest", async (request, reply) => {
    // A Braze route's key is taken now when it is in the header or query (so the rate limit counts it); the route checks the rest.
    if (request.routeOptions.config?.braze) return authenticateBrazeEarly(request);
    // No Braze route at this path or with this method: nothing to authenticate against (a Braze
    // client sends no X-API-Token, so answering 401 would count its valid key as a failure).
    if (request.is404 && isBrazePath(request.url)) return;
    if (request.routeOptions.config?.public) return;
    const header = request.headers["x-api-token"];
    const token = authenticate(services.repositories.apiTokens, typeof header === "string" ? header : undefined);
    if (!token) {
      services.authFailures.record(request.ip);
      reply.header("WWW-Authenticate", 'ApiKey header="X-API-Token"');
      return sendError(reply, new ApiError("Unauthorized", "a valid X-API-Token header is required"));
    }
    request.apiToken = token;
    // An app's routes answer only its own tokens, before the body is read or validated.
    const params = request.params as { owner_name?: string; app_name?: string };
    if (params.owner_name !== undefined && params.app_name !== undefined) scopedApp(request);
  });

  // Successful requests are limited per token (after authentication, so a made-up token has no bucket of its own).
  await app.register(rateLimit, {
    max: options.rateLimitPerMinute ?? 1200,
    timeWindow: 60_000,
    hook: "preParsing",
    keyGenerator: (request) => (request.apiToken ? `token:${request.apiToken.id}` : `address:${request.ip}`),
    // Thrown to the error handler, which answers it in the contract's shape (Retry-After is the plugin's).
    errorResponseBuilder: (_request, context) => ({ statusCode: 429, message: `rate limit of ${context.max} requests per minute exceeded; retry after ${context.after}` }),
  });

  app.addHook("onClose", () => services.close());
  // Background work a previous run (or another process) left is resumed by the runner; it starts here.
  app.addHook("onReady", async () => services.start());
  serve(app, API.health, () => ({ status: "ok" as const }));
  // Which apps the presented token may touch: what the provider checks a stack against at preview.
  serve(app, API.currentApiToken, ({ request }) => request.apiToken!);
  // The OpenAPI document of every route, generated from the contract.
  app.get("/openapi.json", { config: { public: true }, schema: { hide: true } }, async () => openApiDocument(app));
  // Paths are the contract's, whole: the route modules register without a prefix.
  for (const routes of [accountDsrRoutes, audienceRoutes, ingestRoutes, notificationRoutes, exportRoutes, dataExportTokenRoutes, dataSubjectRequestRoutes, exportConfigurationRoutes, cloudKitRoutes, backgroundWorkRoutes, brazeRoutes]) {
    await app.register(routes(services));
  }
  return app;
}
