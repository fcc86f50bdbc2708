/**
 * `ecocheck bisect`: which commit of a compiler checkout broke these packages. The search is the pure
 * one of compare/bisect-search.ts; here each test is made: the commit's tree is written by `git archive`
 * into the state folder (bisect-git.ts: the user's checkout is only read), checked as a local compiler
 * tree (`--compiler DIR`) in an ordinary recorded run, and each package's result classified as `check`
 * classifies it (results/taxonomy.ts):
 * - ok: good; build-failed, install-failed: bad; a dependency-failed whose root is not the compiler: bad;
 * - spurious (timeout, out-of-memory, disk limit, fetch, internal error), or a dependency-failed whose
 *   root failed so: spurious (the search retries it once, then skips the commit);
 * - the compiler itself failing to build, or the package not installable with it: skip (`git bisect
 *   skip`: that commit cannot say).
 * Every tree has a fixed path per commit (STATE/bisect-trees/SHA) and so a fixed key: a second bisect
 * over the same range finds every job in the cache.
 */
import { dirname, join, resolve } from 'node:path';
import { ceilLog2, runBisect, type BisectAction, type StepVerdict } from '../compare/bisect-search.js';
import type { PackageRunResult } from '../results/taxonomy.js';
import { isSpurious, isJobStatus } from '../results/taxonomy.js';
import type { BisectCommit, BisectFinding, BisectStepReport, BisectSummary } from '../compare/bisect-summary.js';
import { recordedDurations } from '../store/durations.js';
import { createCacheLookup, loadRunJobStates, loadRunResults } from '../store/run-records.js';
import { formatSeconds } from '../units/duration.js';
import type { CommandContext } from './command-context.js';
import { commitsBetween, isGitRepository, materialiseCommit, resolveCommit, type CommitInfo } from './bisect-git.js';
import { announcePlan, preparePlan, type PlanRequest } from './plan-preparation.js';
import { executeRun, type BuildSettings } from './run-execution.js';
import { SessionError } from './session-error.js';
import type { SessionOutput } from './session-output.js';
import type { StatePaths } from './state-paths.js';

export interface BisectRequest {
  /** The packages to follow are its targets (`NAME` or `NAME.VERSION`); its compiler is ignored. */
  plan: PlanRequest;
  paths: StatePaths;
  settings: BuildSettings;
  /** The user's compiler checkout (a git repository). */
  tree: string;
  good: string;
  bad: string;
  output: SessionOutput;
}

/** Where the trees of the commits go: beside the build folders, in ecocheck's own state. */
export function bisectTreesDir(paths: StatePaths): string {
  return join(dirname(paths.buildRoot), 'bisect-trees');
}

/** A package spec's result in a run: `NAME` matches any version, `NAME.VERSION` that one. */
function resultFor(spec: string, results: readonly PackageRunResult[]): PackageRunResult | null {
  const exact = results.find((r) => r.id === spec);
  if (exact !== undefined) return exact;
  return results.find((r) => r.name === spec) ?? null;
}

/**
 * A package's verdict at a commit from its result in that commit's run. `compilerIds`: the packages
 * built from the tree; `statusOf`: the status of any job of the run by `NAME.VERSION`.
 */
export function verdictOf(
  result: PackageRunResult | null,
  compilerIds: ReadonlySet<string>,
  statusOf: (id: string) => string | undefined,
): StepVerdict {
  if (result === null) return 'skip';
  const s = result.status;
  if (s === 'ok') return 'good';
  if (s === 'build-failed' || s === 'install-failed') return 'bad';
  if (isSpurious(s)) return 'spurious';
  if (s === 'not-installable') return 'skip';
  // dependency-failed: judged by its roots.
  const roots = result.rootCauses ?? (result.rootCause !== null ? [result.rootCause] : []);
  const rootStatuses = roots.map((r) => statusOf(r));
  if (rootStatuses.some((st) => st !== undefined && isJobStatus(st) && isSpurious(st))) return 'spurious';
  if (roots.length > 0 && roots.every((r) => compilerIds.has(r))) return 'skip';
  return 'bad';
}

function short(sha: string): string {
  return sha.slice(0, 12);
}

class Interrupted extends Error {}

export async function runBisectSession(ctx: CommandContext, req: BisectRequest): Promise<BisectSummary> {
  const db = ctx.db;
  const started = performance.now();
  const tree = resolve(req.tree);
  if (!isGitRepository(tree))
    throw new SessionError("not a git checkout: bisect needs the compiler's history", 'input', {
      setting: 'compilerTree',
      value: req.tree,
    });
  const packages = [...new Set(req.plan.targets)];
  if (packages.length === 0) throw new SessionError('name the package(s) to bisect', 'input', { setting: 'targets' });
  const good = resolveCommit(tree, req.good, 'good');
  const bad = resolveCommit(tree, req.bad, 'bad');
  const commits: CommitInfo[] = commitsBetween(tree, good, bad);
  const n = commits.length - 1;
  const treesDir = bisectTreesDir(req.paths);
  req.output.notice(
    `bisect: ${n} commit(s) from ${short(good)} (good) to ${short(bad)} (bad), ${packages.length} package(s): ⌈log2(${n})⌉ = ${ceilLog2(n)} compiler build(s), one more for an end of the range to confirm; trees under ${treesDir}`,
  );

  const steps: BisectStepReport[] = [];
  /** Each package's result at each commit tested (the newest attempt), for the report. */
  const resultsAt = new Map<number, Map<string, { result: PackageRunResult | null; runId: number }>>();
  let lastCompilerMs: number | null = null;
  let announced = false;
  let interrupted = false;

  const estimate = (left: number): string =>
    lastCompilerMs === null
      ? 'time unknown until a compiler is built'
      : `about ${formatSeconds(Math.round((left * lastCompilerMs) / 1000))} (${left} × the compiler's last build, ${formatSeconds(Math.round(lastCompilerMs / 1000))})`;

  const oracle = async (test: Extract<BisectAction, { kind: 'test' }>): Promise<Record<string, StepVerdict>> => {
    const commit = commits[test.index];
    const dir = materialiseCommit(tree, commit.sha, treesDir);
    // Every commit's tree is `V+local`: each step resolves its own in a workspace of its own.
    const prepared = preparePlan(ctx.freshWorkspace(), {
      ...req.plan,
      targets: test.packages,
      selection: undefined,
      compiler: dir,
      installDepexts: true,
    });
    if (!announced) {
      announcePlan(prepared, req.output);
      announced = true;
    }
    const compilerJobs = [...prepared.plan.jobs.values()].filter((j) => j.package.repository === dir);
    const compilerIds = new Set(compilerJobs.map((j) => j.id));
    // The compiler's last build: of a step before, or of an earlier bisection.
    const noteCompilerBuild = () => {
      const known = recordedDurations(db);
      // A tree's build last recorded, else the release's it is derived from (`5.3.0+local` → `5.3.0`).
      const recorded = compilerJobs
        .map((j) => known.byPackage?.(j.id) ?? known.byPackage?.(j.id.replace(/\+local$/, '')))
        .filter((d): d is number => d !== undefined);
      if (recorded.length > 0) lastCompilerMs = recorded.reduce((a, b) => a + b, 0);
    };
    if (lastCompilerMs === null) noteCompilerBuild();
    const done = await executeRun(db, {
      prepared,
      paths: req.paths,
      settings: req.settings,
      kind: 'check',
      label: `bisect ${short(commit.sha)}${test.attempt > 1 ? ` (attempt ${test.attempt})` : ''}`,
      against: null,
      retryOf: null,
      output: req.output,
    });
    noteCompilerBuild();
    if (done.interrupted) throw new Interrupted();
    const results = loadRunResults(db, done.runId);
    const jobStates = loadRunJobStates(db, done.runId);
    const verdicts: Record<string, StepVerdict> = {};
    const at = resultsAt.get(test.index) ?? new Map<string, { result: PackageRunResult | null; runId: number }>();
    const cached = createCacheLookup(db);
    for (const p of test.packages) {
      const own = resultFor(p, results);
      verdicts[p] = verdictOf(own, compilerIds, (id) => jobStates.get(id)?.status);
      // A package failing through a dependency: the error to show is its root's.
      const rootKey = own?.status === 'dependency-failed' && own.rootCause !== null ? jobStates.get(own.rootCause)?.jobKey : undefined;
      const rootError = rootKey === undefined ? null : (cached(rootKey)?.firstError ?? null);
      const result = own !== null && own.firstError === null && rootError !== null ? { ...own, firstError: rootError } : own;
      at.set(p, { result, runId: done.runId });
    }
    resultsAt.set(test.index, at);
    steps.push({
      commit: { sha: commit.sha, subject: commit.subject },
      index: test.index,
      attempt: test.attempt,
      runId: done.runId,
      verdicts,
      built: done.built,
      cacheHits: done.cacheHits,
      wallMs: done.wallMs,
    });
    req.output.notice(
      `bisect: ${short(commit.sha)} ${Object.entries(verdicts)
        .map(([p, v]) => `${p} ${v}`)
        .join(', ')} (run #${done.runId}, ${done.built} built, ${done.cacheHits} cached, ${formatSeconds(Math.round(done.wallMs / 1000))})`,
    );
    return verdicts;
  };

  let result;
  try {
    result = await runBisect({ commits: commits.map((c) => c.sha), packages }, oracle, (test, search) => {
      const commit = commits[test.index];
      const left = search.estimatedStepsLeft();
      req.output.notice(
        `bisect: step ${steps.length + 1}: ${short(commit.sha)} ${JSON.stringify(commit.subject)}${test.attempt > 1 ? ` again (attempt ${test.attempt}, after a spurious result)` : ''} for ${test.packages.join(' ')}; about ${left} step(s) left, ${estimate(left)}`,
      );
    });
  } catch (err) {
    if (!(err instanceof Interrupted)) throw err;
    interrupted = true;
  }

  const commitOf = (i: number): BisectCommit => ({ sha: commits[i].sha, subject: commits[i].subject });
  const findings: BisectFinding[] = (result?.outcomes ?? []).map((o) => {
    const base: BisectFinding = {
      package: o.package,
      outcome: o.kind,
      firstBad: null,
      confirmed: false,
      candidates: [],
      status: null,
      firstError: null,
      reason: '',
      rootCause: null,
      runId: null,
    };
    const at = o.kind === 'first-bad' ? o.index : o.kind === 'candidates' ? o.indexes.at(-1)! : null;
    const finding: BisectFinding = {
      ...base,
      ...(o.kind === 'first-bad' ? { firstBad: commitOf(o.index), confirmed: o.confirmed } : {}),
      ...(o.kind === 'candidates' ? { candidates: o.indexes.map(commitOf) } : {}),
    };
    const seen = at === null ? undefined : resultsAt.get(at)?.get(o.package);
    if (seen !== undefined && seen.result !== null) {
      Object.assign(finding, {
        status: seen.result.status,
        firstError: seen.result.firstError,
        reason: seen.result.reason,
        rootCause: seen.result.rootCause,
        runId: seen.runId,
      });
    }
    return finding;
  });
  return {
    tree,
    good: commitOf(0),
    bad: commitOf(n),
    commitCount: n,
    packages,
    findings,
    steps,
    compilerBuilds: new Set(steps.map((s) => s.index)).size,
    log2Bound: ceilLog2(n),
    interrupted,
    wallMs: performance.now() - started,
  };
}
