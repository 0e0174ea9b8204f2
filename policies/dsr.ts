// Data-subject policies: an erased subject must not come back through the stack. For every erasure
// request in the stack, no other resource's inputs (an audience's definition or description, an
// export job's segment, any text) may name one of the subject's identifiers; the violation names the
// resource, the input and the request, never the identifier.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { LIMITS, namesAnyValue, RESOURCE_KINDS, resourceType } from "../domain/index.ts";
import type { PropsOf } from "./props.ts";

export const DSR_TYPE = resourceType("DataSubjectRequest");
const PUSHPLANE_TYPES = new Set(RESOURCE_KINDS.map(resourceType));

/** An erasure's identifiers as the program gave them (secret in state; only compared here, never printed). */
function identifiersOf(props: PropsOf<"DataSubjectRequest">): string[] {
  const values = [props.userId, ...(props.installIds ?? []), ...Object.values(props.customProperties ?? {})];
  return values.filter((value): value is string => typeof value === "string" && value.length > 0);
}

/** Every text input of a resource, with the path a message names it by (`segment.segmentId`). */
function textInputs(value: unknown, path: string): { path: string; text: string }[] {
  if (typeof value === "string") return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((inner, i) => textInputs(inner, `${path}[${i}]`));
  if (typeof value === "object" && value !== null) return Object.entries(value).flatMap(([key, inner]) => textInputs(inner, path ? `${path}.${key}` : key));
  return [];
}

const kindOf = (resource: PolicyResource) => resource.type.slice(resource.type.lastIndexOf(":") + 1);

export const dsrCleanup: StackValidationPolicy = {
  name: "dsr-cleanup",
  description:
    "No resource of the stack names a subject the stack erases (a DataSubjectRequest of kind erasure): an audience, export job or other input that still holds the subject's identifiers would bring the erased data back.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const erasures = args.resources
      .filter((resource) => resource.type === DSR_TYPE && (resource.props as PropsOf<"DataSubjectRequest">).kind === "erasure")
      .map((resource) => ({ name: resource.name, values: identifiersOf(resource.props as PropsOf<"DataSubjectRequest">) }))
      .filter((erasure) => erasure.values.length > 0);
    if (erasures.length === 0) return;
    for (const resource of args.resources) {
      if (!PUSHPLANE_TYPES.has(resource.type) || resource.type === DSR_TYPE) continue;
      for (const { path, text } of textInputs(resource.props, "")) {
        const named = erasures.find((erasure) => namesAnyValue(text, erasure.values));
        if (named) {
          reportViolation(
            `${kindOf(resource)} '${resource.name}': its ${path} names the subject that DataSubjectRequest '${named.name}' erases; ` +
              "remove it, or the erased data comes back through the stack (the identifier is not shown)",
            resource.urn,
          );
        }
      }
    }
  },
};

export const dsrDueDate: StackValidationPolicy = {
  name: "dsr-due-date",
  description: `A data-subject request is answered within its due date (received plus ${LIMITS.dsrAnswerDays.value} days, ${LIMITS.dsrAnswerDays.source}): one still Pending or Running past it is reported.`,
  enforcementLevel: "advisory",
  validateStack: (args, reportViolation) => {
    for (const resource of args.resources) {
      if (resource.type !== DSR_TYPE) continue;
      // Known once the request exists (its outputs); a request being created has none yet.
      const { state, dueAt } = resource.props as Partial<Record<"state" | "dueAt", string>>;
      if ((state === "Pending" || state === "Running") && typeof dueAt === "string" && Date.parse(dueAt) < Date.now()) {
        reportViolation(`DataSubjectRequest '${resource.name}' is still ${state} past its due date ${dueAt}: the subject is owed an answer (${LIMITS.dsrAnswerDays.source})`, resource.urn);
      }
    }
  },
};
