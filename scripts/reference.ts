// Writes docs/reference.md from the declarations: every resource's inputs and outputs, the
// provider's stack config and the policy pack's config. `npm run docs` runs it; a test fails when the
// committed page differs from what this renders, so the reference cannot drift from the code.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { defaultOf, PROVIDER_CONFIG, RESOURCE_DECLARATIONS, resourceType, type AnyDeclaration, type FieldSpec, type Limit } from "../domain/index.ts";
import { policies } from "../policies/index.ts";

export const REFERENCE_PATH = fileURLToPath(new URL("../docs/reference.md", import.meta.url));

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  default?: unknown;
}

/** A JSON schema as the TypeScript-like type a program writes: `integer (1–3650)`, `"zip" | "gzip"`, `{ keyId: string; … }`. */
function typeText(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(" | ");
  if (schema.anyOf) return schema.anyOf.map(typeText).join(" | ");
  if (Array.isArray(schema.type)) return schema.type.map((type) => typeText({ ...schema, type })).join(" | ");
  switch (schema.type) {
    case "integer":
    case "number":
      return `${schema.type}${rangeText(schema)}`;
    case "array": {
      const item = typeText(schema.items ?? {});
      return item.includes(" ") ? `(${item})[]` : `${item}[]`;
    }
    case "object":
      if (schema.properties) {
        const required = new Set(schema.required ?? []);
        return `{ ${Object.entries(schema.properties)
          .map(([name, inner]) => `${name}${required.has(name) ? "" : "?"}: ${typeText(inner)}`)
          .join("; ")} }`;
      }
      return `Record<string, ${typeof schema.additionalProperties === "object" ? typeText(schema.additionalProperties) : "unknown"}>`;
    case undefined:
      return "unknown";
    default:
      return schema.type;
  }
}

function rangeText(given: JsonSchema): string {
  // zod bounds every integer by the safe range: not a limit worth a word.
  const bound = (value: number | undefined) => (value === undefined || Math.abs(value) >= Number.MAX_SAFE_INTEGER ? undefined : value);
  const schema = { minimum: bound(given.minimum), maximum: bound(given.maximum), exclusiveMinimum: bound(given.exclusiveMinimum) };
  if (schema.minimum !== undefined && schema.maximum !== undefined) return ` (${schema.minimum}–${schema.maximum})`;
  if (schema.exclusiveMinimum !== undefined) return ` (> ${schema.exclusiveMinimum}${schema.maximum !== undefined ? `, ≤ ${schema.maximum}` : ""})`;
  if (schema.minimum !== undefined) return ` (≥ ${schema.minimum})`;
  if (schema.maximum !== undefined) return ` (≤ ${schema.maximum})`;
  return "";
}

const jsonSchemaOf = (schema: z.ZodType): JsonSchema => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
const cell = (text: string): string => text.replaceAll("|", "\\|").replaceAll("\n", " ");
const code = (text: string): string => (text === "" ? "" : `\`${text}\``);
const limitText = (limit: Limit): string => `at most ${limit.value.toLocaleString("en-US")} ${limit.unit} (${limit.source})`;

function defaultText(field: FieldSpec): string {
  if (field.defaultText) return field.defaultText;
  const value = defaultOf(field);
  return value === undefined ? "" : code(JSON.stringify(value));
}

function effectText(field: FieldSpec): string {
  const effects = [field.replaces ? "replaces" : field.inert ? "no change in the service" : "updates in place"];
  if (field.secret) effects.push("secret");
  return effects.join(", ");
}

function resourceSection(declaration: AnyDeclaration): string {
  const inputs = Object.entries(declaration.inputs as Record<string, FieldSpec>).map(([name, field]) => {
    const required = !field.schema.safeParse(undefined).success && declaration.namedBy !== name;
    const limits = (field.limits ?? []).map(limitText).join("; ");
    return `| ${code(name)} | ${cell(code(typeText(jsonSchemaOf(field.schema))))} | ${required ? "yes" : ""} | ${cell(defaultText(field))} | ${cell(limits)} | ${effectText(field)} | ${cell(field.doc)} |`;
  });
  const outputs = Object.entries(declaration.outputs as Record<string, FieldSpec>).map(
    ([name, field]) => `| ${code(name)} | ${cell(code(typeText(jsonSchemaOf(field.schema))))} | ${field.secret ? "yes" : ""} | ${cell(field.doc)} |`,
  );
  return [
    `### ${declaration.kind}`,
    "",
    declaration.doc,
    "",
    `Source: ${declaration.source}. Pulumi type: \`${resourceType(declaration.kind as keyof typeof RESOURCE_DECLARATIONS)}\`.`,
    "",
    "#### Inputs",
    "",
    "| Input | Type | Required | Default | Limits | A change | Description |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...inputs,
    "",
    "#### Outputs",
    "",
    "Every input is an output too, as checked (defaults filled in). Besides:",
    "",
    "| Output | Type | Secret | Description |",
    "| --- | --- | --- | --- |",
    ...outputs,
    "",
  ].join("\n");
}

function configSection(): string {
  const rows = Object.values(PROVIDER_CONFIG).map(
    (spec) => `| ${code(spec.key)} | ${"secret" in spec && spec.secret ? "yes" : ""} | ${"default" in spec ? code(String(spec.default)) : ""} | ${cell(spec.doc)} |`,
  );
  return ["## Stack config", "", "Read by the provider when it starts; a resource's own `owner`, `app` or `storageConnectionString` wins over the stack's.", "", "| Key | Secret | Default | What it sets |", "| --- | --- | --- | --- |", ...rows, ""].join("\n");
}

function policySection(): string {
  const sections = policies.map((policy) => {
    const properties = Object.entries((policy.configSchema?.properties ?? {}) as Record<string, JsonSchema & { description?: string }>);
    const config =
      properties.length === 0
        ? ["No config."]
        : [
            "| Config | Type | Default | Description |",
            "| --- | --- | --- | --- |",
            ...properties.map(([name, schema]) => `| ${code(name)} | ${cell(code(typeText(schema)))} | ${code(JSON.stringify(schema.default))} | ${cell(schema.description ?? "")} |`),
          ];
    return [`### ${policy.name}`, "", `${policy.description} Enforcement: ${policy.enforcementLevel}.`, "", ...config, ""].join("\n");
  });
  return [
    "## Policy pack",
    "",
    "`@pushplane/policy-pack`: `pulumi preview --policy-pack node_modules/@pushplane/policy-pack`. Each policy's settings and its enforcement level (`advisory`, `mandatory`, `remediate`, `disabled`) are set in a policy config file (`--policy-pack-config`), e.g. `{ \"export-retention-bounded\": { \"maxRetentionDays\": 14 }, \"dsr-due-date\": { \"enforcementLevel\": \"mandatory\" } }`, or a level alone (`\"dsr-due-date\": \"mandatory\"`). `npx pushplane-policy-config policy-config.json` checks such a file against the pack (policy names, settings, types, bounds) before a preview reads it. The defaults are the organization's guardrails, one table in `domain/guardrails.ts`; the provider enforces only the platform's own limits.",
    "",
    ...sections,
  ].join("\n");
}

export function renderReference(): string {
  const declarations = Object.values(RESOURCE_DECLARATIONS) as AnyDeclaration[];
  return [
    "# pushplane reference",
    "",
    "<!-- Generated by `npm run docs` from domain/declarations/, domain/provider-config.ts and policies/. Do not edit: a test fails when this page is stale. -->",
    "",
    "Every resource is a class of `@pushplane/pulumi`: `new Audience(name, args, opts?)`. Each resource of an app takes `owner` and `app` (defaulting to the stack's); a token in the stack's config must cover that app, or `pulumi preview` fails naming the app and the key to set. How to install and configure: [use it in your own project](use-in-your-own-project.md).",
    "",
    ...declarations.map((declaration) => `- [${declaration.kind}](#${declaration.kind.toLowerCase()})`),
    "- [Stack config](#stack-config)",
    "- [Policy pack](#policy-pack)",
    "",
    "## Resources",
    "",
    ...declarations.map(resourceSection),
    configSection(),
    policySection(),
  ].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(REFERENCE_PATH, renderReference());
  console.log(`wrote ${REFERENCE_PATH}`);
}
