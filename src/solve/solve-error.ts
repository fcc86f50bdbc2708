/**
 * The solve layer's errors: a compiler spec, a platform variable or a depexts mode that cannot be read,
 * a system package manager that fails.
 */
import { EcocheckError, type ErrorKind, type ErrorSubject } from '../errors/ecocheck-error.js';

export class SolveError extends EcocheckError {
  readonly layer = 'solve';
  constructor(message: string, kind: ErrorKind = 'input', subject: ErrorSubject | null = null) {
    super(message, kind, subject);
  }
}
