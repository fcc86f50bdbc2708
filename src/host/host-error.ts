/**
 * The host layer's errors: a depexts mode that cannot be read, a platform whose package manager is
 * unknown here, a system package manager that fails.
 */
import { EcocheckError, type ErrorKind, type ErrorSubject } from '../errors/ecocheck-error.js';

export class HostError extends EcocheckError {
  readonly layer = 'host';
  constructor(message: string, kind: ErrorKind = 'input', subject: ErrorSubject | null = null) {
    super(message, kind, subject);
  }
}
