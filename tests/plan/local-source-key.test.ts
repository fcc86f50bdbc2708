/**
 * A source without a checksum in the job key (src/plan/job-key.ts `localSourcesKey`): an allowed local
 * one adds its content — a file's bytes, a folder's hash, the commit a git ref resolves to — so editing
 * it changes the key of its job and of the jobs built on it, and nothing else's; a refused one is
 * never read; a checksummed one is keyed by its checksum as before; a remote one is `unverifiable`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPlan } from '../../src/plan/build-plan.js';
import { hasUnverifiableSource } from '../../src/plan/job-key.js';
import type { Plan } from '../../src/plan/job.js';
import type { OpamPackage } from '../../src/opam/package-model.js';
import { fakePackage, fakeTargets } from '../support/plan-fixture-packages.js';

let work: string;
let root: string;
let outside: string;

function git(dir: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', '-c', 'safe.directory=*', ...args],
    { cwd: dir, encoding: 'utf8' },
  ).trim();
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ecocheck-local-key-'));
  root = join(work, 'repo');
  outside = join(work, 'outside');
  mkdirSync(join(root, 'distfiles', 'tree'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'distfiles', 'data.txt'), 'version 1\n');
  writeFileSync(join(root, 'distfiles', 'tree', 'x.ml'), 'let x = 1\n');
  writeFileSync(join(outside, 'secret'), 'secret 1\n');
  symlinkSync(join(outside, 'secret'), join(root, 'distfiles', 'link'));
  const src = join(root, 'gitsrc');
  mkdirSync(src);
  git(src, 'init', '-q');
  writeFileSync(join(src, 'f'), '1');
  git(src, 'add', 'f');
  git(src, 'commit', '-q', '-m', 'one');
});

after(() => rmSync(work, { recursive: true, force: true }));

const deps: Record<string, string[]> = {
  'comp.1': [],
  'a.1': ['comp.1'],
  'b.1': ['a.1'],
  'c.1': ['comp.1'],
  'd.1': ['comp.1'],
  'e.1': ['comp.1'],
  'g.1': ['comp.1'],
  'l.1': ['comp.1'],
};

function packages(): Map<string, OpamPackage> {
  const f = (p: string) => `file://${join(root, p)}`;
  return new Map([
    ['a.1', fakePackage('a.1', `opam-version: "2.0"\nurl { src: "${f('distfiles/data.txt')}" }\n`)],
    [
      'd.1',
      fakePackage(
        'd.1',
        `opam-version: "2.0"\nurl { src: "${f('distfiles/data.txt')}" checksum: "md5=00000000000000000000000000000000" }\n`,
      ),
    ],
    ['e.1', fakePackage('e.1', `opam-version: "2.0"\nextra-source "tree" { src: "${f('distfiles/tree')}" }\n`)],
    ['g.1', fakePackage('g.1', `opam-version: "2.0"\nurl { src: "git+file://${join(root, 'gitsrc')}#main" }\n`)],
    ['l.1', fakePackage('l.1', `opam-version: "2.0"\nurl { src: "${f('distfiles/link')}" }\n`)],
  ]);
}

function keys(localSourceRoots?: string[]): Map<string, string> {
  const ctx = { builderVersion: 't', platform: { os: 'linux' }, ...(localSourceRoots ? { localSourceRoots } : {}) };
  const plan: Plan = buildPlan(fakeTargets(['b.1', 'c.1', 'd.1', 'e.1', 'g.1', 'l.1'], deps, packages()), ctx);
  return new Map([...plan.jobs.values()].map((j) => [j.id, j.key]));
}

function changed(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...before.keys()].filter((id) => before.get(id) !== after.get(id)).sort();
}

test('editing a checksum-less local file changes the key of its job and of its reverse dependencies only', () => {
  const k1 = keys([root]);
  assert.deepEqual(changed(k1, keys([root])), [], 'keys are stable');
  writeFileSync(join(root, 'distfiles', 'data.txt'), 'version 2\n');
  const k2 = keys([root]);
  // d.1 names the same file with a checksum: its key is the checksum, as before.
  assert.deepEqual(changed(k1, k2), ['a.1', 'b.1']);
  writeFileSync(join(root, 'distfiles', 'data.txt'), 'version 1\n');
  assert.deepEqual(changed(k1, keys([root])), [], 'the same content, the same keys');
});

test('a checksum-less folder source is hashed like a pinned folder; a git source by the commit its ref names', () => {
  const k1 = keys([root]);
  writeFileSync(join(root, 'distfiles', 'tree', 'x.ml'), 'let x = 2\n');
  const k2 = keys([root]);
  assert.deepEqual(changed(k1, k2), ['e.1']);
  // An uncommitted edit is not what a clone at #main gets: no change; a commit is.
  const src = join(root, 'gitsrc');
  writeFileSync(join(src, 'f'), '2');
  assert.deepEqual(changed(k2, keys([root])), []);
  git(src, 'commit', '-q', '-am', 'two');
  assert.deepEqual(changed(k2, keys([root])), ['g.1']);
});

test('a refused local source is never read: its content does not reach the key (and a link inside the folder to a file outside is refused)', () => {
  const allowed = keys([root]);
  writeFileSync(join(outside, 'secret'), 'secret 2\n');
  assert.deepEqual(changed(allowed, keys([root])), [], 'the link to outside is not followed');
  const none = keys();
  assert.notEqual(none.get('a.1'), allowed.get('a.1'), 'refused: keyed by its address alone');
  writeFileSync(join(root, 'distfiles', 'data.txt'), 'version 3\n');
  assert.deepEqual(changed(none, keys()), [], 'nothing allowed: nothing read');
  writeFileSync(join(root, 'distfiles', 'data.txt'), 'version 1\n');
});

test('packages without local checksum-less sources keep the keys they had', () => {
  // c.1 has no url at all; d.1 a checksum: the key formula adds nothing for them.
  const ctx = { builderVersion: 't', platform: { os: 'linux' } };
  const plain = buildPlan(fakeTargets(['c.1', 'd.1'], deps, packages()), ctx);
  const withRoots = buildPlan(fakeTargets(['c.1', 'd.1'], deps, packages()), { ...ctx, localSourceRoots: [root] });
  assert.deepEqual([...plain.jobs.keys()], [...withRoots.jobs.keys()]);
});

test('a remote source without a checksum is unverifiable; with a checksum, or a git commit hash, it is not', () => {
  const pkg = (url: string) => fakePackage('r.1', `opam-version: "2.0"\nurl { ${url} }\n`);
  assert.equal(hasUnverifiableSource(pkg('src: "https://example.org/r.tgz"')), true);
  assert.equal(hasUnverifiableSource(pkg('src: "https://example.org/r.tgz" checksum: "md5=00000000000000000000000000000000"')), false);
  assert.equal(hasUnverifiableSource(pkg('src: "git+https://example.org/r.git#main"')), true);
  assert.equal(hasUnverifiableSource(pkg('src: "git+https://example.org/r.git#0123456789abcdef0123456789abcdef01234567"')), false);
  assert.equal(hasUnverifiableSource(pkg(`src: "file://${root}/distfiles/data.txt"`)), false, 'a local one is keyed by its content');
  assert.equal(
    hasUnverifiableSource(fakePackage('x.1', `opam-version: "2.0"\nextra-source "p" { src: "https://example.org/p.diff" }\n`)),
    true,
  );
  assert.equal(hasUnverifiableSource(fakePackage('n.1')), false);
});
