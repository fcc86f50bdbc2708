/**
 * The process exit codes, in one table, and how an error becomes one line and one code. Every verb
 * ends through here (src/cli/main.ts):
 *
 * | code | when |
 * |---|---|
 * | 0 | nothing wrong found (a baseline recorded, a comparison without regressions, a run without failures) |
 * | 1 | something found: a regression against the baseline; for a run compared with nothing, a package that failed (report/exit-code.ts) |
 * | 2 | the input or the machine: a bad argument, file or config, a missing repository, no sandbox, an unusable database or folder |
 * | 3 | an internal error: a bug of ecocheck's (please report it) |
 * | 130 | interrupted (Ctrl-C); the next check resumes |
 */
import { describeError, EcocheckError, type ErrorKind } from '../errors/ecocheck-error.js';
import { FLAG_OF_SETTING } from './options.js';

/** Settings that name a folder: the way out of an error about one is another folder. */
const FOLDER_SETTINGS = new Set(['stateDir', 'cacheDir']);

export const EXIT = { ok: 0, found: 1, input: 2, environment: 2, internal: 3, interrupted: 130 } as const;

/** The exit code of an error, by its kind (`internal` for anything not raised on purpose). */
export function exitCodeOfError(err: unknown): number {
  const kind: ErrorKind = err instanceof EcocheckError ? err.kind : 'internal';
  return EXIT[kind];
}

/** How an error is said on stderr: the flag the user typed for the setting it is about. */
export function errorLine(err: unknown): string {
  if (!(err instanceof EcocheckError))
    return `internal error: ${err instanceof Error ? err.message : String(err)} (this is a bug of ecocheck: please report it)`;
  const s = err.subject;
  const flag = s === null ? undefined : FLAG_OF_SETTING[s.setting];
  if (s === null || flag === undefined) return describeError(err);
  if (s.value !== undefined) return `${flag} ${s.value}: ${err.message}`;
  return FOLDER_SETTINGS.has(s.setting) ? `${err.message}; choose another ${flag}` : `${err.message} (${flag})`;
}
