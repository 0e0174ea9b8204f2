// fast-check generators shared by the grammar and membership properties: definitions over a fixed
// set of typed properties, and device records those definitions can be evaluated on.
import fc from "fast-check";
import type { PropertyType } from "../../domain/index.ts";

export const PROPERTY_TYPES_FOR_TESTS = {
  appVersion: "string",
  carrierCountry: "string",
  osApiLevel: "number",
  locale: "string",
  "dog-lover": "boolean",
  visits: "number",
  "signed-up": "date_time",
  plan: "string",
} as const satisfies Record<string, PropertyType>;
export type TestProperty = keyof typeof PROPERTY_TYPES_FOR_TESTS;
export const CUSTOM_TEST_PROPERTIES = { "dog-lover": "boolean", visits: "number", "signed-up": "date_time", plan: "string" } as const;

// Small value pools so random definitions hit random devices often.
const STRINGS = ["", "US", "CA", "de", "en_US", "free", "pro", "3.1.0", "3.10.0", "Zürich", "😀", "O'Brien"];
const DAY = 86_400_000;
const BASE_DAY = Date.UTC(2024, 0, 1);

const stringValue = fc.constantFrom(...STRINGS);
const numberValue = fc.integer({ min: -3, max: 40 });
const dateValue = fc.integer({ min: 0, max: 20 }).map((d) => new Date(BASE_DAY + d * DAY));

export const comparisonArbitrary = fc.constantFrom(...(Object.keys(PROPERTY_TYPES_FOR_TESTS) as TestProperty[])).chain((property) => {
  const type = PROPERTY_TYPES_FOR_TESTS[property];
  const ops = type === "boolean" ? (["eq", "ne"] as const) : (["eq", "ne", "lt", "gt", "le", "ge", "=", "!=", "<", ">", "<=", ">="] as const);
  const literal =
    type === "string"
      ? stringValue.map((v) => `'${v.replaceAll("'", "''")}'`)
      : type === "number"
        ? numberValue.map(String)
        : type === "boolean"
          ? fc.boolean().map(String)
          : dateValue.map((d) => d.toISOString().slice(0, 10));
  return fc.tuple(fc.constantFrom(...ops), literal).map(([op, lit]) => `${property} ${op} ${lit}`);
});

export const definitionArbitrary: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    comparisonArbitrary,
    fc.tuple(tie("expr"), fc.constantFrom("and", "or"), tie("expr")).map(([a, op, b]) => `(${a}) ${op} (${b})`),
  ),
})).expr;

/** A device as ingestion takes it, and the same device as the evaluator sees it. */
export const deviceArbitrary = fc
  .record(
    {
      appVersion: stringValue,
      carrierCountry: stringValue,
      osApiLevel: fc.nat({ max: 40 }),
      locale: stringValue,
      "dog-lover": fc.boolean(),
      visits: numberValue,
      "signed-up": dateValue,
      plan: stringValue,
    },
    { requiredKeys: [] },
  )
  .map((values) => {
    const properties: Record<string, string | number> = {};
    const custom: Record<string, string | number | boolean | { date_time: string }> = {};
    for (const [name, value] of Object.entries(values)) {
      if (name in CUSTOM_TEST_PROPERTIES) custom[name] = value instanceof Date ? { date_time: value.toISOString() } : (value as string | number | boolean);
      else properties[name] = value as string | number;
    }
    return { properties, custom, record: values as Record<string, string | number | boolean | Date> };
  });
