// Pulumi passes a policy's config through without checking its keys against the schema: a
// misspelled setting (`maxRetentionDay`) would silently leave the default in force. Each policy is
// wrapped so its first validation reports config keys its schema does not declare, with a guess.
import type { Policy, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { didYouMean } from "../domain/index.ts";

type AnyPolicy = ResourceValidationPolicy | StackValidationPolicy;
type Report = (message: string, urn?: string) => void;

/** The config keys the policy was given that its schema does not declare, each as a sentence. */
export function unknownConfigKeys(policy: Policy, given: Record<string, unknown>): string[] {
  const known = Object.keys(policy.configSchema?.properties ?? {});
  return Object.keys(given)
    .filter((key) => key !== "enforcementLevel" && !known.includes(key))
    .map((key) => {
      const guess = didYouMean(key, known);
      return `policy config: '${key}' is not a setting of ${policy.name}${guess ? ` (did you mean '${guess}'?)` : ""}; ${known.length > 0 ? `its settings: ${known.join(", ")}` : "it has no settings"} (the default stays in force)`;
    });
}

/** The policy, reporting unknown config keys once (the first resource it sees, or the stack). */
export function withConfigKeysChecked<P extends AnyPolicy>(policy: P): P {
  let checked = false;
  const check = (given: Record<string, unknown>, report: Report) => {
    if (checked) return;
    checked = true;
    for (const problem of unknownConfigKeys(policy, given)) report(problem);
  };
  if ("validateResource" in policy && policy.validateResource) {
    const validate = policy.validateResource;
    return {
      ...policy,
      validateResource: (args: ResourceValidationArgs, report: Report) => {
        check(args.getConfig<Record<string, unknown>>(), report);
        const results = (Array.isArray(validate) ? validate : [validate]).map((one) => one(args, report));
        return Promise.all(results).then(() => undefined);
      },
    };
  }
  const stackPolicy = policy as StackValidationPolicy;
  const validate = stackPolicy.validateStack;
  return {
    ...policy,
    validateStack: (args: StackValidationArgs, report: Report) => {
      check(args.getConfig<Record<string, unknown>>(), report);
      return validate(args, report);
    },
  };
}
