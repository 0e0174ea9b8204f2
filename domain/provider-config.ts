// The provider's stack config, declared once: settings.ts reads it, the program checks the token map
// with it and records what the policy pack's configuration rules judge, and the reference lists it.
// Every key is in the `pushplane` namespace.
import { HIDDEN_INPUTS } from "./hidden-inputs.ts";
import type { GuardrailPolicy } from "./guardrails.ts";

export interface ConfigSpec {
  readonly key: `pushplane:${string}`;
  readonly doc: string;
  /** Set with `pulumi config set --secret`: encrypted in the stack's config, never printed. */
  readonly secret?: boolean;
  readonly default?: string | number;
  /**
   * A key kept only so stacks that set it keep working: the organization's rule it held moved to
   * the policy pack (this names the policy setting). Honoured when set, with a warning; no default.
   */
  readonly movedToPolicy?: `${GuardrailPolicy}.${string}`;
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
    doc: "Deprecated: the SAS permission letters a ContainerSasToken may grant at most. Set the policy pack's export-sas-least-privilege allowedPermissions instead.",
    movedToPolicy: "export-sas-least-privilege.allowedPermissions",
  },
  sasMaxLifetimeDays: {
    key: "pushplane:sasMaxLifetimeDays",
    doc: "Deprecated: the longest lifetime of a ContainerSasToken, in days. Set the policy pack's export-sas-least-privilege maxLifetimeDays instead.",
    movedToPolicy: "export-sas-least-privilege.maxLifetimeDays",
  },
} as const satisfies Record<string, ConfigSpec>;

/**
 * What the policy pack's configuration rules judge, recorded by the program on every pushplane
 * resource as this hidden input (a policy pack is given no stack config): the endpoint's origin and
 * whether each credential the config holds is encrypted (provider/stack-facts.ts). Never a value of
 * a credential; not an input of any kind, so no diff compares it.
 */
export const STACK_FACTS_INPUT = HIDDEN_INPUTS.stackFacts;
export interface StackFacts {
  /** `pushplane:endpoint` as scheme://host[:port], or the text as given when it is not a URL. */
  readonly endpoint?: string;
  /** Each credential the config holds, by key or by entry of a map (`pushplane:apiTokens["acme/ios"]`). */
  readonly credentials: readonly CredentialFact[];
}
export interface CredentialFact {
  readonly key: string;
  /** "secret": encrypted; "plaintext": readable by anyone with the file; "unknown": this Pulumi SDK cannot tell. */
  readonly kind: "secret" | "plaintext" | "unknown";
  /** The config file it was read from, when the program found one. */
  readonly file?: string;
}

/** The credential keys of the stack config (the secret ones), from the table above. */
export const CREDENTIAL_KEYS: readonly string[] = Object.values(PROVIDER_CONFIG)
  .filter((spec: ConfigSpec) => spec.secret)
  .map((spec) => spec.key);
