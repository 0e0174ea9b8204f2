// Errors a definition can have: each carries the position and what was expected there.
import type { Position } from "./ast.ts";

/** Where a position is, as a message says it: the column, and the line when there are several. */
export const where = (position: Position): string => `${position.multiline ? `line ${position.line}, ` : ""}column ${position.column}`;

export class DefinitionError extends Error {
  readonly position: Position;
  constructor(message: string, position: Position) {
    super(`${message} (at ${where(position)})`);
    this.name = "DefinitionError";
    this.position = position;
  }
}
