/**
 * Opening the state's database from the session: the store's openDatabase, given what an upgrade of an
 * older schema needs from the builder (its reader of the verdicts an older log tail holds: schema
 * migration 4). The store imports nothing of the builder; the session, above both, joins them. Every
 * verb that opens the database for writing (and so may upgrade it) opens it here.
 */
import { verdictsOfLog } from '../builder/first-error.js';
import { openDatabase, type Db, type OpenOptions } from '../store/database.js';

export { databaseFailure } from '../store/database.js';

export function openStateDatabase(file: string, options: Omit<OpenOptions, 'upgrade'> = {}): Db {
  return openDatabase(file, { ...options, upgrade: { verdictsOfLog } });
}
