/** Finding the recorded run a verb is about: by number, or the newest one that stands on its own. */
import type { Db } from '../store/database.js';
import { getRun, listRuns, type RunInfo, type RunStatus } from '../store/runs.js';
import { SessionError } from './session-error.js';

/** The run numbered `id`; `setting` names where the number came from (`run`, `against`…). */
export function requireRun(db: Db, id: number, setting: string): RunInfo {
  const run = getRun(db, id);
  if (run === null) throw new SessionError('no such run', 'input', { setting, value: String(id) });
  return run;
}

/**
 * The newest run a user means by "the last run": never a retry (a retry is folded into the run it
 * retried); with `status`, only runs that ended that way.
 */
export function newestRun(db: Db, status?: RunStatus): RunInfo | null {
  return listRuns(db, status === undefined ? {} : { status }).find((r) => r.kind !== 'retry') ?? null;
}
