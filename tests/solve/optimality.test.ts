/**
 * The ways around the optimisation loop (issue #12's speed): the cheap proof that a first installation
 * is optimal (`src/solve/optimality.ts`) and the reuse of another target's optimum
 * (`Universe.sharedOptimum`), and the lower bound from cores (`src/solve/core-lower-bound.ts`) that ends the
 * loop without its last, proving, solve. All must give what the loop alone gives; the cases below include ones
 * where a naive rule would give a worse installation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSolver, type SolveOptions } from '../../src/solve/package-solver.js';
import { packageId, type OpamPackage } from '../../src/opam/package-model.js';
import { compilers, pkg, repo, randomPackages } from '../support/solve-packages.js';
import { seededRandom as rng } from '../support/prng.js';

type Load = { packages: Map<string, OpamPackage[]> };

function find(load: Load, id: string): OpamPackage {
  for (const l of load.packages.values()) for (const p of l) if (packageId(p) === id) return p;
  throw new Error(`no ${id}`);
}

function ids(s: ReturnType<typeof createSolver>, target: OpamPackage): string[] {
  const o = s.solve(target);
  assert.ok(o.installable, `${packageId(target)} is installable`);
  return o.installable ? o.solution.packages.map(packageId).sort() : [];
}

const LOOP_ONLY: SolveOptions['optimisationShortcuts'] = { proof: false, sharing: false, cores: false };

test('a first installation with nothing to choose is proved optimal without the loop', () => {
  const load = repo(...compilers('5.3.0'), pkg('t.1', { depends: '"a" "ocaml"' }), pkg('a.1'), pkg('a.2', { depends: '"b"' }), pkg('b.1'));
  const s = createSolver(load, { compiler: '5.3.0' });
  assert.deepEqual(ids(s, find(load, 't.1')), ['a.2', 'b.1', 'ocaml-base-compiler.5.3.0', 'ocaml.5.3.0', 't.1']);
  assert.equal(s.stats.proved, 1);
});

test('a first installation that lags is not taken as proved: the loop finds the better one', () => {
  // The greedy first installation is a.2 + b.1 (lag 2); the optimum a.1 + b.3 (lag 1).
  const load = repo(
    ...compilers('5.3.0'),
    pkg('t.1', { depends: '"a" "b"' }),
    pkg('a.1'),
    pkg('a.2', { depends: '"b" {= "1"}' }),
    pkg('b.1'),
    pkg('b.2'),
    pkg('b.3'),
  );
  const s = createSolver(load, { compiler: '5.3.0' });
  assert.deepEqual(ids(s, find(load, 't.1')), ['a.1', 'b.3', 'ocaml-base-compiler.5.3.0', 't.1']);
  assert.equal(s.stats.proved, 0);
});

test('a versions-wide requirement narrowed by the compiler still proves the lag bound', () => {
  // lib.3 needs ocaml 5.4: not possible on a 5.3.0 switch, so lib.2 (lag 1) is the least lag.
  const load = repo(
    ...compilers('5.3.0', '5.4.0'),
    pkg('t.1', { depends: '"lib"' }),
    pkg('lib.1'),
    pkg('lib.2'),
    pkg('lib.3', { depends: '"ocaml" {>= "5.4.0"}' }),
  );
  const s = createSolver(load, { compiler: '5.3.0' });
  assert.deepEqual(ids(s, find(load, 't.1')), ['lib.2', 'ocaml-base-compiler.5.3.0', 't.1']);
  assert.equal(s.stats.proved, 1);
});

test("a leaf target on top of a solved dependency reuses that dependency's optimum", () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('u.1', { depends: '"a" "b"' }),
    pkg('a.1'),
    pkg('a.2', { depends: '"b" {= "1"}' }),
    pkg('b.1'),
    pkg('b.2'),
    pkg('b.3'),
    pkg('t.1', { depends: '"u" "a" "b"' }),
  );
  const s = createSolver(load, { compiler: '5.3.0' });
  // One universe for both (a verdict encodes the whole repository), as in a plan.
  assert.ok(s.isInstallable(find(load, 't.1')));
  const u = ids(s, find(load, 'u.1'));
  const t = ids(s, find(load, 't.1'));
  assert.equal(s.stats.shared, 1);
  assert.deepEqual(t, [...u, 't.1'].sort());
  // The loop alone, on a fresh solver, finds the same.
  assert.deepEqual(ids(createSolver(load, { compiler: '5.3.0', optimisationShortcuts: LOOP_ONLY }), find(load, 't.1')), t);
});

test('no reuse when the target itself can satisfy a requirement of the dependency (naively: one package too many)', () => {
  // u's optimum is u + x (t.2 would pull big in). For t.1, u's clause `t | x` is met by t.1 itself:
  // {t.1, u.1} (2 packages) beats u's optimum plus t.1 (3 packages).
  const load = repo(
    ...compilers('5.3.0'),
    pkg('u.1', { depends: '"t" | "x"' }),
    pkg('x.1'),
    pkg('big.1'),
    pkg('t.1', { depends: '"u"' }),
    pkg('t.2', { depends: '"u" "big"' }),
  );
  const s = createSolver(load, { compiler: '5.3.0', optimisationShortcuts: { proof: false, sharing: true } });
  assert.ok(s.isInstallable(find(load, 't.1')));
  assert.deepEqual(ids(s, find(load, 'u.1')), ['ocaml-base-compiler.5.3.0', 'u.1', 'x.1']);
  assert.deepEqual(ids(s, find(load, 't.1')), ['ocaml-base-compiler.5.3.0', 't.1', 'u.1']);
  assert.equal(s.stats.shared, 0);
});

test("a target's own extra requirements, needed by nothing else, are added to the reused optimum", () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('u.1', { depends: '"a" "b"' }),
    pkg('a.1'),
    pkg('a.2', { depends: '"b" {= "1"}' }),
    pkg('b.1'),
    pkg('b.2'),
    pkg('b.3'),
    pkg('own.1'),
    pkg('t.1', { depends: '"u" "own" "a" "b"' }),
  );
  const s = createSolver(load, { compiler: '5.3.0', optimisationShortcuts: { proof: false, sharing: true } });
  assert.ok(s.isInstallable(find(load, 't.1')));
  const u = ids(s, find(load, 'u.1'));
  const t = ids(s, find(load, 't.1'));
  assert.equal(s.stats.shared, 1);
  assert.deepEqual(t, [...u, 'own.1', 't.1'].sort());
  assert.deepEqual(ids(createSolver(load, { compiler: '5.3.0', optimisationShortcuts: LOOP_ONLY }), find(load, 't.1')), t);
});

test('no reuse when an extra requirement of the target could meet one of the dependency (naively: one package too many)', () => {
  // u's optimum is u + x (y pulls z in). t.1 needs y anyway, and y meets u's `x | y`:
  // {t.1, u.1, y.1, z.1} (4 packages) beats u's optimum plus t.1, y.1, z.1 (5).
  const load = repo(
    ...compilers('5.3.0'),
    pkg('u.1', { depends: '"x" | "y"' }),
    pkg('x.1'),
    pkg('y.1', { depends: '"z"' }),
    pkg('z.1'),
    pkg('t.1', { depends: '"u" "y"' }),
  );
  const s = createSolver(load, { compiler: '5.3.0', optimisationShortcuts: { proof: false, sharing: true } });
  assert.ok(s.isInstallable(find(load, 't.1')));
  assert.deepEqual(ids(s, find(load, 'u.1')), ['ocaml-base-compiler.5.3.0', 'u.1', 'x.1']);
  assert.deepEqual(ids(s, find(load, 't.1')), ['ocaml-base-compiler.5.3.0', 't.1', 'u.1', 'y.1', 'z.1']);
  assert.equal(s.stats.shared, 0);
});

test("no reuse when the dependency's installation does not meet the target's own requirements", () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('u.1', { depends: '"lib"' }),
    pkg('lib.1'),
    pkg('lib.2'),
    pkg('t.1', { depends: '"u" "lib" {< "2"}' }),
  );
  const s = createSolver(load, { compiler: '5.3.0', optimisationShortcuts: { proof: false, sharing: true } });
  assert.ok(s.isInstallable(find(load, 't.1')));
  assert.deepEqual(ids(s, find(load, 'u.1')), ['lib.2', 'ocaml-base-compiler.5.3.0', 'u.1']);
  assert.deepEqual(ids(s, find(load, 't.1')), ['lib.1', 'ocaml-base-compiler.5.3.0', 't.1', 'u.1']);
  assert.equal(s.stats.shared, 0);
});

/** opam's version-lag per package, for criteria costs. */
function costOf(load: Load, chosen: readonly OpamPackage[]): number[] {
  const lag = new Map<OpamPackage, number>();
  for (const versions of load.packages.values()) {
    const avoided = (p: OpamPackage) => p.flags.includes('avoid-version');
    const order = [...versions.filter((p) => !avoided(p)), ...versions.filter(avoided)];
    order.forEach((p, k) => lag.set(p, order.length - k - 1));
  }
  return [chosen.filter((p) => p.flags.includes('avoid-version')).length, chosen.reduce((s, p) => s + (lag.get(p) ?? 0), 0), chosen.length];
}

test('with the shortcuts, every target of random repositories costs what the loop alone finds', () => {
  const rand = rng(4242);
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  let shortcuts = 0;
  let shared = 0;
  let checked = 0;
  for (let round = 0; round < 50; round++) {
    const all = randomPackages(rand, { names, maxVersions: 4, depend: 0.2, alternative: 0.3, conflict: 0.36, avoidVersion: 0.1 });
    const load = repo(...all);
    // One solver for all targets (optima remembered and shared); the loop alone on another.
    const fast = createSolver(load, { compiler: '', adminCheck: true });
    const slow = createSolver(load, { compiler: '', adminCheck: true, optimisationShortcuts: LOOP_ONLY });
    fast.isInstallable(all[0]); // the whole repository in one universe
    for (const target of [...all].reverse()) {
      const a = fast.solve(target);
      const b = slow.solve(target);
      assert.equal(a.installable, b.installable, `round ${round}: ${packageId(target)}`);
      if (!a.installable || !b.installable) continue;
      assert.deepEqual(costOf(load, a.solution.packages), costOf(load, b.solution.packages), `round ${round}: ${packageId(target)}`);
      checked++;
    }
    shortcuts += fast.stats.proved + fast.stats.shared;
    shared += fast.stats.shared;
  }
  assert.ok(checked > 100, `${checked} targets compared`);
  assert.ok(shortcuts > 50, `${shortcuts} solutions through a shortcut`);
  assert.ok(shared > 0, `${shared} solutions shared`);
});

test('three names of which one at most is at its newest: the cores bound the lag at 2 and end the loop', () => {
  // Pairwise conflicts among the newest versions: one of a, b, c at version 2, the other two lag. The
  // forced names alone bound the lag at 0 (the cheap proof fails); disjoint cores would find 1.
  const load = repo(
    ...compilers('5.3.0'),
    pkg('t.1', { depends: '"a" "b" "c"' }),
    pkg('a.1'),
    pkg('a.2', { conflicts: '"b" {= "2"} "c" {= "2"}' }),
    pkg('b.1'),
    pkg('b.2', { conflicts: '"c" {= "2"}' }),
    pkg('c.1'),
    pkg('c.2'),
  );
  const loop = createSolver(load, { compiler: '5.3.0', optimisationShortcuts: LOOP_ONLY });
  const cores = createSolver(load, { compiler: '5.3.0', optimisationShortcuts: { proof: false, sharing: false } });
  const expected = ids(loop, find(load, 't.1'));
  assert.deepEqual(expected, ['a.2', 'b.1', 'c.1', 'ocaml-base-compiler.5.3.0', 't.1']);
  assert.deepEqual(ids(cores, find(load, 't.1')), expected);
  assert.equal(loop.stats.coreProved, 0);
  assert.ok(cores.stats.coreProved >= 1, `${cores.stats.coreProved} levels proved by cores`);
});

test('a core found for one target is taken at once by another that forces the same names', () => {
  // Every version of x needs a, b and c, at most one of them at its newest: every target needing x
  // has the core "two of a, b, c lag" (a, b and c being installed, whatever else is): found once
  // through x (not through the target), the later targets that also need x take it without searching.
  const load = repo(
    ...compilers('5.3.0'),
    pkg('t.1', { depends: '"x"' }),
    pkg('u.1', { depends: '"x" "y"' }),
    pkg('v.1', { depends: '"y" "x"' }),
    pkg('x.1', { depends: '"a" "b" "c"' }),
    pkg('x.2', { depends: '"a" "b" "c"' }),
    pkg('y.1'),
    pkg('a.1'),
    pkg('a.2', { conflicts: '"b" {= "2"} "c" {= "2"}' }),
    pkg('b.1'),
    pkg('b.2', { conflicts: '"c" {= "2"}' }),
    pkg('c.1'),
    pkg('c.2'),
  );
  const loop = createSolver(load, { compiler: '5.3.0', optimisationShortcuts: LOOP_ONLY });
  const cores = createSolver(load, { compiler: '5.3.0', optimisationShortcuts: { proof: false, sharing: false } });
  cores.isInstallable(find(load, 'y.1')); // the whole repository in one universe, as a plan has it
  for (const id of ['t.1', 'u.1', 'v.1']) assert.deepEqual(ids(cores, find(load, id)), ids(loop, find(load, id)), id);
  assert.ok(cores.stats.coreReused >= 1, `${cores.stats.coreReused} cores reused`);
  assert.equal(loop.stats.coreReused, 0);
});

test('with the cores alone, every target of random repositories costs what the loop alone finds', () => {
  const rand = rng(2323);
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  let checked = 0;
  let proved = 0;
  let taken = 0;
  let reused = 0;
  for (let round = 0; round < 60; round++) {
    const all = randomPackages(rand, { names, maxVersions: 5, depend: 0.2, alternative: 0.35, conflict: 0.42, avoidVersion: 0.15 });
    const load = repo(...all);
    const cores = createSolver(load, { compiler: '', adminCheck: true, optimisationShortcuts: { proof: false, sharing: false } });
    const slow = createSolver(load, { compiler: '', adminCheck: true, optimisationShortcuts: LOOP_ONLY });
    cores.isInstallable(all[0]);
    for (const target of [...all].reverse()) {
      const a = cores.solve(target);
      const b = slow.solve(target);
      assert.equal(a.installable, b.installable, `round ${round}: ${packageId(target)}`);
      if (!a.installable || !b.installable) continue;
      assert.deepEqual(costOf(load, a.solution.packages), costOf(load, b.solution.packages), `round ${round}: ${packageId(target)}`);
      checked++;
    }
    proved += cores.stats.coreProved;
    taken += cores.stats.coreTaken;
    reused += cores.stats.coreReused;
  }
  assert.ok(checked > 100, `${checked} targets compared`);
  assert.ok(proved > 50, `${proved} levels proved by cores`);
  // Some of them with the cores' own installation (better than the first one found).
  assert.ok(taken > 20, `${taken} installations of the cores taken`);
  // Cores shared between the targets of a repository (those forcing the same names).
  assert.ok(reused > 10, `${reused} cores reused`);
});
