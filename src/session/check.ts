/**
 * A check, as the user asks for it: record a baseline, or build a candidate and compare it with its
 * baseline (the one named, else the one chosen by baseline-choice.ts), building its fresh regressions
 * again up to `retries` times to tell flaky failures from real ones. Nothing is printed here: the
 * outcome is returned for the CLI to report.
 */
import type { Comparison } from '../compare/comparison.js';
import type { RunSummary } from '../compare/run-summary.js';
import { loadRunJobStates } from '../store/run-records.js';
import { getRun, listRuns, type RunInfo } from '../store/runs.js';
import { chooseBaseline } from './baseline-choice.js';
import { announcePlan, preparePlan, type PlanRequest } from './plan-preparation.js';
import { compareWithBaseline, summariseRecordedRun } from './run-comparison.js';
import { executeRun, type BuildSettings, type RunDone } from './run-execution.js';
import type { SessionOutput } from './session-output.js';
import { requireRun } from './run-lookup.js';
import { selectRebuild } from './rebuild-selection.js';
import { SessionError } from './session-error.js';
import { packagesOfRoot, repositoryChanges } from './repository-changes.js';
import type { ShardSpec } from '../plan/shard.js';
import type { CommandContext } from './command-context.js';
import { reverseDependencyTargets, reverseDependencyTargetsOf, type RevdepsRequest } from './revdeps-targets.js';

/** A check, in its command's context (the repositories, config, pins, state paths and database are the context's). */
export interface CheckRequest {
  plan: PlanRequest;
  settings: BuildSettings;
  /** Record this run as the baseline. */
  baseline: boolean;
  /** Compare with this run instead of the chosen baseline. */
  against: number | null;
  /** How many times the fresh regressions are built again. */
  retries: number;
  /** Check a package's reverse dependencies (NAME and what depends on it) instead of the targets. */
  revdeps: RevdepsRequest | null;
  /**
   * Build one shard of the plan (CI: N runners, one shard each). The shard's run is recorded, not
   * compared or retried: the merge of the shards' exports is what is compared.
   */
  shard?: ShardSpec | null;
  /**
   * A repository change (an opam-repository pull request): the base checkout of the first repository.
   * The packages the change touches, and what depends on them (`revdeps` sets the depth), are checked
   * on the base as the baseline, then on the change as the candidate.
   */
  changedSince?: { base: string; depth: number } | null;
  output: SessionOutput;
}

export interface CheckOutcome {
  /** The run itself, then each retry. */
  runs: { done: RunDone; compiler: string }[];
  /** Null only when a repository change touches no package: nothing was checked. */
  run: RunInfo | null;
  interrupted: boolean;
  /** The baseline compared with; null for a baseline run, or when none was found. */
  baseline: RunInfo | null;
  comparison: Comparison | null;
  /** The run on its own, when there is nothing to compare it with. */
  summary: RunSummary | null;
}

/**
 * The check. With pins, and neither a baseline to record nor a run to compare with, it is a check of
 * the pinned change: the same targets are first run without the pins, as the baseline (mostly cache
 * hits), and the pinned run is compared with it.
 */
export async function runCheck(ctx: CommandContext, request: CheckRequest): Promise<CheckOutcome> {
  const db = ctx.db;
  const paths = ctx.paths;
  if (request.baseline && request.against !== null)
    throw new SessionError('a baseline is not compared with another run', 'input', { setting: 'against' });
  if (request.revdeps !== null && request.plan.targets.length > 0)
    throw new SessionError('give either targets or reverse dependencies, not both', 'input', { setting: 'revdeps' });
  // Reverse dependencies asked for, or named by the project config when nothing else is.
  const revdeps =
    request.revdeps ?? (request.plan.targets.length === 0 && request.plan.selection === undefined ? ctx.config.revdeps : null);
  if (request.changedSince != null) return checkRepositoryChange(ctx, request, request.changedSince.base, request.changedSince.depth);
  const req: CheckRequest =
    revdeps === null
      ? request
      : {
          ...request,
          revdeps,
          plan: { ...request.plan, targets: reverseDependencyTargets(ctx, request.plan, revdeps), selection: undefined },
        };
  if (req.revdeps !== null) req.output.notice(`reverse dependencies of ${req.revdeps.name}: ${req.plan.targets.length - 1} package(s)`);
  const prepared = preparePlan(ctx, { ...req.plan, installDepexts: true });
  announcePlan(prepared, req.output);
  const pinCheck = prepared.pins.args.length > 0 && !req.baseline && req.against === null;
  const shard = req.shard ?? null;
  if (pinCheck && shard !== null)
    throw new SessionError(
      'a shard of a pin check needs its baseline recorded first: record it (with the same shard) as a baseline, then check against it',
      'input',
      { setting: 'shard' },
    );
  const runs: CheckOutcome['runs'] = [];
  let baselineRun: RunInfo | null = null;
  if (pinCheck) {
    const unpinned = preparePlan(ctx, { ...req.plan, ignorePins: true, installDepexts: true });
    if (req.retries === 0) ctx.releaseSolvers();
    const base = await executeRun(db, {
      prepared: unpinned,
      paths,
      settings: req.settings,
      kind: 'baseline',
      label: 'without pins',
      against: null,
      retryOf: null,
      output: req.output,
    });
    runs.push({ done: base, compiler: unpinned.compiler.spec });
    if (base.interrupted) return { runs, run: getRun(db, base.runId)!, interrupted: true, baseline: null, comparison: null, summary: null };
    baselineRun = getRun(db, base.runId)!;
  } else if (!req.baseline) {
    baselineRun =
      req.against !== null
        ? requireRun(db, req.against, 'against')
        : chooseBaseline(listRuns(db, { kind: 'baseline', status: 'finished' }), {
            id: -1,
            repositories: prepared.repositories,
            targets: prepared.selection,
            pins: prepared.pins.args,
          });
  }
  const kind = req.baseline ? 'baseline' : baselineRun !== null ? 'candidate' : 'check';
  // Every plan of the check is made but a retry's (a candidate's regressions built again): the solvers
  // are not kept through the builds.
  if (kind !== 'candidate' || req.retries === 0) ctx.releaseSolvers();
  const done = await executeRun(db, {
    prepared,
    paths,
    settings: req.settings,
    kind,
    label: pinCheck ? `with ${prepared.pins.args.join(' ')}` : prepared.compiler.name,
    against: baselineRun?.id ?? null,
    retryOf: null,
    shard,
    output: req.output,
  });
  runs.push({ done, compiler: prepared.compiler.spec });
  const run = getRun(db, done.runId)!;
  const outcome: CheckOutcome = { runs, run, interrupted: done.interrupted, baseline: baselineRun, comparison: null, summary: null };
  if (done.interrupted) return outcome;
  if (baselineRun === null || shard !== null) return { ...outcome, summary: summariseRecordedRun(db, run) };
  let comparison = compareWithBaseline(db, run, baselineRun);
  for (let attempt = 1; attempt <= req.retries; attempt++) {
    // Only the regressions are retried, and of those only fresh failures: a failure taken from the
    // cache was confirmed when it was first built.
    const regressions = comparison.packages
      .filter((p) => (p.category === 'regressed' || p.category === 'dependency-regressed') && p.candidate !== null)
      .map((p) => p.candidate!);
    const selection = selectRebuild(regressions, { freshOnly: true, jobsOfRun: loadRunJobStates(db, run.id) });
    if (selection.ids.length === 0) break;
    req.output.notice(`retry ${attempt}: building the ${selection.ids.length} regression(s) again to tell flaky from real`);
    const retryPlan = preparePlan(ctx, { ...req.plan, targets: selection.ids, selection: undefined, installDepexts: true });
    const retry = await executeRun(db, {
      prepared: retryPlan,
      paths,
      settings: req.settings,
      kind: 'retry',
      label: `retry ${attempt} of #${run.id}`,
      against: baselineRun.id,
      retryOf: run.id,
      forgetKeys: selection.forgetKeys,
      output: req.output,
    });
    runs.push({ done: retry, compiler: retryPlan.compiler.spec });
    if (retry.interrupted) return { ...outcome, interrupted: true };
    comparison = compareWithBaseline(db, run, baselineRun);
  }
  return { ...outcome, comparison };
}

/**
 * A repository change checked: the packages it touches (their names) and their reverse dependencies,
 * found in the base, first on the base (the baseline), then on the changed repository against it.
 */
async function checkRepositoryChange(ctx: CommandContext, req: CheckRequest, base: string, depth: number): Promise<CheckOutcome> {
  const { db, paths } = ctx;
  if (req.baseline || req.against !== null)
    throw new SessionError('a repository change records its own baseline (the base checkout)', 'input', {
      setting: 'changedSince',
      value: base,
    });
  if (req.plan.targets.length > 0 || req.plan.selection !== undefined)
    throw new SessionError('the targets of a repository change are what it touches', 'input', { setting: 'changedSince', value: base });
  if (ctx.givenRepositories.length === 0)
    throw new SessionError('a repository change needs the changed repository given', 'input', { setting: 'repository' });
  const [head, ...rest] = ctx.givenRepositories;
  // The base checkout in place of the changed one, loaded once; the changed side is the command's own load.
  const baseCtx = ctx.withWorkspace({ repositories: [base, ...rest] });
  const baseRoot = baseCtx.workspace.repositories[0];
  const changes = repositoryChanges(
    packagesOfRoot(baseCtx.load('unpinned'), baseRoot),
    packagesOfRoot(ctx.load('unpinned'), ctx.workspace.repositories[0]),
  );
  req.output.notice(
    `changed since ${base}: ${changes.length === 0 ? 'nothing' : changes.map((c) => `${c.name} (${[...c.added.map((v) => `+${v}`), ...c.edited.map((v) => `~${v}`), ...c.removed.map((v) => `-${v}`)].join(' ')})`).join(', ')}`,
  );
  const runs: CheckOutcome['runs'] = [];
  // What depends on the changed packages, as released in the base (a package the change adds stands alone).
  const ordered =
    changes.length === 0
      ? []
      : reverseDependencyTargetsOf(
          baseCtx,
          req.plan,
          changes.map((c) => c.name),
          depth,
          true,
        );
  // No package changed (a change to documentation, CI files…): nothing to build, nothing recorded.
  if (ordered.length === 0) return { runs: [], run: null, interrupted: false, baseline: null, comparison: null, summary: null };
  // Each side checks the names it has: a package the change adds is new in the candidate, one it removes gone.
  const onSide = (side: 'inBase' | 'inHead') => ordered.filter((n) => changes.find((c) => c.name === n)?.[side] !== false);
  if (onSide('inBase').length === 0) {
    // Only new packages, which nothing in the base depends on: nothing to compare with.
    const only = preparePlan(ctx, { ...req.plan, targets: onSide('inHead'), selection: undefined, installDepexts: true });
    announcePlan(only, req.output);
    const d = await executeRun(db, {
      prepared: only,
      paths,
      settings: req.settings,
      kind: 'check',
      label: `changed ${head}`,
      against: null,
      retryOf: null,
      output: req.output,
    });
    const run = getRun(db, d.runId)!;
    return {
      runs: [{ done: d, compiler: only.compiler.spec }],
      run,
      interrupted: d.interrupted,
      baseline: null,
      comparison: null,
      summary: d.interrupted ? null : summariseRecordedRun(db, run),
    };
  }
  const before = preparePlan(baseCtx, { ...req.plan, targets: onSide('inBase'), selection: undefined, installDepexts: true });
  announcePlan(before, req.output);
  const b = await executeRun(db, {
    prepared: before,
    paths,
    settings: req.settings,
    kind: 'baseline',
    label: `base ${base}`,
    against: null,
    retryOf: null,
    output: req.output,
  });
  runs.push({ done: b, compiler: before.compiler.spec });
  if (b.interrupted) return { runs, run: getRun(db, b.runId)!, interrupted: true, baseline: null, comparison: null, summary: null };
  const baseline = getRun(db, b.runId)!;
  const after = preparePlan(ctx, { ...req.plan, targets: onSide('inHead'), selection: undefined, installDepexts: true });
  announcePlan(after, req.output);
  const c = await executeRun(db, {
    prepared: after,
    paths,
    settings: req.settings,
    kind: 'candidate',
    label: `changed ${head}`,
    against: baseline.id,
    retryOf: null,
    output: req.output,
  });
  runs.push({ done: c, compiler: after.compiler.spec });
  const run = getRun(db, c.runId)!;
  if (c.interrupted) return { runs, run, interrupted: true, baseline, comparison: null, summary: null };
  return { runs, run, interrupted: false, baseline, comparison: compareWithBaseline(db, run, baseline), summary: null };
}
