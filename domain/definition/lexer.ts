// Turns a definition string into tokens: names, operators, literals and parentheses.
import { SYMBOL_OPERATORS, WORD_OPERATORS, type ComparisonOperator, type Position } from "./ast.ts";
import { DefinitionError } from "./errors.ts";

export type Token =
  | { kind: "name"; text: string; position: Position }
  | { kind: "operator"; operator: ComparisonOperator; text: string; position: Position }
  | { kind: "and" | "or" | "lparen" | "rparen" | "end"; text: string; position: Position }
  | { kind: "string"; value: string; text: string; position: Position }
  | { kind: "number"; value: number; text: string; position: Position }
  | { kind: "boolean"; value: boolean; text: string; position: Position }
  | { kind: "date"; value: string; epochMs: number; text: string; position: Position };

/**
 * Positions in `source` as an editor shows them: line, and column counted in characters (code
 * points, so an emoji before it counts once) from the start of that line, since a program may write
 * a definition over several lines. A one-line ASCII-like definition (the usual) takes the fast path.
 */
export function positionsIn(source: string): (offset: number) => Position {
  if (!/[\n\uD800-\uDFFF]/.test(source)) return (offset) => ({ offset, line: 1, column: offset + 1, multiline: false });
  const multiline = source.includes("\n");
  return (offset) => {
    const lineStart = source.lastIndexOf("\n", offset - 1) + 1;
    const line = source.slice(0, lineStart).split("\n").length;
    return { offset, line, column: [...source.slice(lineStart, offset)].length + 1, multiline };
  };
}

// Custom property names in the seeds contain hyphens (`dog-lover`), so names allow them after the first letter.
const NAME = /[A-Za-z_][A-Za-z0-9_.-]*/y;
const NUMBER = /-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const DATE = /\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?/y;

/** Parses an ISO-8601 date/date-time literal; dates without a zone are UTC. NaN when not a real date. */
export function parseDateLiteral(text: string): number {
  const [datePart = "", timePart] = text.split("T");
  const [y, m, d] = datePart.split("-").map(Number);
  const probe = new Date(Date.UTC(y!, m! - 1, d!));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== m! - 1 || probe.getUTCDate() !== d) return NaN;
  if (timePart === undefined) return probe.getTime();
  const zoned = /Z|[+-]\d{2}:\d{2}$/.test(timePart) ? text : `${text}Z`;
  return Date.parse(zoned);
}

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const at = positionsIn(source);
  let i = 0;
  const match = (re: RegExp): string | undefined => {
    re.lastIndex = i;
    const m = re.exec(source);
    return m ? m[0] : undefined;
  };
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const position = at(i);
    if (ch === "(" || ch === ")") {
      tokens.push({ kind: ch === "(" ? "lparen" : "rparen", text: ch, position });
      i++;
      continue;
    }
    if (ch === "'") {
      // OData string literal: single quotes, a quote inside is written twice.
      let value = "";
      let j = i + 1;
      for (;;) {
        if (j >= source.length) {
          throw new DefinitionError("unterminated string literal: expected a closing single quote", position);
        }
        if (source[j] === "'") {
          if (source[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += source[j];
        j++;
      }
      tokens.push({ kind: "string", value, text: source.slice(i, j + 1), position });
      i = j + 1;
      continue;
    }
    const symbol = source.startsWith("<=", i) || source.startsWith(">=", i) || source.startsWith("!=", i)
      ? source.slice(i, i + 2)
      : ch === "=" || ch === "<" || ch === ">" ? ch : undefined;
    if (symbol !== undefined) {
      tokens.push({ kind: "operator", operator: SYMBOL_OPERATORS[symbol]!, text: symbol, position });
      i += symbol.length;
      continue;
    }
    const date = match(DATE);
    if (date !== undefined) {
      const epochMs = parseDateLiteral(date);
      if (Number.isNaN(epochMs)) throw new DefinitionError(`'${date}' is not a valid date: expected YYYY-MM-DD or an ISO-8601 date-time`, position);
      tokens.push({ kind: "date", value: date, epochMs, text: date, position });
      i += date.length;
      continue;
    }
    const number = match(NUMBER);
    if (number !== undefined && (ch !== "-" || number.length > 1)) {
      tokens.push({ kind: "number", value: Number(number), text: number, position });
      i += number.length;
      continue;
    }
    const name = match(NAME);
    if (name !== undefined) {
      if (name === "and" || name === "or") tokens.push({ kind: name, text: name, position });
      else if (name === "true" || name === "false") tokens.push({ kind: "boolean", value: name === "true", text: name, position });
      else if ((WORD_OPERATORS as readonly string[]).includes(name)) {
        tokens.push({ kind: "operator", operator: name as ComparisonOperator, text: name, position });
      } else tokens.push({ kind: "name", text: name, position });
      i += name.length;
      continue;
    }
    throw new DefinitionError(`unexpected character '${ch}': expected a property name, an operator, a literal or a parenthesis`, position);
  }
  tokens.push({ kind: "end", text: "end of definition", position: at(source.length) });
  return tokens;
}
