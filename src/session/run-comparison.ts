/**
 * From recorded runs to what reports read: a run's side, and a run compared with its baseline, its
 * retries folded in. Read through the results store's read interface (store/results-store.ts): the
 * database, or any other store (the in-memory one in tests).
 */
import { compareRuns } from '../compare/compare-runs.js';
import type { Comparison } from '../compare/comparison.js';
import { applyRetries, markFlaky } from '../compare/flaky-retries.js';
import type { RunSide } from '../compare/run-side.js';
import { summariseRun, type RunSummary } from '../compare/run-summary.js';
import type { Db } from '../store/database.js';
import { resultsReader, type ResultsReader } from '../store/results-store.js';
import type { RunInfo } from '../store/runs.js';
import { sameTargets } from './baseline-choice.js';

/**
 * What a report calls a run (the compiler spec is shown beside it): its kind, and the compiler name the
 * user typed when it says more than the spec ("baseline", "candidate next", "check").
 */
export function runLabel(run: RunInfo): string {
  const name = run.label === null || run.label === run.kind || run.label === run.compilerSpec ? null : run.label;
  return name === null ? run.kind : `${run.kind} ${name}`;
}

/** Where recorded runs are read from: a results store's reader, or the database (read through SqliteResultsStore). */
export type RecordedRuns = Db | ResultsReader;

export function runSide(source: RecordedRuns, run: RunInfo): RunSide {
  return { runId: run.id, label: runLabel(run), compiler: run.compilerSpec, results: resultsReader(source).runResults(run.id) };
}

export function summariseRecordedRun(source: RecordedRuns, run: RunInfo): RunSummary {
  return summariseRun(runSide(source, run));
}

/** The retry runs recorded for a candidate run, oldest first. */
function retriesOf(results: ResultsReader, runId: number): RunInfo[] {
  return results.runs({ kind: 'retry', retryOf: runId, status: 'finished' }).reverse();
}

/**
 * Compares a run with its baseline. A partial run (explicit targets, such as a rerun of what failed) is
 * compared on its own packages only; the retries recorded for the run replace its first attempts.
 */
export function compareWithBaseline(source: RecordedRuns, candidate: RunInfo, baseline: RunInfo): Comparison {
  const results = resultsReader(source);
  let side = runSide(results, candidate);
  const flaky = new Map<string, string>();
  for (const retry of retriesOf(results, candidate.id)) {
    const applied = applyRetries(side, results.runResults(retry.id));
    side = applied.side;
    for (const [id, note] of applied.flaky) flaky.set(id, note);
  }
  let base = runSide(results, baseline);
  const targets = candidate.targets as { kind?: string };
  if (targets.kind === 'explicit' && !sameTargets(candidate.targets, baseline.targets)) {
    const names = new Set(side.results.map((r) => r.name));
    base = { ...base, results: base.results.filter((r) => names.has(r.name)) };
  }
  return markFlaky(compareRuns(base, side), flaky);
}
