// The audience-definition grammar: parse, type-check, print, evaluate.
export * from "./ast.ts";
export * from "./errors.ts";
export { tokenize, parseDateLiteral } from "./lexer.ts";
export { parseDefinition } from "./parser.ts";
export { printDefinition, printLiteral } from "./printer.ts";
export * from "./properties.ts";
export * from "./typecheck.ts";
export * from "./evaluate.ts";
