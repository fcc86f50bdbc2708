/**
 * The builder layer's errors. Most end one job (a fetch, an extraction, an install that fails becomes
 * that job's result, never the run's); what escapes a build (no overlayfs, a store that cannot be
 * written) is an environment error of the machine.
 */
import { EcocheckError, type ErrorKind, type ErrorSubject } from '../errors/ecocheck-error.js';

export class BuilderError extends EcocheckError {
  readonly layer = 'builder';
  constructor(message: string, kind: ErrorKind = 'environment', subject: ErrorSubject | null = null) {
    super(message, kind, subject);
  }
}
