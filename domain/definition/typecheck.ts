// Checks a parsed definition against the device properties and the declared custom properties:
// every name must be known and every literal must have the property's type.
import { closest } from "fastest-levenshtein";
import type { ComparisonOperator, Expression, Literal } from "./ast.ts";
import { DefinitionError } from "./errors.ts";
import { DEVICE_PROPERTIES, isDeviceProperty, type PropertyType } from "./properties.ts";

export type CustomProperties = Readonly<Record<string, PropertyType>>;

const LITERAL_FOR_TYPE: Record<PropertyType, Literal["kind"]> = {
  string: "string",
  number: "number",
  boolean: "boolean",
  date_time: "date",
};

const EXAMPLE_FOR_TYPE: Record<PropertyType, string> = {
  string: "a quoted string such as 'US'",
  number: "a number such as 21",
  boolean: "true or false",
  date_time: "a date such as 2024-01-31 or 2024-01-31T12:00:00Z",
};

const EQUALITY_ONLY: readonly ComparisonOperator[] = ["eq", "ne"];

/**
 * The known name a misspelled one most likely meant: the closest by edit distance (case ignored),
 * if it is close enough to be a typo (at most a third of the name's letters, and at most 3).
 */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const lower = known.map((k) => k.toLowerCase());
  const best = closest(name.toLowerCase(), lower);
  const budget = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  return editDistanceAtMost(name.toLowerCase(), best, budget) ? known[lower.indexOf(best)] : undefined;
}

/** Whether two names are within `budget` edits (the closest match is not always a typo). */
function editDistanceAtMost(a: string, b: string, budget: number): boolean {
  if (Math.abs(a.length - b.length) > budget) return false;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]! <= budget;
}

/**
 * The type of each property the definition names; throws the first problem found. `customField`
 * names the custom properties as the caller spells them (`custom_properties` in the API,
 * `customProperties` in a program).
 */
export function typeCheckDefinition(expression: Expression, custom: CustomProperties, customField = "custom_properties"): Map<string, PropertyType> {
  const used = new Map<string, PropertyType>();
  const visit = (e: Expression): void => {
    if (e.type !== "comparison") {
      e.operands.forEach(visit);
      return;
    }
    const type: PropertyType | undefined = isDeviceProperty(e.property)
      ? DEVICE_PROPERTIES[e.property]
      : Object.hasOwn(custom, e.property) ? custom[e.property] : undefined;
    if (type === undefined) {
      const declared = Object.keys(custom);
      const guess = didYouMean(e.property, [...Object.keys(DEVICE_PROPERTIES), ...declared]);
      throw new DefinitionError(
        `unknown property '${e.property}'${guess ? `: did you mean '${guess}'?` : ""} expected a device property (${Object.keys(DEVICE_PROPERTIES).join(", ")}) ` +
          `or a custom property declared in ${customField}${declared.length > 0 ? ` (${declared.join(", ")})` : ""}`,
        e.propertyPosition,
      );
    }
    if (e.literal.kind !== LITERAL_FOR_TYPE[type]) {
      throw new DefinitionError(
        `'${e.property}' is a ${type} property, so it compares with ${EXAMPLE_FOR_TYPE[type]}, not a ${e.literal.kind}`,
        e.literal.position,
      );
    }
    if (type === "boolean" && !EQUALITY_ONLY.includes(e.operator)) {
      throw new DefinitionError(`'${e.property}' is a boolean property: only eq and ne apply, not ${e.operator}`, e.propertyPosition);
    }
    used.set(e.property, type);
  };
  visit(expression);
  return used;
}

/** A custom property may not shadow a device property: the definition would be ambiguous. */
export function customPropertyConflicts(custom: CustomProperties): string[] {
  return Object.keys(custom).filter(isDeviceProperty);
}
