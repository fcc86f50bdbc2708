import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashDirectory, hashFilesDir, hashPinnedDirectory } from '../../src/plan/files-hash.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import type { Plan } from '../../src/plan/job.js';
import { parsePin } from '../../src/opam/pin.js';
import { applyPins } from '../../src/opam/pinned-repository.js';
import { findPackage, loadRepositories, type RepositoryLoad } from '../../src/opam/repository.js';
import { createSolver } from '../../src/solve/package-solver.js';
import { instantiateEcosystem, type EcosystemCopy } from '../support/fixture-ecosystem.js';

let eco: EcosystemCopy;
let load: RepositoryLoad;
let work: string;

before(() => {
  eco = instantiateEcosystem();
  load = loadRepositories([eco.root]);
  work = mkdtempSync(join(tmpdir(), 'ecocheck-pin-key-test-'));
});

after(() => {
  eco.dispose();
  rmSync(work, { recursive: true, force: true });
});

function write(path: string, content: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

test('the directory hash: paths, contents, the executable bit and link targets; a plain file hashes as before', () => {
  const dir = join(work, 'h');
  write(join(dir, 'a.txt'), 'A');
  write(join(dir, 'sub', 'b.txt'), 'B');
  // The format of the files/ hash before modes and links were told apart, for plain files.
  const legacy = createHash('sha256').update('a.txt\x001\x00').update('A').update('sub/b.txt\x001\x00').update('B').digest('hex');
  assert.equal(hashFilesDir(dir), legacy);
  assert.equal(hashDirectory(dir), legacy);
  assert.equal(hashFilesDir(null), '');
  assert.equal(hashDirectory(join(work, 'nothing-here')), '');

  mkdirSync(join(dir, 'empty-dir'));
  assert.equal(hashDirectory(dir), legacy, 'an empty directory adds nothing');
  chmodSync(join(dir, 'a.txt'), 0o755);
  const exec = hashDirectory(dir);
  assert.notEqual(exec, legacy, 'the executable bit counts');
  chmodSync(join(dir, 'a.txt'), 0o600);
  assert.equal(hashDirectory(dir), legacy, 'other mode bits do not');

  // A link is hashed by its target, never followed.
  const outside = join(work, 'outside.txt');
  write(outside, 'one');
  symlinkSync(outside, join(dir, 'link'));
  const linked = hashDirectory(dir);
  write(outside, 'two');
  assert.equal(hashDirectory(dir), linked, "the link's referent is not read");
  unlinkSync(join(dir, 'link'));
  symlinkSync('a.txt', join(dir, 'link'));
  assert.notEqual(hashDirectory(dir), linked, 'its target is');
  symlinkSync(join(work, 'h', 'sub'), join(dir, 'dirlink'));
  assert.notEqual(hashDirectory(dir), hashDirectory(dir, { exclude: (n) => n === 'dirlink' }));
});

test("a pinned directory's hash leaves out what opam's copy leaves out (.git, _build, _opam, .#*)", () => {
  const dir = join(work, 'checkout');
  write(join(dir, 'src', 'x.ml'), 'let x = 1');
  const h = hashPinnedDirectory(dir);
  write(join(dir, '_build', 'default', 'x.cmx'), 'junk');
  write(join(dir, 'src', '_build', 'log'), 'junk');
  write(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main');
  write(join(dir, '_opam', 'bin', 'ocaml'), 'junk');
  write(join(dir, '.#x.ml'), 'emacs lock');
  assert.equal(hashPinnedDirectory(dir), h);
  assert.notEqual(hashDirectory(dir), h, 'the files/ hash reads everything');
  write(join(dir, 'src', 'x.ml'), 'let x = 2');
  assert.notEqual(hashPinnedDirectory(dir), h);
});

function keysById(plan: Plan): Map<string, string> {
  return new Map([...plan.jobs.values()].map((j) => [j.id, j.key]));
}

test("editing a pinned directory changes its key and its reverse dependencies' keys, nothing else's", () => {
  const dir = join(work, 'chain-a-checkout');
  write(join(dir, 'chain_a.fml'), '(* pinned *)\nrequire stdext\nlet a = 1\n');
  // The repository's opam file, without its extra-files (the source is in the checkout).
  write(join(dir, 'opam'), 'opam-version: "2.0"\ndepends: ["ocaml" "stdext"]\nbuild: ["compiler" "-o" "chain-a.fmo" "chain_a.fml"]\n');
  const view = applyPins(load, [parsePin(`chain-a=${dir}`)]);
  const plan = () => {
    const solver = createSolver(view, { compiler: '1.0' });
    const targets = ['chain-c', 'legacy-lib', 'depopt-user', 'stdext'].map((n) => {
      const target = findPackage(view, n)!;
      return { target, outcome: solver.solve(target) };
    });
    return keysById(buildPlan(targets, { builderVersion: 'test', platform: { ...solver.variables } }));
  };
  const before = plan();
  assert.deepEqual([...before.keys()].sort(), [
    'chain-a.1.0',
    'chain-b.1.0',
    'chain-c.1.0',
    'depopt-user.1.0',
    'legacy-lib.1.0',
    'ocaml-base-compiler.1.0',
    'ocaml.1.0',
    'stdext.1.0',
  ]);
  assert.deepEqual(plan(), before, 'the same content, the same keys');
  write(join(dir, '_build', 'chain-a.fmo'), 'built in the checkout');
  assert.deepEqual(plan(), before, 'a build in the checkout does not count');

  write(join(dir, 'chain_a.fml'), '(* pinned, edited *)\nrequire stdext\nlet a = 2\n');
  const after = plan();
  const changed = [...before.keys()].filter((id) => before.get(id) !== after.get(id)).sort();
  assert.deepEqual(changed, ['chain-a.1.0', 'chain-b.1.0', 'chain-c.1.0']);

  // Unpinned, chain-a's job is another one (the repository's source), its dependents' too.
  const solver = createSolver(load, { compiler: '1.0' });
  const target = findPackage(load, 'chain-c')!;
  const unpinned = keysById(
    buildPlan([{ target, outcome: solver.solve(target) }], { builderVersion: 'test', platform: { ...solver.variables } }),
  );
  assert.notEqual(unpinned.get('chain-a.1.0'), before.get('chain-a.1.0'));
  assert.equal(unpinned.get('stdext.1.0'), before.get('stdext.1.0'));
});

test('a URL pin keys on its URL', () => {
  const key = (url: string) => {
    const view = applyPins(load, [parsePin(`stdext=${url}`)]);
    const solver = createSolver(view, { compiler: '1.0' });
    const target = findPackage(view, 'stdext')!;
    return keysById(buildPlan([{ target, outcome: solver.solve(target) }], { builderVersion: 'test', platform: { ...solver.variables } }));
  };
  const a = key('https://example.org/stdext-a.tgz');
  const b = key('https://example.org/stdext-b.tgz');
  assert.notEqual(a.get('stdext.1.0'), b.get('stdext.1.0'));
  assert.equal(a.get('ocaml.1.0'), b.get('ocaml.1.0'));
});
