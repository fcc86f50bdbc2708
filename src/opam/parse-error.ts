import type { Position } from './ast.js';

/** A syntax or semantic error in an opam file, always tied to a position. */
export class OpamFormatError extends Error {
  constructor(
    readonly position: Position,
    readonly detail: string,
  ) {
    super(`${position.file}:${position.line}:${position.column}: ${detail}`);
    this.name = 'OpamFormatError';
  }

  toJSON(): { file: string; line: number; column: number; message: string } {
    return { file: this.position.file, line: this.position.line, column: this.position.column, message: this.detail };
  }
}
