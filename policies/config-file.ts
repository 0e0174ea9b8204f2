// Checks a `--policy-pack-config` file against the pack before a preview reads it. Pulumi checks a
// setting's type, but a policy name it does not know is passed over when the entry sets an
// enforcement level (the rule the team meant to tighten silently keeps its default) and fails
// with "invalid enforcement level ''" otherwise; a misspelled setting is the pack's to report
// (config-keys.ts) only once a resource is checked. This names each problem with a guess, at once.
// `npx pushplane-policy-config policy-config.json` (the gitops workflow runs it before its preview).
import { readFileSync } from "node:fs";
import type { Policy } from "@pulumi/policy";
import { didYouMean } from "../domain/index.ts";
import { unknownConfigKeys } from "./config-keys.ts";
import { policies } from "./index.ts";

const ENFORCEMENT_LEVELS = ["advisory", "mandatory", "remediate", "disabled"] as const;
type JsonSchema = { type?: string; minimum?: number; maximum?: number; exclusiveMinimum?: number; pattern?: string };

/** Every problem of a parsed config file, as sentences naming the policy and the setting. */
export function checkPolicyConfig(config: unknown, pack: readonly Policy[] = policies): string[] {
  if (typeof config !== "object" || config === null || Array.isArray(config)) return ["the policy config must be a JSON object keyed by policy name"];
  const byName = new Map(pack.map((policy) => [policy.name, policy]));
  const problems: string[] = [];
  const level = (where: string, value: unknown) => {
    if (!(ENFORCEMENT_LEVELS as readonly unknown[]).includes(value)) problems.push(`${where}: '${String(value)}' is not an enforcement level (${ENFORCEMENT_LEVELS.join(", ")})`);
  };
  for (const [name, value] of Object.entries(config)) {
    // Pulumi's own key: one enforcement level for every policy of the pack.
    if (name === "all") {
      if (typeof value === "object" && value !== null && !Array.isArray(value)) level("all.enforcementLevel", (value as { enforcementLevel?: unknown }).enforcementLevel);
      else level("all", value);
      continue;
    }
    const policy = byName.get(name);
    if (!policy) {
      const guess = didYouMean(name, [...byName.keys()]);
      problems.push(`'${name}' is not a policy of the pack${guess ? ` (did you mean '${guess}'?)` : ""}: its settings would be passed over`);
      continue;
    }
    if (typeof value === "string") {
      level(name, value);
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      problems.push(`${name}: must be an enforcement level or an object of settings`);
      continue;
    }
    const settings = value as Record<string, unknown>;
    if ("enforcementLevel" in settings) level(`${name}.enforcementLevel`, settings.enforcementLevel);
    problems.push(...unknownConfigKeys(policy, settings).map((problem) => `${name}: ${problem.replace(/^policy config: /, "")}`));
    const schemas = (policy.configSchema?.properties ?? {}) as Record<string, JsonSchema>;
    for (const [key, setting] of Object.entries(settings)) {
      const schema = schemas[key];
      if (!schema) continue;
      const problem = settingProblem(schema, setting);
      if (problem) problems.push(`${name}.${key}: ${problem}`);
    }
  }
  return problems;
}

/** What is wrong with one value against its schema (the parts of JSON Schema the pack's settings use). */
function settingProblem(schema: JsonSchema, value: unknown): string | undefined {
  if (schema.type === "string") {
    if (typeof value !== "string") return `must be a string, got ${JSON.stringify(value)}`;
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) return `'${value}' does not match ${schema.pattern}`;
    return undefined;
  }
  if (typeof value !== "number" || (schema.type === "integer" && !Number.isInteger(value))) return `must be ${schema.type === "integer" ? "an integer" : "a number"}, got ${JSON.stringify(value)}`;
  if (schema.minimum !== undefined && value < schema.minimum) return `must be at least ${schema.minimum}, got ${value}`;
  if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return `must be more than ${schema.exclusiveMinimum}, got ${value}`;
  if (schema.maximum !== undefined && value > schema.maximum) return `must be at most ${schema.maximum}, got ${value}`;
  return undefined;
}

export function main(argv: string[], out: (text: string) => void = (text) => process.stdout.write(text)): number {
  const [file] = argv;
  if (!file || file === "--help") {
    out("usage: pushplane-policy-config policy-config.json\n  Checks a --policy-pack-config file against the pushplane policy pack: policy names, settings, types and bounds.\n");
    return file ? 0 : 2;
  }
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    out(`${file}: ${(error as Error).message}\n`);
    return 1;
  }
  const problems = checkPolicyConfig(config);
  out(problems.length === 0 ? `${file}: every policy and setting is the pack's\n` : `${problems.map((problem) => `${file}: ${problem}`).join("\n")}\n`);
  return problems.length === 0 ? 0 : 1;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
