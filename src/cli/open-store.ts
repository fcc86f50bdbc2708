/** Opening the database for a verb: a store problem (corrupt, foreign, unwritable) becomes one clear line. */
import { openDatabase, type Db } from '../store/database.js';
import { StoreError } from '../store/store-error.js';
import { UsageError } from '../errors/usage-error.js';

export function openStore(file: string, readonly = false): Db {
  try {
    return openDatabase(file, { readonly });
  } catch (err) {
    if (err instanceof StoreError) throw new UsageError(err.message);
    throw err;
  }
}
