/** A database that cannot be used (corrupted, foreign, too new, locked by another run): one clear line. */
export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}
