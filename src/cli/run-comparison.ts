/**
 * From recorded runs to reports: the sides of a comparison read from the store, the baseline a
 * candidate is compared with, and the rendered report written where the user asked.
 */
import { writeFileSync } from 'node:fs';
import { compareRuns } from '../compare/compare-runs.js';
import type { Comparison } from '../compare/comparison.js';
import { applyRetries, markFlaky } from '../compare/flaky-retries.js';
import type { RunSide } from '../compare/run-side.js';
import { summariseRun } from '../compare/run-summary.js';
import { comparisonExitCode, runExitCode } from '../report/exit-code.js';
import { isReportFormat, renderComparisonReport, renderRunReport, REPORT_FORMATS, type ReportFormat } from '../report/render-report.js';
import { shouldUseColour } from '../report/terminal-colour.js';
import type { Db } from '../store/database.js';
import { loadRunResults } from '../store/run-records.js';
import { getRun, listRuns, type RunInfo } from '../store/runs.js';
import { UsageError } from '../errors/usage-error.js';

export function parseReportFormat(value: string): ReportFormat {
  if (!isReportFormat(value)) throw new UsageError(`--format ${value}: expected one of ${REPORT_FORMATS.join(', ')}`);
  return value;
}

export function parseRunId(value: string, option: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${option} ${value}: expected a run number (ecocheck runs lists them)`);
  return Number(value);
}

export function requireRun(db: Db, id: number, option: string): RunInfo {
  const run = getRun(db, id);
  if (run === null) throw new UsageError(`${option} ${id}: no such run (ecocheck runs lists them)`);
  return run;
}

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

/**
 * The baseline a run compares with: the newest finished baseline of the same targets over the same
 * repositories; failing that, over the repositories the run layers overlays in front of (the compiler
 * under test in an overlay, `--repo overlay --repo opam-repository`, against a baseline of
 * opam-repository). Never the run itself.
 */
export function findBaseline(db: Db, run: Pick<RunInfo, 'id' | 'repositories' | 'targets'>): RunInfo | null {
  const targets = JSON.stringify(run.targets);
  const candidates = listRuns(db, { kind: 'baseline', status: 'finished' }).filter((b) => b.id !== run.id && JSON.stringify(b.targets) === targets);
  const same = (b: RunInfo) => JSON.stringify(b.repositories) === JSON.stringify(run.repositories);
  const underOverlays = (b: RunInfo) =>
    b.repositories.length < run.repositories.length &&
    JSON.stringify(run.repositories.slice(run.repositories.length - b.repositories.length)) === JSON.stringify(b.repositories);
  return candidates.find(same) ?? candidates.find(underOverlays) ?? null;
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
  if (targets.kind === 'explicit' && JSON.stringify(candidate.targets) !== JSON.stringify(baseline.targets)) {
    const names = new Set(side.results.map((r) => r.name));
    base = { ...base, results: base.results.filter((r) => names.has(r.name)) };
  }
  return markFlaky(compareRuns(base, side), flaky);
}

export interface ReportDestination {
  format: ReportFormat;
  output?: string;
}

function emit(text: string, dest: ReportDestination): void {
  if (dest.output !== undefined) {
    try {
      writeFileSync(dest.output, text.endsWith('\n') ? text : `${text}\n`);
    } catch (err) {
      throw new UsageError(`--output ${dest.output}: cannot write: ${err instanceof Error ? err.message : String(err)}`);
    }
    process.stderr.write(`report written to ${dest.output}\n`);
  } else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function reportOptions(dest: ReportDestination) {
  return { colour: dest.output === undefined && dest.format === 'terminal' && shouldUseColour(process.stdout, process.env) };
}

/** Writes the comparison report; returns its exit code (1 when something regressed). */
export function writeComparisonReport(comparison: Comparison, dest: ReportDestination): 0 | 1 {
  emit(renderComparisonReport(comparison, dest.format, reportOptions(dest)), dest);
  return comparisonExitCode(comparison);
}

/** Writes the report of a single run; returns 1 when it has failures. */
export function writeRunReport(db: Db, run: RunInfo, dest: ReportDestination): 0 | 1 {
  const summary = summariseRun(runSide(db, run));
  emit(renderRunReport(summary, dest.format, reportOptions(dest)), dest);
  return runExitCode(summary);
}
