// The Braze dialect's caller: a Braze client configured with "REST endpoint = <service>/braze,
// API key = a pushplane API token" works unchanged. The key arrives as `Authorization: Bearer …`
// (current clients) or as the legacy `api_key` parameter (query for GET, JSON body for POST); the app
// is `app_group_id`, `owner/app` of an app the key's scope covers. Failures are the seed's fatal
// errors: 401 for an unknown or missing key or app group (seeds: Braze export), answered as Braze
// answers errors, `{"message": …}`.
import type { FastifyRequest } from "fastify";
import { parseAppKey, scopeCovers, type AppKey } from "../domain/index.ts";
import { authenticate } from "./auth.ts";
import { ApiError } from "./errors.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** A Braze route's app: its `app_group_id`, within the API key's scope. */
    brazeApp?: AppKey;
  }
}

/** An id as an error quotes it: whole up to 80 characters, cut short after (a message never echoes kilobytes back). */
export const quotedId = (id: string) => `'${id.length > 80 ? `${id.slice(0, 80)}…` : id}'`;

const parameter = (source: unknown, name: string): string | undefined => {
  const value = typeof source === "object" && source !== null ? (source as Record<string, unknown>)[name] : undefined;
  return typeof value === "string" ? value : undefined;
};

function bearerKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
}

/** The API key a Braze client presented: the Bearer header first, then `api_key` in the query, then in the body. */
const presentedKey = (request: FastifyRequest): string | undefined => bearerKey(request) ?? parameter(request.query, "api_key") ?? parameter(request.body, "api_key");

/**
 * Authenticates a Braze route's caller once its body is parsed (a legacy key may be in it): sets the
 * request's token and app, or throws the seed's 401. Failed keys count toward the per-address limit.
 */
export function authenticateBraze(request: FastifyRequest): void {
  const services = request.server.services;
  if (!request.apiToken) {
    // Two keys (a parameter repeated) is bad syntax, not a missing key.
    for (const source of [request.query, request.body]) {
      if (Array.isArray((source as Record<string, unknown> | undefined)?.api_key)) throw new ApiError("BadRequest", "api_key: must be given once");
    }
    const key = presentedKey(request);
    const token = authenticate(services.repositories.apiTokens, key);
    if (!token) {
      services.authFailures.record(request.ip);
      throw new ApiError("Unauthorized", key === undefined ? "missing API key: send Authorization: Bearer <key> (or api_key)" : "unknown API key");
    }
    request.apiToken = token;
  }
  for (const source of [request.query, request.body]) {
    if (Array.isArray((source as Record<string, unknown> | undefined)?.app_group_id)) throw new ApiError("BadRequest", "app_group_id: must be given once");
  }
  const group = parameter(request.query, "app_group_id") ?? parameter(request.body, "app_group_id");
  // The token scopes' grammar: one owner, a slash, one app — no space, control character or wildcard.
  const key = parseAppKey(group ?? "");
  if (!key || !scopeCovers(request.apiToken.scope, key)) {
    throw new ApiError(
      "Unauthorized",
      group === undefined ? "missing app_group_id: name the app as owner/app" : `unknown app_group_id ${quotedId(group)}: it is owner/app of an app this API key may use (${request.apiToken.scope.join(", ")})`,
    );
  }
  request.brazeApp = key;
}

/** The app of an authenticated Braze request. */
export function brazeApp(request: FastifyRequest): AppKey {
  if (!request.brazeApp) throw new ApiError("Unauthorized", "missing app_group_id");
  return request.brazeApp;
}

/** Before anything is parsed: a Bearer or query key is taken now, so the rate limit counts per key. */
export function authenticateBrazeEarly(request: FastifyRequest): void {
  const key = bearerKey(request) ?? parameter(request.query, "api_key");
  const token = key === undefined ? undefined : authenticate(request.server.services.repositories.apiTokens, key);
  if (token) request.apiToken = token;
}
