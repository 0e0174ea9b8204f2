// Wires the HTTP service: external plugins (rate limit, body limit), one auth hook for every
// route, the contract's error bodies, then the route modules.
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import { authenticate } from "./auth.ts";
import { ApiError, errorBody, sendError } from "./errors.ts";
import { audienceRoutes } from "./routes/audiences.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { cloudKitRoutes } from "./routes/cloudkit.ts";
import { dataExportTokenRoutes } from "./routes/data-export-tokens.ts";
import { exportConfigurationRoutes } from "./routes/export-configurations.ts";
import { exportRoutes } from "./routes/exports.ts";
import { notificationRoutes } from "./routes/notifications.ts";
import type { PushSender } from "./notifications.ts";
import { createServices } from "./services.ts";
import type { Store, TokenRecord } from "./store.ts";

declare module "fastify" {
  interface FastifyRequest {
    apiToken?: TokenRecord;
  }
  interface FastifyContextConfig {
    /** Set on routes that do not take X-API-Token: health, and the CloudKit routes (data export token or signed URL). */
    public?: boolean;
  }
}

export interface AppOptions {
  store: Store;
  logger?: FastifyServerOptions["logger"];
  /** Requests per minute per token (or per address without one). */
  rateLimitPerMinute?: number;
  bodyLimitBytes?: number;
  /** How notifications reach devices; the local sender records outcomes without a network. */
  sender?: PushSender;
  /** How often the export scheduler looks for due jobs; default 1 s. */
  schedulerTickMs?: number;
  /** How often every registered export container is swept for blobs past retention; default 1 h. */
  retentionSweepIntervalMs?: number;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    exposeHeadRoutes: false,
    // Audience names may hold characters such as spaces; keep the router from rejecting long names early.
    routerOptions: { maxParamLength: 500 },
  });

  app.setErrorHandler((thrown, request, reply) => {
    if (thrown instanceof ApiError) return sendError(reply, thrown);
    const error = thrown as Error & { statusCode?: number };
    const status = error.statusCode;
    if (status === 429) return reply.code(429).send(errorBody("TooManyRequests", error.message));
    if (status === 413) return reply.code(413).send(errorBody("BadRequest", `request body is larger than ${options.bodyLimitBytes ?? 1024 * 1024} bytes`));
    if (status !== undefined && status >= 400 && status < 500) return reply.code(status).send(errorBody("BadRequest", error.message));
    // Never leak internals of a 5xx: log them, answer generically.
    request.log.error({ err: error }, "unhandled error");
    return reply.code(500).send(errorBody("InternalServerError", "internal error"));
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody("NotFound", `no route ${request.method} ${request.url}`)));

  await app.register(rateLimit, {
    max: options.rateLimitPerMinute ?? 1200,
    timeWindow: 60_000,
    keyGenerator: (request) => (request.headers["x-api-token"] as string | undefined) ?? request.ip,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      ...errorBody("TooManyRequests", `rate limit of ${context.max} requests per minute exceeded; retry after ${context.after}`),
    }),
  });

  // One auth hook for every route; only routes flagged `config.public` are exempt.
  app.addHook("onRequest", async (request, reply) => {
    if (request.routeOptions.config?.public) return;
    const header = request.headers["x-api-token"];
    const token = authenticate(options.store, typeof header === "string" ? header : undefined);
    if (!token) {
      reply.header("WWW-Authenticate", 'ApiKey header="X-API-Token"');
      return sendError(reply, new ApiError("Unauthorized", "a valid X-API-Token header is required"));
    }
    request.apiToken = token;
  });

  const services = createServices(options.store, options.sender);
  app.addHook("onClose", () => services.close());
  // Notifications a previous run accepted but did not finish are delivered now; the export
  // scheduler recovers interrupted runs and starts ticking.
  app.addHook("onReady", async () => {
    void services.notifications.kick();
    services.exports.start(options.schedulerTickMs);
    services.retention.start(options.retentionSweepIntervalMs);
    services.continuousExports.start();
  });
  app.get("/healthz", { config: { public: true } }, async () => ({ status: "ok" }));
  const appPrefix = "/v0.1/apps/:owner_name/:app_name";
  await app.register(audienceRoutes(services), { prefix: `${appPrefix}/analytics/audiences` });
  await app.register(ingestRoutes(services), { prefix: appPrefix });
  await app.register(notificationRoutes(services), { prefix: `${appPrefix}/push` });
  await app.register(exportRoutes(services), { prefix: appPrefix });
  await app.register(dataExportTokenRoutes(services), { prefix: appPrefix });
  await app.register(exportConfigurationRoutes(services), { prefix: appPrefix });
  await app.register(cloudKitRoutes(services));
  return app;
}
