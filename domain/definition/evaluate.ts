// Evaluates a definition over one device record. A missing or mistyped value makes the
// comparison false (as SQL's NULL does), so the store's SQL and this evaluator agree.
import type { ComparisonOperator, Expression, Literal } from "./ast.ts";

/** A device as the evaluator sees it: device properties and custom properties in one bag. */
export type DeviceRecord = Readonly<Record<string, string | number | boolean | Date | null | undefined>>;

/**
 * Orders strings by Unicode code point, as SQLite's BINARY collation orders UTF-8 (JavaScript's `<`
 * orders UTF-16 code units, which differs once characters beyond U+FFFF meet U+E000–U+FFFF).
 */
export function compareCodePoints(left: string, right: string): number {
  const a = left[Symbol.iterator]();
  const b = right[Symbol.iterator]();
  for (;;) {
    const x = a.next();
    const y = b.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const diff = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (diff !== 0) return diff;
  }
}

function compare(operator: ComparisonOperator, left: number | string, right: number | string): boolean {
  const order = typeof left === "string" && typeof right === "string" ? compareCodePoints(left, right) : (left as number) - (right as number);
  switch (operator) {
    case "eq":
      return order === 0;
    case "ne":
      return order !== 0;
    case "lt":
      return order < 0;
    case "gt":
      return order > 0;
    case "le":
      return order <= 0;
    case "ge":
      return order >= 0;
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
