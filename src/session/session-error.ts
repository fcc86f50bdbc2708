/**
 * The application layer's error: what a check was given cannot be used (no repository, no baseline to
 * rerun against, a run that does not exist, a config file that does not parse, a state folder that
 * cannot be written).
 */
import { EcocheckError, type ErrorKind, type ErrorSubject } from '../errors/ecocheck-error.js';

export class SessionError extends EcocheckError {
  readonly layer = 'session';
  constructor(message: string, kind: ErrorKind = 'input', subject: ErrorSubject | null = null) {
    super(message, kind, subject);
  }
}
