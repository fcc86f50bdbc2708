/** `runs`: the recorded runs, newest first, each with its per-status counts. */
import type { Db } from '../store/database.js';
import { listRuns, runStatusCounts, type RunInfo } from '../store/runs.js';

export type { RunInfo, RunKind } from '../store/runs.js';

export type ListedRun = RunInfo & { counts: ReturnType<typeof runStatusCounts> };

export function listRecordedRuns(db: Db, limit: number): ListedRun[] {
  return listRuns(db, { limit }).map((r) => ({ ...r, counts: runStatusCounts(db, r.id) }));
}
