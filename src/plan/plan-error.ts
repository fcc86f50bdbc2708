/**
 * The plan layer's errors: a target that names no package of the repositories (input), a solution the
 * plan cannot be made of (internal: the solver broke an invariant).
 */
import { EcocheckError, type ErrorKind, type ErrorSubject } from '../errors/ecocheck-error.js';

export class PlanError extends EcocheckError {
  readonly layer = 'plan';
  constructor(message: string, kind: ErrorKind = 'internal', subject: ErrorSubject | null = null) {
    super(message, kind, subject);
  }
}

/** A target that names no package (or no version) of the repositories. */
export class UnknownTargetError extends PlanError {
  constructor(
    message: string,
    readonly target: string,
  ) {
    super(message, 'input');
  }
}
