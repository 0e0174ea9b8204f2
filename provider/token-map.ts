// The stack's API tokens by app (`pushplane:apiTokens`): read by the provider at configure and
// checked by the program before it declares anything, so a malformed map is one line at preview.
import { PROVIDER_CONFIG, tokenScopeEntrySchema } from "../domain/index.ts";

export const TOKEN_KEY = PROVIDER_CONFIG.apiToken.key;
export const TOKEN_MAP_KEY = PROVIDER_CONFIG.apiTokens.key;

/** Reads `pushplane:apiTokens`: a JSON object whose keys are scope entries, each naming its apps once. */
export function readTokenMap(text: string | undefined): Map<string, string> {
  const map = new Map<string, string>();
  if (!text) return map;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${TOKEN_MAP_KEY} is not a map: set each token with \`pulumi config set --secret --path '${TOKEN_MAP_KEY}["owner/app"]' <token>\``);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${TOKEN_MAP_KEY} must map 'owner/app' (or 'owner/*') to a token, got ${Array.isArray(parsed) ? "a list" : typeof parsed}`);
  }
  const seen = new Map<string, string>();
  for (const [rawKey, token] of Object.entries(parsed)) {
    const key = rawKey.trim();
    if (!tokenScopeEntrySchema.safeParse(key).success) {
      throw new Error(`${TOKEN_MAP_KEY}: key '${rawKey}' is not 'owner/app' or 'owner/*' (e.g. 'acme/ios')`);
    }
    if (typeof token !== "string" || token === "") throw new Error(`${TOKEN_MAP_KEY}["${key}"] must be a token (a string)`);
    const spelled = seen.get(key.toLowerCase());
    if (spelled !== undefined) throw new Error(`${TOKEN_MAP_KEY} names '${key}' twice ('${spelled}' and '${rawKey}'): keep one`);
    seen.set(key.toLowerCase(), rawKey);
    map.set(key, token);
  }
  return map;
}
