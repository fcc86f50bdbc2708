/**
 * A mistake in how the tool was called or in what it was given (a bad argument, a missing repository, an
 * unreadable config): reported by the CLI in one line, exit 2. A base module: any layer may raise it.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
