// Audience policies: the definition parses and type-checks, names follow the organization's rule,
// and no app exceeds its audience limit.
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { LIMITS, resourceType, validateAudience } from "../domain/index.ts";
import type { PropsOf } from "./props.ts";

export const AUDIENCE_TYPE = resourceType("Audience");
type AudienceProps = PropsOf<"Audience">;

export const audienceDefinitionValid: ResourceValidationPolicy = {
  name: "audience-definition-valid",
  description: "An audience's definition must parse and type-check against device and declared custom properties, within the swagger's length limits.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== AUDIENCE_TYPE) return;
    const props = args.props as AudienceProps;
    // Unknown at preview (computed from another resource): nothing to check yet.
    if (typeof props.definition !== "string" || typeof props.name !== "string") return;
    const { issues } = validateAudience(
      props.name,
      { definition: props.definition, description: props.description, custom_properties: props.customProperties },
      { name: "name", definition: "definition", description: "description", customProperties: "customProperties" },
    );
    for (const issue of issues) reportViolation(`audience '${props.name}': ${issue.message}`);
  },
};

/** Default naming rule: lowercase words joined by hyphens (kebab-case), as the seeds' examples name audiences. */
export const DEFAULT_AUDIENCE_NAME_PATTERN = "^[a-z0-9]+(-[a-z0-9]+)*$";

export const audienceNameRules: ResourceValidationPolicy = {
  name: "audience-name-rules",
  description: "An audience's name follows the organization's naming rule (kebab-case by default) and stays within a configured length (the swagger's 64 at most).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      pattern: { type: "string", default: DEFAULT_AUDIENCE_NAME_PATTERN, description: `A regular expression every audience name must match; default ${DEFAULT_AUDIENCE_NAME_PATTERN} (kebab-case).` },
      maxLength: {
        type: "integer",
        default: LIMITS.audienceNameLength.value,
        minimum: 1,
        maximum: LIMITS.audienceNameLength.value,
        description: `Longest name in characters; default ${LIMITS.audienceNameLength.value}, the platform's own (${LIMITS.audienceNameLength.source}).`,
      },
    },
  },
  validateResource: (args, reportViolation) => {
    if (args.type !== AUDIENCE_TYPE) return;
    const { pattern, maxLength } = args.getConfig<{ pattern: string; maxLength: number }>();
    const name = (args.props as AudienceProps).name;
    // Unknown at preview: nothing to check yet.
    if (typeof name !== "string") return;
    if (!new RegExp(pattern, "u").test(name)) reportViolation(`audience '${name}': the name must match ${pattern} (policy config pattern)`);
    const length = [...name].length;
    if (length > maxLength) reportViolation(`audience '${name}': the name must be at most ${maxLength} characters (got ${length}; policy config maxLength)`);
  },
};

export const audiencesPerAppLimit: StackValidationPolicy = {
  name: "audiences-per-app-limit",
  description: `An app must have at most ${LIMITS.audiencesPerApp.value} audiences (${LIMITS.audiencesPerApp.source}).`,
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      maxAudiencesPerApp: {
        type: "integer",
        default: LIMITS.audiencesPerApp.value,
        minimum: 0,
        maximum: LIMITS.audiencesPerApp.value,
        description: `Lower the platform limit for this organization; default ${LIMITS.audiencesPerApp.value}, the platform's own.`,
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const { maxAudiencesPerApp } = args.getConfig<{ maxAudiencesPerApp: number }>();
    const perApp = new Map<string, number>();
    for (const resource of args.resources) {
      if (resource.type !== AUDIENCE_TYPE) continue;
      const props = resource.props as AudienceProps;
      // Audiences that name no owner/app use the stack's pushplane:owner / pushplane:app.
      const app = props.owner && props.app ? `${props.owner}/${props.app}` : "the stack's default app (pushplane:owner/pushplane:app)";
      perApp.set(app, (perApp.get(app) ?? 0) + 1);
    }
    for (const [app, count] of perApp) {
      if (count > maxAudiencesPerApp) {
        reportViolation(
          `${app} must have at most ${maxAudiencesPerApp} audiences, but this stack declares ${count} (${LIMITS.audiencesPerApp.source}: ${LIMITS.audiencesPerApp.value} ${LIMITS.audiencesPerApp.unit})`,
        );
      }
    }
  },
};
