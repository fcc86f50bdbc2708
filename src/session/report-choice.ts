/**
 * What `report` shows for a recorded run: the run (named, or the newest finished one that is not a
 * retry) and what it is compared with (the run named, else the baseline it recorded, else the baseline
 * chosen as for a new run; a baseline run is compared with nothing unless asked).
 */
import type { Comparison } from '../compare/comparison.js';
import type { RunSummary } from '../compare/run-summary.js';
import type { Db } from '../store/database.js';
import { listRuns, type RunInfo } from '../store/runs.js';
import { baselineQueryOf, chooseBaseline } from './baseline-choice.js';
import { compareWithBaseline, summariseRecordedRun } from './run-comparison.js';
import { newestRun, requireRun } from './run-lookup.js';
import { SessionError } from './session-error.js';

export interface RecordedReport {
  run: RunInfo;
  baseline: RunInfo | null;
  comparison: Comparison | null;
  summary: RunSummary | null;
}

export function recordedReport(db: Db, runId: number | null, againstId: number | null): RecordedReport {
  const run = runId !== null ? requireRun(db, runId, 'run') : newestRun(db, 'finished');
  if (run === null) throw new SessionError('no finished run yet: record a baseline first');
  const baseline =
    againstId !== null
      ? requireRun(db, againstId, 'against')
      : run.against !== null
        ? requireRun(db, run.against, 'against')
        : run.kind !== 'baseline'
          ? chooseBaseline(listRuns(db, { kind: 'baseline', status: 'finished' }), baselineQueryOf(run))
          : null;
  if (baseline !== null && baseline.id === run.id)
    throw new SessionError('a run cannot be compared with itself', 'input', { setting: 'against', value: String(baseline.id) });
  if (baseline === null) return { run, baseline, comparison: null, summary: summariseRecordedRun(db, run) };
  return { run, baseline, comparison: compareWithBaseline(db, run, baseline), summary: null };
}
