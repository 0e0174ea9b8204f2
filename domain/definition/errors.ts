// Errors a definition can have: each carries the position and what was expected there.
import type { Position } from "./ast.ts";

export class DefinitionError extends Error {
  readonly position: Position;
  constructor(message: string, position: Position) {
    super(`${message} (at column ${position.column})`);
    this.name = "DefinitionError";
    this.position = position;
  }
}
