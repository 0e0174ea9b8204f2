// Audience policies: the definition parses and type-checks, names follow the organization's rule,
// no app exceeds its audience limit, and no audience outgrows the send limit.
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { deviceCount, ESTIMATE_INPUT, guardrailSchema, LIMITS, resourceType, validateAudience, type GuardrailConfig } from "../domain/index.ts";
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

/**
 * The configured naming rule, compiled once — Unicode-aware when the pattern allows (`\p{Ll}`),
 * else as plain ECMAScript (`[a-z\_]`, which the Unicode flag refuses) — or what is wrong with it.
 */
const nameRules = new Map<string, RegExp | string>();
const badPatternsSaid = new Set<string>();
function nameRule(pattern: string): RegExp | string {
  let rule = nameRules.get(pattern);
  if (rule === undefined) {
    try {
      rule = new RegExp(pattern, "u");
    } catch {
      try {
        rule = new RegExp(pattern);
      } catch (error) {
        rule = `policy config pattern '${pattern}' is not a regular expression (${(error as Error).message}): fix it in the --policy-pack-config file; no name was checked`;
      }
    }
    nameRules.set(pattern, rule);
  }
  return rule;
}

export const audienceNameRules: ResourceValidationPolicy = {
  name: "audience-name-rules",
  description: "An audience's name follows the organization's naming rule (kebab-case by default) and stays within a configured length (the swagger's 64 at most).",
  enforcementLevel: "mandatory",
  configSchema: guardrailSchema("audience-name-rules"),
  validateResource: (args, reportViolation) => {
    if (args.type !== AUDIENCE_TYPE) return;
    const { pattern, maxLength } = args.getConfig<GuardrailConfig<"audience-name-rules">>();
    const name = (args.props as AudienceProps).name;
    // Unknown at preview: nothing to check yet.
    if (typeof name !== "string") return;
    const rule = nameRule(pattern);
    if (typeof rule === "string") {
      if (!badPatternsSaid.has(pattern)) reportViolation(rule);
      badPatternsSaid.add(pattern);
    } else if (!rule.test(name)) reportViolation(`audience '${name}': the name must match ${pattern} (policy config pattern)`);
    const length = [...name].length;
    if (length > maxLength) reportViolation(`audience '${name}': the name must be at most ${maxLength} characters (got ${length}; policy config maxLength)`);
  },
};

export const audiencesPerAppLimit: StackValidationPolicy = {
  name: "audiences-per-app-limit",
  description: `An app must have at most ${LIMITS.audiencesPerApp.value} audiences (${LIMITS.audiencesPerApp.source}).`,
  enforcementLevel: "mandatory",
  configSchema: guardrailSchema("audiences-per-app-limit"),
  validateStack: (args, reportViolation) => {
    const { maxAudiencesPerApp } = args.getConfig<GuardrailConfig<"audiences-per-app-limit">>();
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

export const audienceSendLimit: ResourceValidationPolicy = {
  name: "audience-send-limit",
  description: `An audience the provider estimates above a configured number of devices (the ${LIMITS.devicesPerAudience.value.toLocaleString("en-US")}-device send limit by default, ${LIMITS.devicesPerAudience.source}) is reported: a notification to it would be refused. Advisory; set enforcementLevel mandatory to stop it.`,
  enforcementLevel: "advisory",
  configSchema: guardrailSchema("audience-send-limit"),
  validateResource: (args, reportViolation) => {
    if (args.type !== AUDIENCE_TYPE) return;
    const { maxDevices } = args.getConfig<GuardrailConfig<"audience-send-limit">>();
    const props = args.props as AudienceProps & { [ESTIMATE_INPUT]?: number | string };
    const audience = `audience '${props.name}' ${props.owner && props.app ? `(${props.owner}/${props.app}) ` : ""}`;
    // Estimated when whom it selects may change; an unchanged audience was judged when it changed.
    const estimate = props[ESTIMATE_INPUT];
    if (typeof estimate === "string") {
      // Not estimated (the service did not answer): said at the policy's level, so a mandatory limit fails closed.
      reportViolation(`${audience}could not be checked against ${deviceCount(maxDevices)} devices: ${estimate}`);
      return;
    }
    if (typeof estimate !== "number" || estimate <= maxDevices) return;
    reportViolation(
      `${audience}would hold ~${deviceCount(estimate)} devices by the provider's estimate, over ${deviceCount(maxDevices)} ` +
        `(policy config maxDevices; the platform refuses a notification to more than ${deviceCount(LIMITS.devicesPerAudience.value)} ${LIMITS.devicesPerAudience.unit}, ${LIMITS.devicesPerAudience.source}): narrow its definition`,
    );
  },
};
