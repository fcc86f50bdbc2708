/**
 * The opam files a load could not read, one line each (`FILE:LINE:COLUMN: message`): returned as data
 * for the CLI to print; the run goes on without them. (The load itself is the command's: command-context.ts.)
 */
import { errorsRead, type RepositoryError, type RepositoryLoad } from '../opam/repository.js';

/** One line per opam file that could not be read (the run goes on without them). */
export function loadProblems(load: RepositoryLoad): string[] {
  return load.errors.map(problemLine);
}

/** One line per opam file that could not be read, of the packages read so far (`errorsRead`). */
export function problemsRead(load: RepositoryLoad): string[] {
  return errorsRead(load).map(problemLine);
}

function problemLine(e: RepositoryError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.message}`;
}
