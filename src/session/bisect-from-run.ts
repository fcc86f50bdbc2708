/**
 * `ecocheck bisect --from-run RUN`: the range and the packages of a bisection taken from a recorded
 * comparison. RUN's baseline and RUN itself were checked with compilers built from source trees
 * (`--compiler DIR`) of one git repository: the baseline's commit is the good end, the candidate's the
 * bad end, and the packages that regressed (their own build failing, not a dependency's: those follow
 * their root) are bisected. A tree is at a commit when it is one of bisect's own trees
 * (STATE/bisect-trees/SHA) or a git checkout (its HEAD: its uncommitted edits are not in any commit, so
 * the bisection is between commits, which is said).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Db } from '../store/database.js';
import { isGitRepository, resolveCommit } from './bisect-git.js';
import { requireRun } from './run-lookup.js';
import { compareWithBaseline } from './run-comparison.js';
import { SessionError } from './session-error.js';

export interface BisectRange {
  /** The git repository whose commits are bisected. */
  tree: string;
  good: string;
  bad: string;
  packages: string[];
  /** The repositories the run read, for a bisection given none. */
  repositories: string[];
}

/** The commit a recorded compiler tree stands for, and a repository holding it. */
function commitOfTree(dir: string, which: string): { sha: string; repo: string | null } {
  const sha = basename(dir);
  const from = join(dirname(dir), `${sha}.from`);
  if (/^[0-9a-f]{40}$/.test(sha) && existsSync(from)) return { sha, repo: readFileSync(from, 'utf8').trim() };
  if (existsSync(dir) && isGitRepository(dir)) return { sha: resolveCommit(dir, 'HEAD', 'fromRun'), repo: dir };
  throw new SessionError(
    `the ${which}'s compiler tree ${dir} is not a git checkout (nor a tree of a bisection): its commit is not known`,
    'input',
    { setting: 'fromRun' },
  );
}

function hasCommit(repo: string, sha: string): boolean {
  return spawnSync('git', ['-C', repo, 'cat-file', '-e', `${sha}^{commit}`], { stdio: 'ignore' }).status === 0;
}

export function bisectRangeOfRun(db: Db, runId: number, given: { tree: string | null; packages: readonly string[] }): BisectRange {
  const run = requireRun(db, runId, 'fromRun');
  if (run.against === null)
    throw new SessionError('not a comparison: the run has no baseline (a candidate run has one)', 'input', {
      setting: 'fromRun',
      value: String(runId),
    });
  const baseline = requireRun(db, run.against, 'fromRun');
  const goodTree = baseline.options.compilerSourceTree;
  const badTree = run.options.compilerSourceTree;
  if (goodTree === null || badTree === null) {
    throw new SessionError(
      `the ${goodTree === null ? `baseline (run #${baseline.id}, ${baseline.compilerSpec})` : `candidate (${run.compilerSpec})`} was not built from a compiler source tree: there are no commits to bisect`,
      'input',
      { setting: 'fromRun', value: String(runId) },
    );
  }
  const good = commitOfTree(goodTree, 'baseline');
  const bad = commitOfTree(badTree, 'candidate');
  const tree = given.tree ?? bad.repo ?? good.repo!;
  for (const [end, c] of [
    ['baseline', good],
    ['candidate', bad],
  ] as const) {
    if (!hasCommit(tree, c.sha))
      throw new SessionError(
        `the ${end}'s commit ${c.sha.slice(0, 12)} is not in ${tree}: the two trees are not of one git repository (give --compiler-tree a checkout holding both)`,
        'input',
        { setting: 'fromRun', value: String(runId) },
      );
  }
  const comparison = compareWithBaseline(db, run, baseline);
  const regressed = comparison.packages.filter((p) => p.category === 'regressed' && p.candidate !== null).map((p) => p.candidate!.id);
  const packages =
    given.packages.length > 0 ? regressed.filter((id) => given.packages.some((g) => g === id || id.startsWith(`${g}.`))) : regressed;
  return { tree, good: good.sha, bad: bad.sha, packages, repositories: run.repositories };
}
