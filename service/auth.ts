// API tokens: random, shown once, stored as SHA-256 hashes, each scoped to one app, a list of apps or
// every app of an owner (domain/token-scope.ts).
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { appKeyText, scopeCovers, tokenScopeSchema, type TokenScope } from "../domain/index.ts";
import { ApiError } from "./errors.ts";
import { ApiTokens, type TokenRecord } from "./repositories/api-tokens.ts";
import type { AppKey, Store } from "./store.ts";

/** What every API token starts with (outbound.ts redacts anything that looks like one). */
export const TOKEN_PREFIX = "pp_";

// A 256-bit random token needs no slow hash: guessing it is the attack, not cracking a hash of a weak one.
export const hashToken = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex");

/**
 * Issues a token for one app, or for a scope (the CLI and tests call it on a bare store, before any
 * service runs).
 */
export function createApiToken(store: Store, scope: AppKey | TokenScope, description = ""): { token: string; record: TokenRecord } {
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const record: TokenRecord = { id: randomUUID(), description, scope: tokenScopeSchema.parse(Array.isArray(scope) ? scope : [appKeyText(scope as AppKey)]) };
  new ApiTokens(store).insert({ ...record, tokenHash: hashToken(token) });
  return { token, record };
}

/** The token's record, or undefined. Lookup is by hash, so response time does not depend on how much of a guess matches. */
export function authenticate(tokens: ApiTokens, presented: string | undefined): TokenRecord | undefined {
  if (!presented || !presented.startsWith(TOKEN_PREFIX)) return undefined;
  return tokens.findByHash(hashToken(presented));
}

/** The app a request may touch: the one in the URL, which the token's scope must cover. Another app's data is invisible (404). */
export function scopedApp(request: { apiToken?: TokenRecord; params: unknown }): AppKey {
  const { owner_name: owner, app_name: app } = request.params as { owner_name: string; app_name: string };
  const token = request.apiToken;
  if (!token || !scopeCovers(token.scope, { owner, app })) {
    throw new ApiError("NotFound", `app '${owner}/${app}' not found for this API token`);
  }
  return { owner, app };
}

/**
 * Failed authentication per client address, in fixed one-minute windows: past the limit, a client is
 * answered 429 before its credentials are even looked at, so guessing tokens costs a minute per
 * `limit` guesses whatever token it sends. Memory is bounded: the table is dropped if it grows past
 * `maxClients` (an attacker with that many addresses is not slowed by a per-address limit anyway).
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, { windowStart: number; count: number }>();

  constructor(
    readonly limitPerMinute = 30,
    private readonly maxClients = 100_000,
  ) {}

  /** Seconds until the client may try again, or undefined when it may try now. */
  blockedFor(address: string, now = Date.now()): number | undefined {
    const entry = this.failures.get(address);
    if (!entry || now - entry.windowStart >= 60_000 || entry.count < this.limitPerMinute) return undefined;
    return Math.max(1, Math.ceil((entry.windowStart + 60_000 - now) / 1000));
  }

  record(address: string, now = Date.now()): void {
    const entry = this.failures.get(address);
    if (entry && now - entry.windowStart < 60_000) {
      entry.count++;
      return;
    }
    if (this.failures.size >= this.maxClients) this.failures.clear();
    this.failures.set(address, { windowStart: now, count: 1 });
  }
}
