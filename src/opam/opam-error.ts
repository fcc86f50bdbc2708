/** The opam layer's errors: a repository that cannot be read as one, an opam file that does not parse. */
import { EcocheckError, type ErrorKind, type ErrorSubject } from '../errors/ecocheck-error.js';

export class OpamError extends EcocheckError {
  readonly layer = 'opam';
  constructor(message: string, kind: ErrorKind = 'input', subject: ErrorSubject | null = null) {
    super(message, kind, subject);
  }
}
