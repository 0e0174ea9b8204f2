// Checks a parsed definition against the device properties and the declared custom properties:
// every name must be known and every literal must have the property's type.
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

/** The type of each property the definition names; throws the first problem found. */
export function typeCheckDefinition(expression: Expression, custom: CustomProperties): Map<string, PropertyType> {
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
      throw new DefinitionError(
        `unknown property '${e.property}': expected a device property (${Object.keys(DEVICE_PROPERTIES).join(", ")}) ` +
          `or a custom property declared in custom_properties`,
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
