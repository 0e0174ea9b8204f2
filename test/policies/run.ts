// Runs one resource policy the way the engine does, for the policy unit tests.
import type { ResourceValidation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";

/** The violations a policy reports for one resource, with its config defaults (as the engine fills them) overridden by `config`. */
export function violations(policy: ResourceValidationPolicy, type: string, props: Record<string, unknown>, config: Record<string, unknown> = {}): string[] {
  const defaults = Object.fromEntries(Object.entries(policy.configSchema?.properties ?? {}).map(([key, schema]) => [key, (schema as { default?: unknown }).default]));
  const reported: string[] = [];
  const args = { type, props, urn: `urn:pulumi:s::p::${type}::x`, name: "x", opts: {}, getConfig: () => ({ ...defaults, ...config }) } as unknown as ResourceValidationArgs;
  void (policy.validateResource as ResourceValidation)(args, (message: string) => reported.push(message));
  return reported;
}
