/** The CLI's own error: an argument that cannot be read (`--jobs x`, `--format pdf`), said with its flag. */
import { EcocheckError } from '../errors/ecocheck-error.js';

export class UsageError extends EcocheckError {
  readonly layer = 'cli';
  constructor(message: string) {
    super(message, 'input');
  }
}
