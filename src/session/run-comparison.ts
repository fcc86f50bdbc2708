/**
 * From recorded runs to what reports read: a run's side, and a run compared with its baseline, its
 * retries folded in.
 */
import { compareRuns } from '../compare/compare-runs.js';
import type { Comparison } from '../compare/comparison.js';
import { applyRetries, markFlaky } from '../compare/flaky-retries.js';
import type { RunSide } from '../compare/run-side.js';
import { summariseRun, type RunSummary } from '../compare/run-summary.js';
import type { Db } from '../store/database.js';
import { loadRunResults } from '../store/run-records.js';
import { listRuns, type RunInfo } from '../store/runs.js';
import { sameTargets } from './baseline-choice.js';

/**
 * What a report calls a run (the compiler spec is shown beside it): its kind, and the compiler name the
 * user typed when it says more than the spec ("baseline", "candidate next", "check").
 */
export function runLabel(run: RunInfo): string {
  const name = run.label === null || run.label === run.kind || run.label === run.compilerSpec ? null : run.label;
  return name === null ? run.kind : `${run.kind} ${name}`;
}

export function runSide(db: Db, run: RunInfo): RunSide {
  return { runId: run.id, label: runLabel(run), compiler: run.compilerSpec, results: loadRunResults(db, run.id) };
}

export function summariseRecordedRun(db: Db, run: RunInfo): RunSummary {
  return summariseRun(runSide(db, run));
}

/** The retry runs recorded for a candidate run, oldest first. */
function retriesOf(db: Db, runId: number): RunInfo[] {
  return listRuns(db, { kind: 'retry', retryOf: runId, status: 'finished' }).reverse();
}

/**
 * Compares a run with its baseline. A partial run (explicit targets, such as a rerun of what failed) is
 * compared on its own packages only; the retries recorded for the run replace its first attempts.
 */
export function compareWithBaseline(db: Db, candidate: RunInfo, baseline: RunInfo): Comparison {
  let side = runSide(db, candidate);
  const flaky = new Map<string, string>();
  for (const retry of retriesOf(db, candidate.id)) {
    const applied = applyRetries(side, loadRunResults(db, retry.id));
    side = applied.side;
    for (const [id, note] of applied.flaky) flaky.set(id, note);
  }
  let base = runSide(db, baseline);
  const targets = candidate.targets as { kind?: string };
  if (targets.kind === 'explicit' && !sameTargets(candidate.targets, baseline.targets)) {
    const names = new Set(side.results.map((r) => r.name));
    base = { ...base, results: base.results.filter((r) => names.has(r.name)) };
  }
  return markFlaky(compareRuns(base, side), flaky);
}
