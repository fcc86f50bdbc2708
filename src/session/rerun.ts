/**
 * A rerun: builds again what failed in a recorded run (or, `regressedOnly`, what regressed against its
 * baseline, and its spurious results), with the run's own repositories, compiler and settings, and
 * compares the new attempt with the same baseline. What is built again follows rebuild-selection.ts.
 */
import type { Comparison } from '../compare/comparison.js';
import type { RunSummary } from '../compare/run-summary.js';
import type { Db } from '../store/database.js';
import { loadRunJobStates, loadRunResults } from '../store/run-records.js';
import { getRun, type RunInfo } from '../store/runs.js';
import { announcePlan, preparePlan } from './plan-preparation.js';
import { compareWithBaseline, summariseRecordedRun } from './run-comparison.js';
import { executeRun, type BuildSettings, type RunDone } from './run-execution.js';
import type { SessionOutput } from './session-output.js';
import { newestRun, requireRun } from './run-lookup.js';
import { selectRebuild, type RebuildSelection } from './rebuild-selection.js';
import { SessionError } from './session-error.js';
import type { CommandContext } from './command-context.js';

export interface RerunRequest {
  /** The run to rerun; null: the newest that is not a retry. */
  runId: number | null;
  regressedOnly: boolean;
  /** The machine's settings (jobs, sandbox, limits, mirrors); env and with-test are the run's own. */
  settings: Omit<BuildSettings, 'env' | 'withTest'>;
  /** `--allow-local-sources` folders, besides those the run allowed (a refused source's fix). */
  allowLocalSources?: readonly string[];
  output: SessionOutput;
}

export interface RerunOutcome {
  /** The run whose failures were built again. */
  of: RunInfo;
  /** Null when there was nothing to build again. */
  done: RunDone | null;
  compiler: string | null;
  interrupted: boolean;
  baseline: RunInfo | null;
  comparison: Comparison | null;
  summary: RunSummary | null;
}

/** What a rerun of `run` builds: its failures, or (regressedOnly) its regressions and spurious results. */
export function rerunSelection(db: Db, run: RunInfo, regressedOnly: boolean, baseline: RunInfo | null): RebuildSelection {
  const jobsOfRun = loadRunJobStates(db, run.id);
  if (!regressedOnly) return selectRebuild(loadRunResults(db, run.id), { freshOnly: false, jobsOfRun });
  if (baseline === null)
    throw new SessionError(`run #${run.id} has no baseline: only a compared run has regressions`, 'input', { setting: 'regressed' });
  const picked = compareWithBaseline(db, run, baseline)
    .packages.filter(
      (p) => p.candidate !== null && (p.category === 'regressed' || p.category === 'dependency-regressed' || p.category === 'spurious'),
    )
    .map((p) => p.candidate!);
  return selectRebuild(picked, { freshOnly: false, jobsOfRun });
}

export async function rerunFailures(ctx: CommandContext, req: RerunRequest): Promise<RerunOutcome> {
  const { db, paths } = ctx;
  const run = req.runId !== null ? requireRun(db, req.runId, 'run') : newestRun(db);
  if (run === null) throw new SessionError('no run yet: nothing to rerun');
  const baseline = run.against !== null ? requireRun(db, run.against, 'against') : null;
  const selection = rerunSelection(db, run, req.regressedOnly, baseline);
  const nothing: RerunOutcome = { of: run, done: null, compiler: null, interrupted: false, baseline, comparison: null, summary: null };
  if (selection.ids.length === 0) return nothing;
  const { env, withTest, compilerSourceTree, allowLocalSources } = run.options;
  // The run's own repositories and pins, as it applied them (repositories given: no project config is read).
  const runCtx = ctx.withWorkspace({ repositories: run.repositories, pins: run.options.pins, config: undefined });
  const prepared = preparePlan(runCtx, {
    targets: selection.ids,
    // A compiler built from a local source tree is derived again from the tree, as it is now.
    compiler: compilerSourceTree ?? run.compilerSpec,
    env,
    withTest,
    // The folders it allowed local sources from (its repositories and pins allow theirs again), and any named now.
    allowLocalSources: [...(allowLocalSources ?? []), ...(req.allowLocalSources ?? [])],
    installDepexts: true,
  });
  announcePlan(prepared, req.output);
  // Nothing more is planned: the solver is not kept through the builds.
  runCtx.releaseSolvers();
  const done = await executeRun(db, {
    prepared,
    paths,
    settings: { ...req.settings, env, withTest },
    kind: 'rerun',
    label: run.label,
    against: baseline?.id ?? null,
    retryOf: run.id,
    forgetKeys: selection.forgetKeys,
    output: req.output,
  });
  const outcome: RerunOutcome = { ...nothing, done, compiler: prepared.compiler.spec, interrupted: done.interrupted };
  if (done.interrupted) return outcome;
  const rerun = getRun(db, done.runId)!;
  if (baseline === null) return { ...outcome, summary: summariseRecordedRun(db, rerun) };
  return { ...outcome, comparison: compareWithBaseline(db, rerun, baseline) };
}
