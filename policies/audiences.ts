// Audience policies: the definition parses and type-checks, and no app exceeds its audience limit.
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
