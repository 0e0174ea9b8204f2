// The App Center audience objects (contract: App Center swagger, AudienceDefinition / Audience)
// and the one validation both the service and the provider apply to them.
import { z } from "zod";
import {
  customPropertyConflicts,
  DefinitionError,
  parseDefinition,
  printDefinition,
  PROPERTY_TYPES,
  typeCheckDefinition,
  type CustomProperties,
  type Expression,
} from "./definition/index.ts";
import { atMost, LIMITS } from "./limits.ts";

export const propertyTypeSchema = z.enum(PROPERTY_TYPES);

/** PUT body and `definition/test` body (swagger: AudienceDefinition). */
export const audienceDefinitionSchema = z.object({
  definition: z.string(),
  description: z.string().optional(),
  enabled: z.boolean().optional(),
  custom_properties: z.record(z.string(), propertyTypeSchema).optional(),
});
export type AudienceDefinitionBody = z.infer<typeof audienceDefinitionSchema>;

export const audienceStateSchema = z.enum(["Calculating", "Ready", "Disabled"]);
export type AudienceState = z.infer<typeof audienceStateSchema>;

/** GET / PUT response (swagger: Audience = AudienceSummary + details). */
export const audienceSchema = z.object({
  name: z.string(),
  description: z.string().optional(),
  definition: z.string(),
  enabled: z.boolean(),
  custom_properties: z.record(z.string(), propertyTypeSchema),
  estimated_count: z.number().int(),
  estimated_total_count: z.number().int(),
  state: audienceStateSchema,
  timestamp: z.string(),
});
export type Audience = z.infer<typeof audienceSchema>;

export const audienceListSchema = z.object({
  values: z.array(audienceSchema.partial({ custom_properties: true, enabled: true, estimated_total_count: true, timestamp: true })),
  nextLink: z.string().optional(),
});

export const audienceTestResultSchema = z.object({
  definition: z.string(),
  custom_properties: z.record(z.string(), propertyTypeSchema),
  estimated_count: z.number().int(),
  estimated_total_count: z.number().int(),
});

/**
 * Above this many devices the service estimates a size from a sample of this many (definition/test,
 * the answer to a PUT): about 2 ms of reading, where a full count of 1 M devices takes 60–110 ms
 * (bench/RESULTS.md); the error is about ±0.7 % of the app (two standard errors at worst), what a
 * preview's "~1,802 devices" promises. An audience's own count is exact once its full count lands.
 */
export const AUDIENCE_ESTIMATE_SAMPLE_DEVICES = 20_000;

/** One problem with one field, phrased as a full sentence that names the field. */
export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

export function validateAudienceName(name: string, field = "name"): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (name.length === 0) issues.push({ field, message: `${field} must not be empty` });
  if (name.length > LIMITS.audienceNameLength.value) {
    issues.push({ field, message: `${field} ${atMost(LIMITS.audienceNameLength, name.length)}` });
  }
  if (name.includes("/")) {
    issues.push({ field, message: `${field} must not contain '/' (got '${name}'; contract: App Center swagger, AudienceNameParameter pattern [^/]+)` });
  }
  return issues;
}

export interface CheckedDefinition {
  readonly expression: Expression;
  /** The normalized text: what `diff` compares and `definition/test` returns. */
  readonly normalized: string;
}

/** Parses and type-checks a definition; the issue names the field, the column and what was expected. */
export function checkDefinition(
  definition: string,
  customProperties: CustomProperties = {},
  field = "definition",
  customField = "custom_properties",
): CheckedDefinition | FieldIssue {
  if (definition.length > LIMITS.audienceDefinitionLength.value) {
    return { field, message: `${field} ${atMost(LIMITS.audienceDefinitionLength, definition.length)}` };
  }
  try {
    const expression = parseDefinition(definition);
    typeCheckDefinition(expression, customProperties, customField);
    return { expression, normalized: printDefinition(expression) };
  } catch (error) {
    if (error instanceof DefinitionError) return { field, message: `${field}: ${error.message}` };
    throw error;
  }
}

/** A definition as `diff` compares it: normalized when it parses (one stored out of band may not: its trimmed text then). */
export function comparableDefinition(definition: string, customProperties: CustomProperties = {}): string {
  const checked = checkDefinition(definition, customProperties);
  return "field" in checked ? definition.trim() : checked.normalized;
}

/** A definition's comparisons in normal form (none when it does not parse). */
function comparisonsOf(expression: Expression): string[] {
  return expression.type === "comparison" ? [printDefinition(expression)] : expression.operands.flatMap(comparisonsOf);
}

/**
 * Two definitions in normal form with the comparisons that are in one and not the other marked
 * («…»), for a reviewer: `carrierCountry eq 'BR' or «carrierCountry eq 'US'»`. A definition that
 * does not parse is shown as written.
 */
export function markChangedTerms(before: string | undefined, after: string | undefined): { before: string | undefined; after: string | undefined } {
  const parse = (text: string | undefined) => {
    if (text === undefined) return undefined;
    try {
      return parseDefinition(text);
    } catch {
      return text;
    }
  };
  const [old, updated] = [parse(before), parse(after)];
  const terms = (tree: Expression | string | undefined) => new Set(tree === undefined || typeof tree === "string" ? [] : comparisonsOf(tree));
  const [oldTerms, newTerms] = [terms(old), terms(updated)];
  // A created or deleted definition, or one that does not parse, has nothing to compare with: nothing is marked.
  const compared = typeof old === "object" && typeof updated === "object";
  const show = (tree: Expression | string | undefined, other: Set<string>) =>
    tree === undefined || typeof tree === "string" ? tree : printDefinition(tree, (comparison) => (!compared || other.has(comparison) ? comparison : `«${comparison}»`));
  return { before: show(old, newTerms), after: show(updated, oldTerms) };
}

/** Every problem with an audience PUT: name, description, custom properties, definition. */
export function validateAudience(
  name: string,
  body: AudienceDefinitionBody,
  fields: { name: string; definition: string; description: string; customProperties: string } = {
    name: "audience_name",
    definition: "definition",
    description: "description",
    customProperties: "custom_properties",
  },
): { issues: FieldIssue[]; checked?: CheckedDefinition } {
  const issues = validateAudienceName(name, fields.name);
  const description = body.description ?? "";
  if (description.length > LIMITS.audienceDescriptionLength.value) {
    issues.push({ field: fields.description, message: `${fields.description} ${atMost(LIMITS.audienceDescriptionLength, description.length)}` });
  }
  const custom = body.custom_properties ?? {};
  for (const clash of customPropertyConflicts(custom)) {
    issues.push({
      field: `${fields.customProperties}.${clash}`,
      message: `${fields.customProperties}.${clash} shadows the device property of the same name; choose another name`,
    });
  }
  const result = checkDefinition(body.definition, custom, fields.definition, fields.customProperties);
  if ("field" in result) return { issues: [...issues, result] };
  return { issues, checked: result };
}
