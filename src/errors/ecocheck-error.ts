/**
 * The base of every error ecocheck raises on purpose. Each layer has its own subclass (OpamError,
 * HostError, SolveError, PlanError, BuilderError, StoreError, SessionError, and the CLI's UsageError);
 * the CLI maps them to exit codes through one table (src/cli/exit-codes.ts). Below the CLI an error speaks in the
 * layer's words: `subject` names the setting it is about (`compiler`, `stateDir`…) and the value given,
 * and only the CLI turns a setting into the flag a user typed. A base module: it imports nothing.
 */

/**
 * What went wrong, for the exit-code table: `input` (an argument, a file, a config the user gave),
 * `environment` (this machine: no sandbox, an unusable database or folder), `internal` (a bug: an
 * invariant of ecocheck's own failed).
 */
export type ErrorKind = 'input' | 'environment' | 'internal';

/**
 * The setting an error is about, by the application layer's name for it, and the value given. With a
 * value, the message says what is wrong with it (`no such directory`) and does not repeat it.
 */
export interface ErrorSubject {
  setting: string;
  value?: string;
}

export abstract class EcocheckError extends Error {
  /** The layer that raised it: its folder under src/. */
  abstract readonly layer: string;

  constructor(
    message: string,
    readonly kind: ErrorKind = 'input',
    readonly subject: ErrorSubject | null = null,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The error in one line without the CLI's words: `compiler 5.9: no compiler package …`. */
export function describeError(err: EcocheckError): string {
  const s = err.subject;
  return s?.value !== undefined ? `${s.setting} ${s.value}: ${err.message}` : err.message;
}
