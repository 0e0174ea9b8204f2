// Provider settings from Pulumi stack config (never from captured variables: whatever a dynamic
// provider captures is serialized into state). Read once, in the provider process, at `configure`.
// API tokens: one (`pushplane:apiToken`) or a map keyed 'owner/app' or 'owner/*'
// (`pushplane:apiTokens`), both secret; each call goes out with the token that covers its app.
import type * as pulumi from "@pulumi/pulumi";
import { appKeyText, PROVIDER_CONFIG, scopeCovers, type AppKey, type TokenScope } from "../domain/index.ts";
import { PushplaneClient } from "../client/client.ts";
import { readTokenMap, TOKEN_KEY, TOKEN_MAP_KEY } from "./token-map.ts";


export interface Settings {
  readonly endpoint: string;
  /** Defaults for resources that do not name their owner/app. */
  readonly owner: string | undefined;
  readonly app: string | undefined;
  /** Blob storage account for StorageContainer / ContainerSasToken (secret config). */
  readonly storageConnectionString: string | undefined;
  /**
   * Deprecated bounds on a ContainerSasToken, set only by stacks written before they moved to the
   * policy pack (export-sas-least-privilege); honoured while set, so a bound a stack set explicitly
   * holds on upgrade (the old defaults, acwl and 30 days, are gone: the pack's cw and 14 apply).
   */
  readonly sasAllowedPermissions: string | undefined;
  readonly sasMaxLifetimeDays: number | undefined;
}

interface Tokens {
  /** `pushplane:apiToken`, used for any app the map does not name. */
  readonly single: string | undefined;
  /** `pushplane:apiTokens`: 'owner/app' or 'owner/*' → token. */
  readonly byScope: ReadonlyMap<string, string>;
}

let current:
  | {
      settings: Settings;
      tokens: Tokens;
      clients: Map<string, PushplaneClient>;
      /** Each token's scope as the service states it, asked once. */
      scopes: Map<string, Promise<TokenScope>>;
    }
  | undefined;

/** How long a preview waits for what it only reports on before saying it could not and going on. */
const QUICK_TIMEOUT_MS = 5_000;

export function configure(config: pulumi.dynamic.Config): void {
  const endpoint = config.get(PROVIDER_CONFIG.endpoint.key);
  const single = config.get(TOKEN_KEY) || undefined;
  const byScope = readTokenMap(config.get(TOKEN_MAP_KEY));
  if (!endpoint) throw new Error(`${PROVIDER_CONFIG.endpoint.key} is not set: run \`pulumi config set ${PROVIDER_CONFIG.endpoint.key} http://127.0.0.1:8080\``);
  if (!single && byScope.size === 0) {
    throw new Error(`no API token is set: run \`pulumi config set --secret ${TOKEN_KEY} <token>\` (or one per app: \`pulumi config set --secret --path '${TOKEN_MAP_KEY}["owner/app"]' <token>\`)`);
  }
  current = {
    settings: {
      endpoint,
      owner: config.get(PROVIDER_CONFIG.owner.key) || undefined,
      app: config.get(PROVIDER_CONFIG.app.key) || undefined,
      storageConnectionString: config.get(PROVIDER_CONFIG.storageConnectionString.key) || undefined,
      sasAllowedPermissions: config.get(PROVIDER_CONFIG.sasAllowedPermissions.key) || undefined,
      sasMaxLifetimeDays: config.get(PROVIDER_CONFIG.sasMaxLifetimeDays.key) ? Number(config.get(PROVIDER_CONFIG.sasMaxLifetimeDays.key)) : undefined,
    },
    tokens: { single, byScope },
    clients: new Map(),
    scopes: new Map(),
  };
}

function configured(): NonNullable<typeof current> {
  if (!current) throw new Error("the pushplane provider was used before it was configured");
  return current;
}

export function settings(): Settings {
  return configured().settings;
}

/** The configured token for an app and where it comes from: the map's 'owner/app', its 'owner/*', else the single token. */
export function tokenFor(key: AppKey): { token: string; configKey: string } | undefined {
  const { byScope, single } = configured().tokens;
  for (const entry of [appKeyText(key), `${key.owner}/*`]) {
    const token = byScope.get(entry);
    if (token) return { token, configKey: `${TOKEN_MAP_KEY}["${entry}"]` };
  }
  return single ? { token: single, configKey: TOKEN_KEY } : undefined;
}

/** What to tell a user whose stack has no token for an app. */
export const missingTokenAdvice = (key: AppKey): string =>
  `no API token in this stack's config covers app '${appKeyText(key)}': run \`pulumi config set --secret --path '${TOKEN_MAP_KEY}["${appKeyText(key)}"]' <token>\`` +
  ` (or give ${TOKEN_KEY} a token whose scope includes it: \`token create --owner ${key.owner}\` issues one for every app of the owner)`;

/**
 * The client that calls the service with the token covering the app. `quick`: one attempt with a
 * short timeout, for what a preview only reports on (a token's scope, an audience's size), so an
 * unreachable service never stalls it.
 */
export function clientFor(key: AppKey, options: { quick?: boolean } = {}): PushplaneClient {
  const found = tokenFor(key);
  if (!found) throw new Error(missingTokenAdvice(key));
  const { clients, settings: { endpoint } } = configured();
  const cacheKey = `${options.quick ? "quick" : "full"}:${found.token}`;
  let client = clients.get(cacheKey);
  if (!client) {
    const tuning = options.quick ? { retries: 0, timeoutMs: QUICK_TIMEOUT_MS } : {};
    clients.set(cacheKey, (client = new PushplaneClient({ endpoint, apiToken: found.token, ...tuning })));
  }
  return client;
}

/**
 * Whether the configured token for the app covers it, asked of the service once per token
 * (`GET /v0.1/api_tokens/current`): "covered", "not covered" (with the scope it has), or
 * "unknown" when the service cannot be reached, which a preview reports and goes on from.
 */
export async function tokenCovers(key: AppKey): Promise<{ covered: true } | { covered: false; reason: string } | { covered: "unknown"; reason: string }> {
  const found = tokenFor(key);
  if (!found) return { covered: false, reason: missingTokenAdvice(key) };
  const { scopes, settings: { endpoint } } = configured();
  let asked = scopes.get(found.token);
  if (!asked) scopes.set(found.token, (asked = clientFor(key, { quick: true }).currentToken().then((token) => token.scope)));
  try {
    const scope = await asked;
    if (scopeCovers(scope, key)) return { covered: true };
    return { covered: false, reason: `the token in ${found.configKey} covers ${scope.join(", ")}, not app '${appKeyText(key)}'; ${missingTokenAdvice(key)}` };
  } catch (error) {
    return { covered: "unknown", reason: `could not ask ${endpoint} which apps the token in ${found.configKey} covers (${(error as Error).message})` };
  }
}
