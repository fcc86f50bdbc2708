import type { Position } from './ast.js';
import { OpamError } from './opam-error.js';

/** A syntax or semantic error in an opam file, always tied to a position. */
export class OpamFormatError extends OpamError {
  constructor(
    readonly position: Position,
    readonly detail: string,
  ) {
    super(`${position.file}:${position.line}:${position.column}: ${detail}`);
  }

  toJSON(): { file: string; line: number; column: number; message: string } {
    return { file: this.position.file, line: this.position.line, column: this.position.column, message: this.detail };
  }
}
