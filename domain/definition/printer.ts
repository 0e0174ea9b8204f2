// Prints a definition in its normalized form: word operators, single spaces, minimal parentheses.
// Two definitions that mean the same tree print the same, which is what `diff` compares.
import type { Expression, Literal } from "./ast.ts";

export function printLiteral(literal: Literal): string {
  switch (literal.kind) {
    case "string":
      return `'${literal.value.replaceAll("'", "''")}'`;
    case "number":
      return String(literal.value);
    case "boolean":
      return String(literal.value);
    case "date":
      return literal.value;
  }
}

/** The definition in its normal form; `mark` may wrap each comparison's text (a review marks those that changed). */
export function printDefinition(expression: Expression, mark: (comparison: string) => string = (comparison) => comparison): string {
  if (expression.type === "comparison") {
    return mark(`${expression.property} ${expression.operator} ${printLiteral(expression.literal)}`);
  }
  return expression.operands
    .map((operand) => {
      const text = printDefinition(operand, mark);
      // `and` binds tighter than `or`, so only an `or` inside an `and` needs parentheses.
      return expression.type === "and" && operand.type === "or" ? `(${text})` : text;
    })
    .join(` ${expression.type} `);
}
