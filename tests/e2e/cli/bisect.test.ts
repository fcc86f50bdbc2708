/**
 * `ecocheck bisect` on the shell fixture ecosystem, with a fake compiler whose versions are commits: a
 * git repository (in a temp folder) holding the fixture's fakeml 1.0 sources, then commits that each
 * change something, one making `effect` a keyword (chain-a breaks, and chain-c above it), a later one
 * removing `old_syntax` (legacy-lib breaks). Checked: the first bad commit and its subject, the
 * package's first error there, the steps (⌈log2(n)⌉ compiler builds), packages split when they break
 * at different commits, the user's checkout untouched (HEAD, branch, index, an uncommitted edit), every
 * step a recorded run, and a second bisect building nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../support/snapshot.js';
import { instantiateEcosystem } from '../../support/fixture-ecosystem.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';
import { openDatabase } from '../../../src/store/database.js';
import { listRuns } from '../../../src/store/runs.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const sandboxArgs = sandboxAvailable().ok ? [] : ['--no-sandbox'];

function ecocheck(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: projectRoot });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function git(repo: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-C', repo, '-c', 'user.name=Compiler Dev', '-c', 'user.email=dev@example.org', '-c', 'commit.gpgsign=false', ...args],
    { encoding: 'utf8' },
  ).trim();
}

interface FakeCompilerRepo {
  dir: string;
  /** Commit hashes, oldest first: [0] the release (good), the last one the bad end. */
  commits: string[];
}

/** The fake compiler's history: seven commits; `effect` breaks at [3], `old_syntax` at [5]. */
function fakeCompilerRepo(ecosystemRoot: string, parent: string): FakeCompilerRepo {
  const dir = join(parent, 'fakeml');
  mkdirSync(dir);
  git(dir, 'init', '-q', '-b', 'main');
  const release = join(ecosystemRoot, 'packages', 'ocaml-base-compiler', 'ocaml-base-compiler.1.0', 'files');
  for (const f of ['Makefile', 'compiler.in', 'stdlib.fml']) writeFileSync(join(dir, f), readFileSync(join(release, f)));
  writeFileSync(join(dir, 'VERSION'), '1.0\n');
  const commits: string[] = [];
  const commit = (subject: string) => {
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', subject);
    commits.push(git(dir, 'rev-parse', 'HEAD'));
  };
  const edit = (file: string, from: string, to: string) => {
    const text = readFileSync(join(dir, file), 'utf8');
    assert.ok(text.includes(from), `${file} holds ${JSON.stringify(from)}`);
    writeFileSync(join(dir, file), text.replace(from, to));
  };
  commit('Release fakeml 1.0');
  writeFileSync(join(dir, 'README'), 'fakeml, the fixture compiler\n');
  commit('Add a README');
  edit('stdlib.fml', '', '# the standard library, tidied\n');
  commit('Tidy the standard library');
  edit(
    'compiler.in',
    'let\\ effect\\ *|let\\ effect=*)\n        if [ $MAJOR -ge 2 ]; then',
    'let\\ effect\\ *|let\\ effect=*)\n        if true; then',
  );
  commit('Make effect a keyword');
  edit('compiler.in', '#!/bin/sh\n', '#!/bin/sh\n# checks sources line by line\n');
  commit('Comment the checker');
  edit('compiler.in', '*old_syntax*)\n        if [ $MAJOR -ge 2 ]; then', '*old_syntax*)\n        if true; then');
  commit('Remove old_syntax');
  writeFileSync(join(dir, 'README'), 'fakeml, the fixture compiler (see compiler.in)\n');
  commit('Point the README at the checker');
  return { dir, commits };
}

/** What must not change in the user's checkout: HEAD, its branch, the index file, the work tree's files. */
function checkoutState(dir: string): string {
  const files = readdirSync(dir)
    .filter((f) => f !== '.git')
    .sort()
    .map(
      (f) =>
        `${f}:${createHash('sha256')
          .update(readFileSync(join(dir, f)))
          .digest('hex')}`,
    );
  const index = createHash('sha256')
    .update(readFileSync(join(dir, '.git', 'index')))
    .digest('hex');
  return JSON.stringify({
    head: git(dir, 'rev-parse', 'HEAD'),
    branch: git(dir, 'symbolic-ref', 'HEAD'),
    index,
    files,
    worktrees: git(dir, 'worktree', 'list', '--porcelain'),
  });
}

interface JsonBisect {
  schema: string;
  commitCount: number;
  compilerBuilds: number;
  log2Bound: number;
  findings: {
    package: string;
    outcome: string;
    firstBad: { sha: string; subject: string } | null;
    confirmed: boolean;
    status: string | null;
    firstError: string | null;
    rootCause: string | null;
    runId: number | null;
  }[];
  steps: { commit: { sha: string }; runId: number; built: number; cacheHits: number; verdicts: Record<string, string> }[];
}

test('bisect names the commit that broke a package, in ⌈log2(n)⌉ compiler builds, leaves the checkout alone, and a second bisect builds nothing', () => {
  const eco = instantiateEcosystem();
  const work = mkdtempSync(join(tmpdir(), 'ecocheck-bisect-'));
  const state = join(work, 'state');
  try {
    const repo = fakeCompilerRepo(eco.root, work);
    // An uncommitted edit in the user's checkout: no step sees it, and it stays.
    writeFileSync(join(repo.dir, 'README'), 'work in progress\n');
    const before = checkoutState(repo.dir);
    const common = ['--repo', eco.root, '--state-dir', state, '--jobs', '2', '--compiler-tree', repo.dir, ...sandboxArgs];
    const first = ecocheck(['bisect', 'chain-a', '--good', repo.commits[0], '--bad', 'main', '--format', 'json', ...common]);
    assert.equal(first.code, 1, first.stderr);
    const report = JSON.parse(first.stdout) as JsonBisect;
    assert.equal(report.schema, 'ecocheck.bisect/1');
    assert.equal(report.commitCount, 6);
    const [finding] = report.findings;
    assert.equal(finding.outcome, 'first-bad');
    assert.deepEqual(finding.firstBad, { sha: repo.commits[3], subject: 'Make effect a keyword' });
    assert.equal(finding.confirmed, true);
    assert.equal(finding.status, 'build-failed');
    assert.match(finding.firstError ?? '', /effect is a keyword/);
    assert.ok(report.compilerBuilds <= Math.ceil(Math.log2(6)), `${report.compilerBuilds} compiler builds`);
    assert.equal(report.log2Bound, 3);
    assert.ok(
      report.steps.every((s) => s.built > 0),
      'each step built its commit',
    );
    // Progress lines with an estimate, and the checkout as it was.
    assert.match(first.stderr, /bisect: step 1: [0-9a-f]{12} "Make effect a keyword" for chain-a; about \d+ step\(s\) left, time unknown/);
    assert.match(first.stderr, /bisect: step 2: .* × the compiler's last build/);
    assert.equal(checkoutState(repo.dir), before);
    assert.equal(readFileSync(join(repo.dir, 'README'), 'utf8'), 'work in progress\n');

    // Every step is an ordinary recorded run.
    const db = openDatabase(join(state, 'ecocheck.sqlite'));
    try {
      const runs = listRuns(db).filter((r) => r.label?.startsWith('bisect ') === true);
      assert.deepEqual(
        runs.map((r) => r.id).sort((a, b) => a - b),
        report.steps.map((s) => s.runId).sort((a, b) => a - b),
      );
      assert.ok(
        runs.every((r) => r.status === 'finished' && r.options.compilerSourceTree?.startsWith(join(state, 'bisect-trees')) === true),
      );
    } finally {
      db.close();
    }

    // Again (--bad left to its default, the checkout's HEAD): the same steps, every job from the cache.
    const again = ecocheck(['bisect', 'chain-a', '--good', repo.commits[0], '--format', 'json', ...common]);
    assert.equal(again.code, 1, again.stderr);
    const second = JSON.parse(again.stdout) as JsonBisect;
    assert.deepEqual(second.findings[0].firstBad, finding.firstBad);
    assert.match(second.findings[0].firstError ?? '', /effect is a keyword/, 'the first error of a cached failure');
    assert.deepEqual(
      second.steps.map((s) => s.commit.sha),
      report.steps.map((s) => s.commit.sha),
    );
    assert.deepEqual(
      second.steps.map((s) => s.built),
      second.steps.map(() => 0),
    );
    assert.ok(second.steps.every((s) => s.cacheHits > 0));
    assert.equal(checkoutState(repo.dir), before);
  } finally {
    eco.dispose();
    rmSync(work, { recursive: true, force: true });
  }
});

test('packages breaking at different commits split, a dependent follows its root, a package never broken is said so; Markdown and terminal reports', () => {
  const eco = instantiateEcosystem();
  const work = mkdtempSync(join(tmpdir(), 'ecocheck-bisect-'));
  const state = join(work, 'state');
  try {
    const repo = fakeCompilerRepo(eco.root, work);
    const common = [
      '--repo',
      eco.root,
      '--state-dir',
      state,
      '--jobs',
      '2',
      '--compiler-tree',
      repo.dir,
      '--good',
      repo.commits[0],
      '--bad',
      repo.commits[6],
      ...sandboxArgs,
    ];
    const r = ecocheck(['bisect', 'chain-a', 'legacy-lib', 'chain-c', 'stdext', '--format', 'json', ...common]);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as JsonBisect;
    const byPackage = Object.fromEntries(report.findings.map((f) => [f.package, f]));
    assert.equal(byPackage['chain-a'].firstBad?.sha, repo.commits[3]);
    assert.equal(byPackage['legacy-lib'].firstBad?.sha, repo.commits[5]);
    assert.equal(byPackage['legacy-lib'].firstBad?.subject, 'Remove old_syntax');
    assert.match(byPackage['legacy-lib'].firstError ?? '', /old_syntax was removed/);
    assert.equal(byPackage['chain-c'].firstBad?.sha, repo.commits[3]);
    assert.equal(byPackage['chain-c'].status, 'dependency-failed');
    assert.equal(byPackage['chain-c'].rootCause, 'chain-a.1.0');
    assert.match(byPackage['chain-c'].firstError ?? '', /effect is a keyword/, "the root cause's first error");
    assert.equal(byPackage.stdext.outcome, 'never-bad');
    // Two searches' worth at most, plus the bad end confirmed for stdext.
    assert.ok(report.compilerBuilds <= 2 * 3 + 1, `${report.compilerBuilds}`);

    // The reports of the same (now cached) bisection.
    const md = ecocheck(['bisect', 'chain-a', 'legacy-lib', '--format', 'markdown', ...common]);
    assert.equal(md.code, 1, md.stderr);
    assert.match(md.stdout, /^### ecocheck bisect/m);
    assert.match(md.stdout, new RegExp(`\`chain-a\`: first bad commit \`${repo.commits[3].slice(0, 12)}\` Make effect a keyword`));
    assert.match(md.stdout, /<summary>\d+ step\(s\)<\/summary>/);
    const term = ecocheck(['bisect', 'legacy-lib', '--format', 'terminal', ...common]);
    assert.match(term.stdout, new RegExp(`legacy-lib: first bad commit ${repo.commits[5].slice(0, 12)} "Remove old_syntax"`));
    assert.match(term.stdout, /legacy-lib: build-failed: .*old_syntax was removed/);
    assert.match(term.stdout, /^steps: \d+ run\(s\), \d+ compiler build\(s\)/m);

    const fine = ecocheck(['bisect', 'stdext', '--format', 'json', ...common]);
    assert.equal(fine.code, 0, 'nothing broke: exit 0');
  } finally {
    eco.dispose();
    rmSync(work, { recursive: true, force: true });
  }
});

test('bisect: bad arguments are one line and exit 2', () => {
  const eco = instantiateEcosystem();
  const work = mkdtempSync(join(tmpdir(), 'ecocheck-bisect-'));
  try {
    const repo = fakeCompilerRepo(eco.root, work);
    const common = ['--repo', eco.root, '--state-dir', join(work, 'state'), ...sandboxArgs];
    const cases: [string[], RegExp][] = [
      [
        ['chain-a', '--compiler-tree', repo.dir],
        /--compiler-tree DIR and --good REV are required \(--bad defaults to the checkout's HEAD\)/,
      ],
      [['--compiler-tree', repo.dir, '--good', repo.commits[0], '--bad', 'main'], /name the package/],
      [['chain-a', '--compiler-tree', repo.dir, '--good', 'no-such-rev', '--bad', 'main'], /--good no-such-rev: no such commit/],
      [['chain-a', '--compiler-tree', repo.dir, '--good', repo.commits[3], '--bad', repo.commits[1]], /is not an ancestor of the bad one/],
      [['chain-a', '--compiler-tree', eco.root, '--good', 'a', '--bad', 'b'], /--compiler-tree .*: not a git checkout/],
      [
        ['chain-a', '--compiler-tree', repo.dir, '--good', repo.commits[0], '--bad', 'main', '--format', 'html'],
        /--format html: bisect reports are terminal, markdown, json/,
      ],
      [['--from-run', '1', '--good', 'x'], /--from-run takes the good and the bad commit from the run/],
    ];
    for (const [args, message] of cases) {
      const r = ecocheck(['bisect', ...args, ...common]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  } finally {
    eco.dispose();
    rmSync(work, { recursive: true, force: true });
  }
});

test('--from-run: the regressions of a comparison between two trees of one repository are bisected between their commits', () => {
  const eco = instantiateEcosystem();
  const work = mkdtempSync(join(tmpdir(), 'ecocheck-bisect-'));
  const state = join(work, 'state');
  try {
    const repo = fakeCompilerRepo(eco.root, work);
    // The user's two checkouts of the compiler: the base and the change, worktrees of one repository.
    const base = join(work, 'base');
    const change = join(work, 'change');
    git(repo.dir, 'worktree', 'add', '-q', '--detach', base, repo.commits[0]);
    git(repo.dir, 'worktree', 'add', '-q', '--detach', change, repo.commits[6]);
    const common = ['--repo', eco.root, '--state-dir', state, '--jobs', '2', ...sandboxArgs];
    const targets = ['chain-a', 'legacy-lib', 'stdext'];
    assert.equal(ecocheck(['check', '--baseline', '--compiler', base, ...targets, ...common]).code, 0);
    const candidate = ecocheck(['check', '--compiler', change, '--format', 'json', ...targets, ...common]);
    assert.equal(candidate.code, 1, candidate.stderr);
    const runId = /run #(\d+) \(candidate/.exec(candidate.stderr)?.[1];
    assert.ok(runId !== undefined, candidate.stderr);

    // No --repo: the run's repositories.
    const r = ecocheck(['bisect', '--from-run', runId, '--state-dir', state, '--format', 'json', ...sandboxArgs]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `from run #${runId}: 2 regression\\(s\\) \\(chain-a\\.1\\.0 legacy-lib\\.1\\.0\\), ${repo.commits[0].slice(0, 12)} \\(good\\) \\.\\. ${repo.commits[6].slice(0, 12)} \\(bad\\)`,
      ),
    );
    const report = JSON.parse(r.stdout) as JsonBisect;
    assert.deepEqual(
      report.findings.map((f) => [f.package, f.firstBad?.subject]),
      [
        ['chain-a.1.0', 'Make effect a keyword'],
        ['legacy-lib.1.0', 'Remove old_syntax'],
      ],
    );

    // A baseline not built from a tree has no commit.
    const plain = ecocheck(['check', '--compiler', '1.0', ...targets, ...common]);
    const plainId = /run #(\d+) \(candidate/.exec(plain.stderr)?.[1];
    assert.ok(plainId !== undefined, plain.stderr);
    const bad = ecocheck(['bisect', '--from-run', plainId, '--state-dir', state, ...sandboxArgs]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--from-run \d+: the candidate \(1\.0\) was not built from a compiler source tree/);
  } finally {
    eco.dispose();
    rmSync(work, { recursive: true, force: true });
  }
});

test('a commit where the compiler does not build is skipped, as git bisect skip: the candidates are said when it hides the answer', () => {
  const eco = instantiateEcosystem();
  const work = mkdtempSync(join(tmpdir(), 'ecocheck-bisect-'));
  const state = join(work, 'state');
  try {
    const dir = join(work, 'fakeml');
    mkdirSync(dir);
    git(dir, 'init', '-q', '-b', 'main');
    const release = join(eco.root, 'packages', 'ocaml-base-compiler', 'ocaml-base-compiler.1.0', 'files');
    for (const f of ['Makefile', 'compiler.in', 'stdlib.fml']) writeFileSync(join(dir, f), readFileSync(join(release, f)));
    writeFileSync(join(dir, 'VERSION'), '1.0\n');
    const commits: string[] = [];
    const commit = (subject: string) => {
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '-m', subject);
      commits.push(git(dir, 'rev-parse', 'HEAD'));
    };
    const makefile = readFileSync(join(dir, 'Makefile'), 'utf8');
    const compiler = readFileSync(join(dir, 'compiler.in'), 'utf8');
    commit('Release fakeml 1.0');
    writeFileSync(join(dir, 'README'), 'fakeml\n');
    commit('Add a README');
    writeFileSync(
      join(dir, 'Makefile'),
      makefile.replace('stdlib.fmo: stdlib.fml compiler', 'stdlib.fmo: stdlib.fml compiler no-such-file'),
    );
    commit('Reorganise the build (broken)');
    writeFileSync(join(dir, 'Makefile'), makefile);
    writeFileSync(
      join(dir, 'compiler.in'),
      compiler.replace(
        'let\\ effect\\ *|let\\ effect=*)\n        if [ $MAJOR -ge 2 ]; then',
        'let\\ effect\\ *|let\\ effect=*)\n        if true; then',
      ),
    );
    commit('Fix the build; make effect a keyword');
    writeFileSync(join(dir, 'README'), 'fakeml, the fixture compiler\n');
    commit('Expand the README');

    const r = ecocheck([
      'bisect',
      'chain-a',
      '--compiler-tree',
      dir,
      '--good',
      commits[0],
      '--bad',
      'main',
      '--format',
      'json',
      '--repo',
      eco.root,
      '--state-dir',
      state,
      '--jobs',
      '2',
      ...sandboxArgs,
    ]);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as JsonBisect & { findings: { candidates: { sha: string }[] }[] };
    const skipped = report.steps.find((s) => s.commit.sha === commits[2]);
    assert.deepEqual(skipped?.verdicts, { 'chain-a': 'skip' }, 'the broken commit was tried and skipped');
    assert.equal(report.findings[0].outcome, 'candidates');
    assert.deepEqual(
      report.findings[0].candidates.map((c) => c.sha),
      [commits[2], commits[3]],
    );
    const md = ecocheck([
      'bisect',
      'chain-a',
      '--compiler-tree',
      dir,
      '--good',
      commits[0],
      '--bad',
      'main',
      '--format',
      'markdown',
      '--repo',
      eco.root,
      '--state-dir',
      state,
      ...sandboxArgs,
    ]);
    assert.match(
      md.stdout,
      /first bad commit is one of `[0-9a-f]{12}` Reorganise the build \(broken\); `[0-9a-f]{12}` Fix the build; make effect a keyword \(skipped commits leave it open\)/,
    );
  } finally {
    eco.dispose();
    rmSync(work, { recursive: true, force: true });
  }
});
