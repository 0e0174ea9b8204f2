// Which apps an API token may touch, as App Center had app tokens and user tokens: one app
// (`acme/ios`), every app of an owner (`acme/*`), or a list of those. Written once here; the service
// enforces it on every route and the provider checks a stack's resources against it at preview.
import { z } from "zod";

export interface AppKey {
  readonly owner: string;
  readonly app: string;
}

/** Owner and app names as they appear in a URL path segment: no slash, no surrounding space. */
const NAME = "[^/\\s*][^/\\s]*";
const APP_KEY = new RegExp(`^(${NAME})/(${NAME})$`);
const SCOPE_ENTRY = new RegExp(`^(${NAME})/(${NAME}|\\*)$`);

/** `owner/app` as written in a token scope, a token map key or an error message. */
export const appKeyText = (key: AppKey): string => `${key.owner}/${key.app}`;

/** `owner/app` → the key, or undefined when the text is not exactly one owner, a slash and one app. */
export function parseAppKey(text: string): AppKey | undefined {
  const match = APP_KEY.exec(text);
  return match ? { owner: match[1]!, app: match[2]! } : undefined;
}

export const tokenScopeEntrySchema = z
  .string()
  .regex(SCOPE_ENTRY, "a scope entry is 'owner/app' (one app) or 'owner/*' (every app of the owner)");

/** A token's scope: at least one entry, each an app or all of an owner's apps. */
export const tokenScopeSchema = z.array(tokenScopeEntrySchema).min(1);
export type TokenScope = z.infer<typeof tokenScopeSchema>;

/** Whether a token of this scope may touch the app. */
export function scopeCovers(scope: readonly string[], key: AppKey): boolean {
  return scope.some((entry) => entry === appKeyText(key) || entry === `${key.owner}/*`);
}

/** The scope for `token create`: every app of the owner when no app is named, else the named apps. */
export function scopeOf(owner: string, apps: readonly string[]): TokenScope {
  return tokenScopeSchema.parse(apps.length === 0 ? [`${owner}/*`] : apps.map((app) => (app.includes("/") ? app : `${owner}/${app}`)));
}

/** What `GET /v0.1/api_tokens/current` answers: the presented token, never its value. */
export const apiTokenInfoSchema = z.object({ id: z.string(), description: z.string(), scope: tokenScopeSchema });
export type ApiTokenInfo = z.infer<typeof apiTokenInfoSchema>;
