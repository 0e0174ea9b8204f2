// The provider's stack config, declared once: settings.ts reads it, the program checks the token map
// with it, and the reference lists it. Every key is in the `pushplane` namespace.
import { STORAGE_DEFAULTS } from "./storage.ts";

export interface ConfigSpec {
  readonly key: `pushplane:${string}`;
  readonly doc: string;
  /** Set with `pulumi config set --secret`: encrypted in the stack's config, never printed. */
  readonly secret?: boolean;
  readonly default?: string | number;
}

export const PROVIDER_CONFIG = {
  endpoint: { key: "pushplane:endpoint", doc: "The pushplane service's base URL, e.g. http://127.0.0.1:8080 (required)." },
  apiToken: { key: "pushplane:apiToken", doc: "An API token; used for every app the token map below does not name.", secret: true },
  apiTokens: {
    key: "pushplane:apiTokens",
    doc: "API tokens by app: a map whose keys are 'owner/app' or 'owner/*' (every app of the owner). Set one with `pulumi config set --secret --path 'pushplane:apiTokens[\"acme/ios\"]' <token>`.",
    secret: true,
  },
  owner: { key: "pushplane:owner", doc: "The owner of resources that do not name one." },
  app: { key: "pushplane:app", doc: "The app of resources that do not name one." },
  storageConnectionString: {
    key: "pushplane:storageConnectionString",
    doc: "The blob storage account of storage resources that do not pass their own (Azure or Azurite connection string).",
    secret: true,
  },
  sasAllowedPermissions: {
    key: "pushplane:sasAllowedPermissions",
    doc: "The SAS permission letters a ContainerSasToken may grant at most.",
    default: STORAGE_DEFAULTS.sasAllowedPermissions,
  },
  sasMaxLifetimeDays: { key: "pushplane:sasMaxLifetimeDays", doc: "The longest lifetime of a ContainerSasToken, in days.", default: STORAGE_DEFAULTS.sasMaxLifetimeDays },
} as const satisfies Record<string, ConfigSpec>;
