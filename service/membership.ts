// Audience membership in the store: a definition's AST compiled to a parameterized SQL condition
// over the devices table. Values only ever travel as parameters, never inside the SQL text.
import {
  isDeviceProperty,
  parseDefinition,
  type ComparisonOperator,
  type CustomProperties,
  type Expression,
  type Literal,
} from "../domain/index.ts";
import { DEVICE_COLUMNS, type Slot } from "./devices.ts";

export interface SqlCondition {
  readonly sql: string;
  readonly params: (string | number)[];
}

const SQL_OPERATOR: Record<ComparisonOperator, string> = { eq: "=", ne: "!=", lt: "<", gt: ">", le: "<=", ge: ">=" };

function literalParam(literal: Literal): string | number {
  switch (literal.kind) {
    case "boolean":
      return literal.value ? 1 : 0;
    case "date":
      return literal.epochMs;
    default:
      return literal.value;
  }
}

const LITERAL_TYPE = { string: "string", number: "number", boolean: "boolean", date: "date_time" } as const;

/**
 * Compiles a type-checked definition. A comparison whose property has no column of the literal's
 * type in this app (never ingested, or ingested with another type) matches nothing, as the
 * evaluator's "missing or mistyped value is false" says; SQL's NULL gives the same for absent values.
 */
export function compileDefinition(expression: Expression, slots: ReadonlyMap<string, Slot>, declared: CustomProperties = {}): SqlCondition {
  const params: (string | number)[] = [];
  const visit = (e: Expression): string => {
    if (e.type !== "comparison") return `(${e.operands.map(visit).join(e.type === "and" ? " AND " : " OR ")})`;
    let column: string | undefined;
    if (isDeviceProperty(e.property)) column = DEVICE_COLUMNS[e.property];
    else {
      const slot = slots.get(e.property);
      const literalType = LITERAL_TYPE[e.literal.kind];
      if (slot && slot.type === literalType && (declared[e.property] ?? literalType) === literalType) column = slot.column;
    }
    if (column === undefined) return "0";
    params.push(literalParam(e.literal));
    return `${column} ${SQL_OPERATOR[e.operator]} ?`;
  };
  return { sql: visit(expression), params };
}

export function compileDefinitionText(definition: string, slots: ReadonlyMap<string, Slot>, declared: CustomProperties = {}): SqlCondition {
  return compileDefinition(parseDefinition(definition), slots, declared);
}
