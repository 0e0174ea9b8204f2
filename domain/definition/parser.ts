// Recursive-descent parser: `or` binds loosest, then `and`, then comparisons and parentheses.
import type { Comparison, Expression, Literal } from "./ast.ts";
import { LIMITS } from "../limits.ts";
import { DefinitionError, where } from "./errors.ts";
import { tokenize, type Token } from "./lexer.ts";

export function parseDefinition(source: string): Expression {
  const tokens = tokenize(source);
  let index = 0;
  const peek = (): Token => tokens[index]!;
  const next = (): Token => tokens[index++]!;
  const describe = (t: Token): string => (t.kind === "end" ? "the end of the definition" : `'${t.text}'`);

  const logical = (kind: "and" | "or", operand: () => Expression): Expression => {
    const first = operand();
    const operands: Expression[] = [first];
    while (peek().kind === kind) {
      const keyword = next();
      if (peek().kind === "end" || peek().kind === "rparen") {
        throw new DefinitionError(`'${kind}' needs a condition on its right side, found ${describe(peek())}`, keyword.position);
      }
      operands.push(operand());
    }
    if (operands.length === 1) return first;
    // Flatten `a and (b and c)` so printing without the parentheses parses back to the same tree.
    return { type: kind, operands: operands.flatMap((o) => (o.type === kind ? o.operands : [o])) };
  };
  const orExpression = (): Expression => logical("or", andExpression);
  const andExpression = (): Expression => logical("and", primary);

  // Every pass over the tree (type check, printing, SQL) recurses once per level: a depth limit keeps
  // a 2,000-character definition of parentheses from overflowing the stack anywhere.
  let depth = 0;
  const primary = (): Expression => {
    const token = next();
    if (token.kind === "lparen") {
      if (++depth > LIMITS.definitionNestingDepth.value) {
        throw new DefinitionError(
          `parentheses nest more than ${LIMITS.definitionNestingDepth.value} ${LIMITS.definitionNestingDepth.unit} (${LIMITS.definitionNestingDepth.source})`,
          token.position,
        );
      }
      const inner = orExpression();
      depth--;
      const close = next();
      if (close.kind !== "rparen") {
        throw new DefinitionError(`expected ')' to close the '(' at ${where(token.position)}, found ${describe(close)}`, close.position);
      }
      return inner;
    }
    if (token.kind !== "name") {
      throw new DefinitionError(`expected a property name or '(', found ${describe(token)}`, token.position);
    }
    const operator = next();
    if (operator.kind !== "operator") {
      throw new DefinitionError(
        `expected a comparison operator (eq ne lt gt le ge, or = != < > <= >=) after '${token.text}', found ${describe(operator)}`,
        operator.position,
      );
    }
    const value = next();
    let literal: Literal;
    switch (value.kind) {
      case "string":
      case "number":
      case "boolean":
        literal = { kind: value.kind, value: value.value, position: value.position } as Literal;
        break;
      case "date":
        literal = { kind: "date", value: value.value, epochMs: value.epochMs, position: value.position };
        break;
      default:
        throw new DefinitionError(
          `expected a value ('text', a number, true/false or a date) after '${token.text} ${operator.text}', found ${describe(value)}`,
          value.position,
        );
    }
    const comparison: Comparison = {
      type: "comparison",
      property: token.text,
      propertyPosition: token.position,
      operator: operator.operator,
      literal,
    };
    return comparison;
  };

  const expression = orExpression();
  const rest = peek();
  if (rest.kind !== "end") {
    throw new DefinitionError(`expected 'and', 'or' or the end of the definition, found ${describe(rest)}`, rest.position);
  }
  return expression;
}
