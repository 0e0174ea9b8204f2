// The audience-definition syntax tree (App Center's OData-style filter: seeds: Using the Push API).

export interface Position {
  /** 0-based character offset into the definition. */
  readonly offset: number;
  /** 1-based line, for a definition written over several lines. */
  readonly line: number;
  /** 1-based column in that line, in characters. */
  readonly column: number;
  /** Whether the definition has several lines (a message then names the line too). */
  readonly multiline: boolean;
}

export type ComparisonOperator = "eq" | "ne" | "lt" | "gt" | "le" | "ge";

export type Literal =
  | { readonly kind: "string"; readonly value: string; readonly position: Position }
  | { readonly kind: "number"; readonly value: number; readonly position: Position }
  | { readonly kind: "boolean"; readonly value: boolean; readonly position: Position }
  /** ISO-8601 date or date-time; `value` keeps the text, `epochMs` the instant it names (UTC). */
  | { readonly kind: "date"; readonly value: string; readonly epochMs: number; readonly position: Position };

export interface Comparison {
  readonly type: "comparison";
  readonly property: string;
  readonly propertyPosition: Position;
  readonly operator: ComparisonOperator;
  readonly literal: Literal;
}

/** `and` / `or` with two or more operands; nested same-kind groups are flattened by the parser. */
export interface Logical {
  readonly type: "and" | "or";
  readonly operands: readonly Expression[];
}

export type Expression = Comparison | Logical;

export const SYMBOL_OPERATORS: Readonly<Record<string, ComparisonOperator>> = {
  "=": "eq",
  "!=": "ne",
  "<": "lt",
  ">": "gt",
  "<=": "le",
  ">=": "ge",
};

export const WORD_OPERATORS: readonly ComparisonOperator[] = ["eq", "ne", "lt", "gt", "le", "ge"];
