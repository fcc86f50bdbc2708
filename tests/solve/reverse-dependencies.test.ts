import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRepositories, type RepositoryLoad } from '../../src/opam/repository.js';
import { createSolver } from '../../src/solve/package-solver.js';
import { reverseDependencies, verifies, type ReverseDependency } from '../../src/solve/reverse-dependencies.js';
import { parsePin } from '../../src/opam/pin.js';
import { applyPins } from '../../src/opam/pinned-repository.js';
import { instantiateEcosystem, type EcosystemCopy } from '../support/fixture-ecosystem.js';
import { snapshotRepo } from '../support/snapshot.js';
import { skipWithoutSnapshot } from '../support/missing-setup.js';

let eco: EcosystemCopy;
let load: RepositoryLoad;

/** Packages added to the ecosystem copy for the cases it lacks (with-test, or-formulas, versions). */
const EXTRA: Record<string, string> = {
  'tested.1.0': 'depends: ["ocaml" "stdext" "chain-b" {with-test}]',
  'either.1.0': 'depends: ["ocaml" ("chain-a" | "legacy-lib")]',
  'excluded.1.0': 'depends: ["ocaml" ("chain-a" {>= "2.0"} | "legacy-lib")]',
  'post-only.1.0': 'depends: ["ocaml" "chain-a" {post}]',
  'doc-only.1.0': 'depends: ["ocaml" "chain-a" {with-doc}]',
  'moved-on.1.0': 'depends: ["ocaml" "chain-a"]',
  'moved-on.2.0': 'depends: ["ocaml" {>= "2.0"}]',
  'never.1.0': 'depends: ["ocaml" "chain-a" "no-such-package"]',
  'top.1.0': 'depends: ["ocaml" "chain-c" "tested"]',
};

before(() => {
  eco = instantiateEcosystem();
  for (const [id, depends] of Object.entries(EXTRA)) {
    const name = id.slice(0, id.indexOf('.'));
    mkdirSync(join(eco.root, 'packages', name, id), { recursive: true });
    writeFileSync(join(eco.root, 'packages', name, id, 'opam'), `opam-version: "2.0"\n${depends}\n`);
  }
  load = loadRepositories([eco.root]);
});

after(() => eco.dispose());

const ids = (r: ReverseDependency[]) => r.map((d) => `${d.pkg.name}.${d.pkg.version}@${d.depth}`);

test('direct reverse dependencies: build depends of the installable latest version, not post, doc or uninstallable ones', () => {
  const solver = createSolver(load, { compiler: '1.0' });
  assert.deepEqual(ids(reverseDependencies(solver, 'chain-a')), ['chain-b.1.0@1', 'either.1.0@1', 'moved-on.1.0@1']);
  assert.deepEqual(ids(reverseDependencies(solver, 'stdext')), ['chain-a.1.0@1', 'tested.1.0@1']);
  // With 2.0, moved-on's latest installable version no longer depends on chain-a.
  assert.deepEqual(ids(reverseDependencies(createSolver(load, { compiler: '2.0' }), 'chain-a')), ['chain-b.1.0@1', 'either.1.0@1']);
  // The compiler's {post} dependency on ocaml does not make it a reverse dependency; needs-new is not installable with 1.0.
  const ocaml = reverseDependencies(solver, 'ocaml').map((d) => d.pkg.name);
  assert.ok(!ocaml.includes('ocaml-base-compiler') && !ocaml.includes('needs-new') && !ocaml.includes('never'));
  assert.deepEqual(ocaml, [
    'bad-checksum',
    'broken-install',
    'chain-a',
    'chain-b',
    'chain-c',
    'depopt-user',
    'doc-only',
    'either',
    'excluded',
    'installer',
    'legacy-lib',
    'moved-on',
    'optional-feature',
    'patched',
    'post-only',
    'stdext',
    'tested',
    'top',
  ]);
});

test('with depth, breadth first and each once at its nearest depth; with-test dependencies only when asked', () => {
  const solver = createSolver(load, { compiler: '1.0' });
  assert.deepEqual(ids(reverseDependencies(solver, 'chain-a', { depth: 2 })), [
    'chain-b.1.0@1',
    'either.1.0@1',
    'moved-on.1.0@1',
    'chain-c.1.0@2',
  ]);
  assert.deepEqual(ids(reverseDependencies(solver, 'chain-a', { depth: 3 })), [
    'chain-b.1.0@1',
    'either.1.0@1',
    'moved-on.1.0@1',
    'chain-c.1.0@2',
    'top.1.0@3',
  ]);
  assert.deepEqual(ids(reverseDependencies(solver, 'chain-a', { depth: 3, withTest: true })), [
    'chain-b.1.0@1',
    'either.1.0@1',
    'moved-on.1.0@1',
    'chain-c.1.0@2',
    'tested.1.0@2',
    'top.1.0@3',
  ]);
  assert.deepEqual(
    reverseDependencies(solver, 'chain-a', { depth: Infinity, withTest: true }),
    reverseDependencies(solver, 'chain-a', { depth: 3, withTest: true }),
  );
  const top = reverseDependencies(solver, 'chain-a', { depth: 3, withTest: true }).find((d) => d.pkg.name === 'top')!;
  assert.deepEqual(top.via, ['chain-c', 'tested'], 'every depth-2 name it depends on');
  assert.deepEqual(ids(reverseDependencies(solver, 'chain-b', { withTest: true })), ['chain-c.1.0@1', 'tested.1.0@1']);
  assert.deepEqual(ids(reverseDependencies(solver, 'chain-b')), ['chain-c.1.0@1']);
});

test("depopts count only when asked (opam list's --depopts)", () => {
  const solver = createSolver(load, { compiler: '1.0' });
  assert.deepEqual(ids(reverseDependencies(solver, 'optional-feature')), []);
  assert.deepEqual(ids(reverseDependencies(solver, 'optional-feature', { depopts: true })), ['depopt-user.1.0@1']);
});

test('OpamFormula.verifies: a conjunction naming the package must hold for its version', () => {
  const f = (name: string, constraint: { op: '>=' | '<'; version: string } | null) => ({
    kind: 'atom' as const,
    atom: { name, constraint: constraint ? { kind: 'atom' as const, atom: constraint } : { kind: 'empty' as const } },
  });
  const or = { kind: 'or' as const, left: f('a', { op: '>=', version: '2.0' }), right: f('b', null) };
  assert.equal(verifies(or, 'a', '1.0'), false);
  assert.equal(verifies(or, 'a', '2.1'), true);
  assert.equal(verifies(or, 'b', '0.1'), true);
  assert.equal(verifies({ kind: 'and', left: f('c', null), right: or }, 'c', '1'), true);
  assert.equal(verifies(f('c', null), 'a', '1'), false);
});

test('on a pinned universe: the constraint is checked against the pinned version', () => {
  const dir = join(eco.root, 'packages', 'chain-a', 'chain-a.1.0');
  const view = applyPins(load, [parsePin(`chain-a.3.0=${dir}`)]);
  const solver = createSolver(view, { compiler: '1.0' });
  // excluded now depends on chain-a (3.0 >= 2.0).
  assert.deepEqual(ids(reverseDependencies(solver, 'chain-a')), ['chain-b.1.0@1', 'either.1.0@1', 'excluded.1.0@1', 'moved-on.1.0@1']);
});

test('an unknown name and a bad depth are errors', () => {
  const solver = createSolver(load, { compiler: '1.0' });
  assert.throws(
    () => reverseDependencies(solver, 'no-such-package'),
    (e: unknown) => e instanceof Error && /no such package/.test(e.message),
  );
  for (const depth of [0, -1, 1.5, NaN]) assert.throws(() => reverseDependencies(solver, 'chain-a', { depth }), /not a positive integer/);
});

test('on the real snapshot: fast enough for a widely used package', { skip: skipWithoutSnapshot() }, () => {
  const real = loadRepositories([snapshotRepo()]);
  const solver = createSolver(real, { compiler: '5.3.0' });
  // The universe is encoded once, for every installability verdict (a --latest run pays it too).
  const te = performance.now();
  solver.isInstallable(real.packages.get('fmt')!.at(-1)!);
  const encodeMs = performance.now() - te;
  const t0 = performance.now();
  const fmt = reverseDependencies(solver, 'fmt');
  const t1 = performance.now();
  const deep = reverseDependencies(solver, 'fmt', { depth: 2 });
  const t2 = performance.now();
  process.stderr.write(
    `revdeps fmt (universe encoded in ${Math.round(encodeMs)} ms): ${fmt.length} direct in ${Math.round(t1 - t0)} ms, ${deep.length} to depth 2 in ${Math.round(t2 - t1)} ms\n`,
  );
  assert.ok(t1 - t0 < 5000 && t2 - t1 < 5000, 'the search itself stays well under the encoding');
  assert.ok(fmt.length > 100);
  assert.ok(deep.length > fmt.length);
  assert.ok(fmt.every((d) => d.via[0] === 'fmt'));
});
