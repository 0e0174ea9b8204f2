// The Audience resource, declared (contract: App Center swagger, Audiences_CreateOrUpdate / Get / Delete).
import { z } from "zod";
import { AUDIENCE_ESTIMATE_SAMPLE_DEVICES, comparableDefinition, propertyTypeSchema, validateAudience } from "../audience.ts";
import { adoptField, appFields, declareResource } from "../declare-resource.ts";
import { LIMITS } from "../limits.ts";

export const audienceResource = declareResource({
  kind: "Audience",
  doc: "An App Center audience: the devices a definition selects (e.g. `carrierCountry eq 'US'`), counted by the service and kept up to date as devices change. `pulumi preview` shows each created or changed audience's size before and after.",
  source: "contract: App Center swagger, Audiences_CreateOrUpdate",
  inputs: {
    ...appFields({ replaces: true }),
    name: {
      schema: z.string(),
      doc: "The audience's name in the service; no '/'.",
      defaultText: "the resource name",
      replaces: true,
      limits: [LIMITS.audienceNameLength],
    },
    definition: {
      schema: z.string(),
      doc: "The App Center definition: device and custom properties compared with eq, ne, lt, gt, le, ge, contains, startswith, joined by and, or, not.",
      limits: [LIMITS.audienceDefinitionLength, LIMITS.definitionNestingDepth],
    },
    description: { schema: z.string().default(""), doc: "What the audience is for.", limits: [LIMITS.audienceDescriptionLength] },
    enabled: { schema: z.boolean().default(true), doc: "A disabled audience is kept but not counted or sent to." },
    customProperties: {
      schema: z.record(z.string(), propertyTypeSchema).default({}),
      doc: "The type of each custom property the definition uses, by name.",
      limits: [LIMITS.customPropertiesPerApp],
    },
    adopt: adoptField("an audience of this name"),
  },
  outputs: {
    normalizedDefinition: { schema: z.string(), doc: "The definition as the service normalizes it (word operators, single spaces, minimal parentheses)." },
    estimatedCount: {
      schema: z.number().int(),
      doc: `How many devices the audience holds: after create or update the service's estimate (exact in an app of up to ${AUDIENCE_ESTIMATE_SAMPLE_DEVICES.toLocaleString("en-US")} devices), which \`up\` does not wait to count; the exact count after \`pulumi refresh\`.`,
    },
    state: { schema: z.string(), doc: "Calculating (its full count not landed yet), Ready or Disabled." },
  },
  namedBy: "name",
  refine: (inputs, pending) => {
    if (["name", "definition", "customProperties"].some((input) => pending.has(input))) return [];
    const { issues } = validateAudience(
      inputs.name,
      { definition: inputs.definition, description: inputs.description, enabled: inputs.enabled, custom_properties: inputs.customProperties },
      { name: "name", definition: "definition", description: "description", customProperties: "customProperties" },
    );
    return issues.map((issue) => ({ property: issue.field.split(".")[0]!, reason: issue.message }));
  },
  compareAs: { definition: (definition, inputs) => comparableDefinition(definition, inputs.customProperties) },
});
