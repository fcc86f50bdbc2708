/** A mistake in how the tool was called (a bad argument, a missing file): reported in one line, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
