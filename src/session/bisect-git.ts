/**
 * What `ecocheck bisect` asks of the user's compiler checkout, read-only: which commits lie between
 * good and bad (`git rev-list --first-parent --ancestry-path`), their subjects, and the tree of one
 * commit, written by `git archive` into ecocheck's own state folder. No command here writes to the
 * checkout: not its work tree, not its index, not HEAD (`git status` is never run, it may refresh the
 * index); the checkout may even have uncommitted edits, which no step sees. A tree is what
 * `git archive` makes of the commit, as a release tarball would be: files marked `export-ignore` in
 * `.gitattributes` are left out (OCaml marks none).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SessionError } from './session-error.js';

export interface CommitInfo {
  sha: string;
  subject: string;
}

function git(repo: string, args: string[], setting: string, value: string): string {
  try {
    return execFileSync('git', ['-C', repo, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stderr?: string; code?: string; message?: string };
    if (e.code === 'ENOENT') throw new SessionError('git is not installed (apt-get install git)', 'environment');
    const line =
      (e.stderr ?? e.message ?? '')
        .trim()
        .split('\n')
        .find((l) => l.trim() !== '') ?? 'git failed';
    throw new SessionError(line.replace(/^fatal: /, ''), 'input', { setting, value });
  }
}

/** The full hash of REV in `repo` (any revision git understands), or an input error naming the flag. */
export function resolveCommit(repo: string, rev: string, setting: string): string {
  if (rev.startsWith('-')) throw new SessionError('a revision does not start with "-"', 'input', { setting, value: rev });
  const r = spawnSync('git', ['-C', repo, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], { encoding: 'utf8' });
  if (r.error !== undefined) throw new SessionError('git is not installed (apt-get install git)', 'environment');
  if (r.status !== 0) throw new SessionError(`no such commit in ${repo}`, 'input', { setting, value: rev });
  return r.stdout.trim();
}

/** Whether `repo` is a git checkout (or a bare repository). */
export function isGitRepository(dir: string): boolean {
  const r = spawnSync('git', ['-C', dir, 'rev-parse', '--git-dir'], { stdio: 'ignore' });
  return r.status === 0;
}

/**
 * The commits from `good` to `bad`, oldest first, both included: the first-parent line of `bad` down
 * to `good` (a merged branch counts as its merge commit, as `git bisect --first-parent` does).
 */
export function commitsBetween(repo: string, good: string, bad: string): CommitInfo[] {
  if (good === bad)
    throw new SessionError('the good and the bad commit are the same: nothing to bisect', 'input', { setting: 'bad', value: bad });
  const ancestor = spawnSync('git', ['-C', repo, 'merge-base', '--is-ancestor', good, bad], { stdio: 'ignore' });
  if (ancestor.status !== 0)
    throw new SessionError(`the good commit ${good.slice(0, 12)} is not an ancestor of the bad one ${bad.slice(0, 12)}`, 'input', {
      setting: 'good',
      value: good,
    });
  const out = git(repo, ['log', '--first-parent', '--ancestry-path', '--reverse', '--format=%H%x00%s', `${good}..${bad}`], 'bad', bad);
  const after = out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [sha, subject] = l.split('\0');
      return { sha, subject: subject ?? '' };
    });
  if (after.length === 0 || after.at(-1)!.sha !== bad)
    throw new SessionError(`no first-parent line leads from ${good.slice(0, 12)} to ${bad.slice(0, 12)}`, 'input', {
      setting: 'good',
      value: good,
    });
  return [{ sha: good, subject: subjectOf(repo, good) }, ...after];
}

export function subjectOf(repo: string, sha: string): string {
  return git(repo, ['log', '-1', '--format=%s', sha], 'good', sha).trim();
}

/**
 * The tree of `sha`, as `git archive` gives it, in `treesDir/SHA` (made once, then reused: a second
 * bisect sees the same path and the same content, so the compiler's job key is the same). A half-written
 * tree is never taken: it is written beside, then renamed into place.
 */
export function materialiseCommit(repo: string, sha: string, treesDir: string): string {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) throw new SessionError(`not a full commit hash: ${sha}`, 'internal');
  const dest = join(treesDir, sha);
  if (existsSync(dest)) return dest;
  mkdirSync(treesDir, { recursive: true });
  const partial = join(treesDir, `.${sha}.${process.pid}.partial`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial);
  const r = spawnSync(
    'bash',
    ['-o', 'pipefail', '-c', 'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"', 'archive', repo, sha, partial],
    { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] },
  );
  if (r.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    throw new SessionError(
      `git archive ${sha.slice(0, 12)} into ${treesDir} failed: ${(r.stderr ?? '').trim().split('\n')[0] ?? ''}`,
      'environment',
    );
  }
  // The commit the tree came from, beside it rather than in it (its content is the compiler's key).
  writeFileSync(join(treesDir, `${sha}.from`), `${repo}\n`);
  try {
    renameSync(partial, dest);
  } catch (err) {
    // Another bisect wrote the same commit meanwhile: its tree is the same.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(dest)) throw err;
  }
  return dest;
}
