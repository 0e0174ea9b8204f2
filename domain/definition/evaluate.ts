// Evaluates a definition over one device record. A missing or mistyped value makes the
// comparison false (as SQL's NULL does), so the store's SQL and this evaluator agree.
import type { ComparisonOperator, Expression, Literal } from "./ast.ts";

/** A device as the evaluator sees it: device properties and custom properties in one bag. */
export type DeviceRecord = Readonly<Record<string, string | number | boolean | Date | null | undefined>>;

function compare(operator: ComparisonOperator, left: number | string, right: number | string): boolean {
  switch (operator) {
    case "eq":
      return left === right;
    case "ne":
      return left !== right;
    case "lt":
      return left < right;
    case "gt":
      return left > right;
    case "le":
      return left <= right;
    case "ge":
      return left >= right;
  }
}

function comparable(value: DeviceRecord[string], literal: Literal): [number | string, number | string] | undefined {
  switch (literal.kind) {
    case "string":
      return typeof value === "string" ? [value, literal.value] : undefined;
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? [value, literal.value] : undefined;
    case "boolean":
      return typeof value === "boolean" ? [Number(value), Number(literal.value)] : undefined;
    case "date": {
      const ms = value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : NaN;
      return Number.isNaN(ms) ? undefined : [ms, literal.epochMs];
    }
  }
}

export function evaluateDefinition(expression: Expression, device: DeviceRecord): boolean {
  switch (expression.type) {
    case "and":
      return expression.operands.every((o) => evaluateDefinition(o, device));
    case "or":
      return expression.operands.some((o) => evaluateDefinition(o, device));
    case "comparison": {
      const pair = comparable(device[expression.property], expression.literal);
      return pair !== undefined && compare(expression.operator, pair[0], pair[1]);
    }
  }
}
