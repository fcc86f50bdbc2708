/**
 * The results a state folder's runs recorded, read through the store's API (as `report` reads them):
 * for a test to check what a run recorded rather than what the CLI printed.
 */
import { join } from 'node:path';
import { openDatabase } from '../../src/store/database.js';
import { loadRunResults } from '../../src/store/run-records.js';
import { listRuns } from '../../src/store/runs.js';
import type { PackageRunResult } from '../../src/results/taxonomy.js';

/** The results of each recorded run of `state` (oldest first), by `NAME.VERSION` (`id`) or by name. */
export function recordedRunResults(state: string, by: 'id' | 'name' = 'id'): Map<string, PackageRunResult>[] {
  const db = openDatabase(join(state, 'ecocheck.sqlite'), { readonly: true });
  try {
    return listRuns(db)
      .reverse()
      .map((r) => new Map(loadRunResults(db, r.id).map((x) => [x[by], x])));
  } finally {
    db.close();
  }
}
