// What the program tells the policy pack about the stack's config (a pack is given none): the
// endpoint's origin, and for each credential the config holds, whether it is encrypted. Secrecy is
// read from the config files themselves where the program finds them — Pulumi.<stack>.yaml and
// Pulumi.yaml in the project directory — leaf by leaf, so one plaintext entry of a partly secret
// map is found, and a plaintext copy in the project file is found even when the stack file holds
// it encrypted. Without the stack file (another --config-file, config from an environment) the
// SDK's own answer for the whole key is used. Also here: stack config keys that are not pushplane's
// (a misspelling leaves the setting unset) and the deprecated keys' values, checked before use.
import * as pulumi from "@pulumi/pulumi";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { CREDENTIAL_KEYS, didYouMean, parseSasPermissions, PROVIDER_CONFIG, type ConfigSpec, type CredentialFact, type StackFacts } from "../domain/index.ts";

const PROJECT_FILE = "Pulumi.yaml";

/** Where the program looks: the project directory, the stack's name, and the SDK's answer for a whole key. */
export interface ConfigSources {
  readonly dir: string;
  readonly stack: string;
  readonly isSecret: ((key: string) => boolean) | undefined;
}
const programSources = (): ConfigSources => ({
  dir: process.cwd(),
  stack: pulumi.getStack(),
  // Internal to the SDK (there is no public way to ask): without it, the pack says it could not tell.
  isSecret: (pulumi.runtime as { isConfigSecret?: (key: string) => boolean }).isConfigSecret,
});

/** The facts for this stack, from its config (never a credential's value). */
export function stackFacts(config: Record<string, string>, sources: ConfigSources = programSources()): StackFacts {
  return { endpoint: originOf(config[PROVIDER_CONFIG.endpoint.key]), credentials: credentialFacts(config, sources) };
}

function credentialFacts(config: Record<string, string>, { dir, stack, isSecret }: ConfigSources): CredentialFact[] {
  const stackFile = `Pulumi.${stack}.yaml`;
  const stackConfig = configSection(join(dir, stackFile));
  const projectConfig = configSection(join(dir, PROJECT_FILE));
  const facts: CredentialFact[] = [];
  for (const key of CREDENTIAL_KEYS) {
    // A project file may name a key to declare it; a value there (or its default) is in the repository as written.
    const declared = projectConfig?.[key];
    const committed = isObject(declared) && !("value" in declared) && !("default" in declared) ? undefined : isObject(declared) ? (declared.value ?? declared.default) : declared;
    for (const path of plaintextLeaves(committed, key)) facts.push({ key: path, kind: "plaintext", file: PROJECT_FILE });
    if (config[key] === undefined) continue;
    if (stackConfig && key in stackConfig) {
      const plaintext = plaintextLeaves(stackConfig[key], key);
      if (plaintext.length === 0) facts.push({ key, kind: "secret", file: stackFile });
      for (const path of plaintext) facts.push({ key: path, kind: "plaintext", file: stackFile });
    } else if (committed === undefined) {
      facts.push({ key, kind: isSecret ? (isSecret(key) ? "secret" : "plaintext") : "unknown" });
    }
  }
  return facts;
}

/** The `config:` mapping of a Pulumi YAML file, or undefined when there is none to read. */
function configSection(file: string): Record<string, unknown> | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const parsed = parseYaml(readFileSync(file, "utf8")) as { config?: unknown } | null;
    return isObject(parsed?.config) ? parsed.config : undefined;
  } catch {
    return undefined;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** The paths (`key["acme/ios"]`) of the values under `value` not written as `{ secure: … }`. */
function plaintextLeaves(value: unknown, path: string): string[] {
  if (value === undefined || value === null || value === "") return [];
  if (isObject(value)) {
    if ("secure" in value) return [];
    return Object.entries(value).flatMap(([name, inner]) => plaintextLeaves(inner, `${path}[${JSON.stringify(name)}]`));
  }
  if (Array.isArray(value)) return value.flatMap((inner, i) => plaintextLeaves(inner, `${path}[${i}]`));
  return [path];
}

/** scheme://host[:port] of a URL (credentials, path and query dropped); the text itself when it is not a URL. */
function originOf(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}`;
  } catch {
    return text.slice(0, 200);
  }
}

/**
 * Problems with the stack's pushplane keys that the provider alone would pass over: a key that is
 * not a setting (warned, with a guess), a deprecated key whose value cannot be a bound (an error:
 * the bound it was set for would silently not hold), a deprecated key at all (warned).
 */
export function checkPushplaneKeys(config: Record<string, string>): { warnings: string[]; errors: string[] } {
  const specs = Object.values(PROVIDER_CONFIG) as ConfigSpec[];
  const known = specs.map((spec) => spec.key as string);
  const warnings: string[] = [];
  const errors: string[] = [];
  for (const key of Object.keys(config).filter((key) => key.startsWith("pushplane:") && !known.includes(key))) {
    const guess = didYouMean(key, known);
    warnings.push(`${key} is not a pushplane setting${guess ? ` (did you mean ${guess}?)` : ""}: the provider ignores it${guess ? `, so ${guess} stays unset` : ""}`);
  }
  for (const spec of specs) {
    const value = config[spec.key];
    if (!spec.movedToPolicy || value === undefined) continue;
    const [policy, setting] = spec.movedToPolicy.split(".");
    warnings.push(
      `${spec.key} is deprecated: the organization's rule it sets is the policy pack's ${policy} (setting ${setting} in the --policy-pack-config file). ` +
        `The provider still honours it while it is set; move the value and run \`pulumi config rm ${spec.key}\`.`,
    );
    // An empty value would read as unset: the bound it was set for would silently go.
    const valid = value.trim() !== "" && (spec.key === PROVIDER_CONFIG.sasMaxLifetimeDays.key ? Number(value) > 0 : parseSasPermissions(value) !== undefined);
    if (!valid) errors.push(`${spec.key} '${value}' is not ${spec.key === PROVIDER_CONFIG.sasMaxLifetimeDays.key ? "a number of days above 0" : "a set of SAS permission letters (r a c w d l)"}: the bound it was set for would not hold`);
  }
  return { warnings, errors };
}
