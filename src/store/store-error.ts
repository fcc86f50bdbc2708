/**
 * The store layer's error: a database that cannot be used (corrupted, foreign, too new, locked by
 * another run, a disk full): one clear line naming the file. An environment error; `aboutStateDir` when
 * another state dir is the way out (the CLI then names its flag).
 */
import { EcocheckError } from '../errors/ecocheck-error.js';

export class StoreError extends EcocheckError {
  readonly layer = 'store';
  constructor(message: string, aboutStateDir = false) {
    super(message, 'environment', aboutStateDir ? { setting: 'stateDir' } : null);
  }
}
