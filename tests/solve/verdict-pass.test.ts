/**
 * The verdict pass of `installable --all-versions` (package-solver.ts `verdictPass`): installations
 * found without search (universe.ts `extendToInstallation`, checked by `isInstallation`), the search
 * only where that fails, every verdict before any reason; and the forced packages as the backbone
 * (`forcedPackages`), so that reasons do not depend on which queries came first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSolver } from '../../src/solve/package-solver.js';
import { Universe, type UniverseRules } from '../../src/solve/universe.js';
import { filterDependencyFormula } from '../../src/opam/filter.js';
import { packageId, type OpamPackage } from '../../src/opam/package-model.js';
import { compilers, pkg, repo, randomPackages } from '../support/solve-packages.js';
import { seededRandom as rng } from '../support/prng.js';

const rules: UniverseRules = {
  dependencyLookup: () => () => undefined,
  isAvailable: () => true,
  testEverywhere: false,
  conflictClasses: true,
};

function universe(packages: OpamPackage[], invariant: string | null = null): { u: Universe; at: (id: string) => number } {
  // The invariant written as a dependency formula (what a compiler specification resolves to).
  const formula =
    invariant === null ? null : filterDependencyFormula(pkg('invariant.0', { depends: invariant }).depends, () => undefined, false);
  const u = new Universe(repo(...packages).packages, rules, formula);
  const at = (id: string): number => {
    const i = u.indexById.get(id);
    if (i === undefined) throw new Error(`no ${id}`);
    return i;
  };
  return { u, at };
}

test('isInstallation checks every rule of the problem: dependencies, one version per name, conflicts, classes, the invariant', () => {
  const { u, at } = universe(
    [
      pkg('a.1', { depends: '"b" {>= "2"}' }),
      pkg('b.1'),
      pkg('b.2'),
      pkg('c.1', { conflicts: '"b" {= "2"}' }),
      pkg('x.1', { conflictClass: ['k'] }),
      pkg('y.1', { conflictClass: ['k'] }),
      pkg('z.1', { depends: '"b"' }),
      pkg('z.2', { depends: '"b"' }),
    ],
    '"z"',
  );
  const is = (...ids: string[]) => u.isInstallation(ids.map(at));
  assert.equal(is('z.2', 'b.2', 'a.1'), true);
  assert.equal(is('z.2', 'b.1', 'a.1'), false, 'a.1 needs b >= 2');
  assert.equal(is('z.2', 'a.1'), false, 'z.2 and a.1 need b');
  assert.equal(is('z.2', 'b.1', 'b.2'), false, 'two versions of b');
  assert.equal(is('z.2', 'b.2', 'c.1'), false, 'c.1 conflicts with b.2');
  assert.equal(is('z.2', 'b.1', 'c.1'), true);
  assert.equal(is('z.2', 'b.1', 'x.1', 'y.1'), false, 'x and y share a conflict-class');
  assert.equal(is('b.1'), false, 'the invariant wants a z');
});

test('extendToInstallation: the version swapped in, what is missing added or replaced, and no search', () => {
  const { u, at } = universe(
    [
      pkg('lib.1'),
      pkg('lib.2'),
      pkg('dep.1'),
      pkg('t.1', { depends: '"lib" {= "1"}' }),
      pkg('t.2', { depends: '"lib" "dep"' }),
      pkg('t.3', { depends: '"lib" {= "2"}' }),
      pkg('k.1', { depends: '"lib" {= "1"}' }),
      pkg('t.4', { depends: '"lib" {= "2"} "k"' }),
      // w.1 needs a or b; a.1 (preferred) leads two steps on to d.1, which conflicts with w.1; b.1 would do.
      pkg('a.1', { depends: '"c"' }),
      pkg('b.1'),
      pkg('c.1', { depends: '"d"' }),
      pkg('d.1', { conflicts: '"w"' }),
      pkg('w.1', { depends: '"a" | "b"' }),
    ],
    null,
  );
  const names = (l: number[] | null) => (l === null ? null : l.map((i) => packageId(u.packages[i])).sort());
  const base = [at('t.1'), at('lib.1')];
  assert.deepEqual(names(u.extendToInstallation(base, at('t.2'))), ['dep.1', 'lib.1', 't.2']);
  // t.3 needs lib.2: the base's lib.1 is replaced (t.1, which needed it, is gone with the swap).
  assert.deepEqual(names(u.extendToInstallation(base, at('t.3'))), ['lib.2', 't.3']);
  // Never the target's own name: t.1 needs lib.1, and lib.2 is the target.
  assert.equal(u.extendToInstallation(base, at('lib.2')), null);
  // t.4 and k.1 want two versions of lib: replacements go back and forth, bounded; no installation exists.
  assert.equal(u.extendToInstallation(base, at('t.4')), null);
  assert.equal(u.solveTarget(at('t.4'), false), null);
  // Greedy, not a search: a.1 is taken, and d.1 then has nowhere to go; a search finds b.1.
  assert.equal(u.extendToInstallation([], at('w.1')), null);
  assert.deepEqual(names(u.solveTarget(at('w.1'), false)), ['b.1', 'w.1']);
});

test('forcedPackages is the backbone, also where propagation alone does not see it', () => {
  // The compiler needs a or b, and both need c: c is in every installation, which no clause says alone.
  const { u } = universe(
    [pkg('comp.1', { depends: '"a" | "b"' }), pkg('a.1', { depends: '"c"' }), pkg('b.1', { depends: '"c"' }), pkg('c.1'), pkg('c.2')],
    '"comp"',
  );
  const forced = u.forcedPackages().map((i) => packageId(u.packages[i]));
  assert.ok(forced.includes('comp.1'));
  assert.ok(!forced.includes('a.1') && !forced.includes('b.1'));
  assert.ok(!forced.includes('c.1') && !forced.includes('c.2'), 'either version of c will do');
  const { u: u2 } = universe(
    [pkg('comp.1', { depends: '"a" | "b"' }), pkg('a.1', { depends: '"c"' }), pkg('b.1', { depends: '"c"' }), pkg('c.1')],
    '"comp"',
  );
  assert.deepEqual(
    u2.forcedPackages().map((i) => packageId(u2.packages[i])),
    ['c.1', 'comp.1'],
  );
});

test('all-versions verdicts equal one search per package, on random repositories with a compiler and conflict classes', () => {
  const rand = rng(77);
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (let round = 0; round < 40; round++) {
    const all = randomPackages(rand, { names, maxVersions: 3, depend: 0.25, alternative: 0.33, conflict: 0.4 });
    const load = repo(...compilers('4.14.0', '5.3.0'), ...all);
    const pass = createSolver(load, { compiler: '5.3.0' }).installableTargets('all-versions');
    const one = createSolver(load, { compiler: '5.3.0' });
    for (const r of pass) {
      assert.equal(r.outcome.installable, one.isInstallable(r.pkg), `round ${round}: ${packageId(r.pkg)}`);
      if (r.outcome.installable) {
        // Still opam's solution when read (the pass only decides verdicts).
        const o = one.solve(r.pkg);
        assert.ok(o.installable);
        if (o.installable) assert.deepEqual(r.outcome.solution.packages.map(packageId), o.solution.packages.map(packageId));
      }
    }
  }
});

test('all-versions reasons do not depend on the queries asked before', () => {
  const rand = rng(5);
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  for (let round = 0; round < 60; round++) {
    const all = randomPackages(rand, { names, maxVersions: 3, depend: 0.3, alternative: 0.4, conflict: 0.5 });
    // The compiler needs one of two packages that both need `a` (which `a` the random draw decides):
    // what every installation holds is more than what propagation sees.
    const compiler = [
      pkg('ocaml-base-compiler.5.3.0', { flags: ['compiler'], conflictClass: ['ocaml-core-compiler'], depends: '"via-x" | "via-y"' }),
      pkg('ocaml.5.3.0', { depends: '"ocaml-base-compiler" {= "5.3.0"}' }),
      pkg('via-x.1', { depends: '"a"' }),
      pkg('via-y.1', { depends: '"a"' }),
    ];
    const load = repo(...compiler, ...all);
    const reasons = (warm: (s: ReturnType<typeof createSolver>) => void) => {
      const s = createSolver(load, { compiler: '5.3.0' });
      warm(s);
      return s.installableTargets('all-versions').map((r) => `${packageId(r.pkg)}: ${r.outcome.installable ? 'ok' : r.outcome.reason}`);
    };
    const fresh = reasons(() => {});
    const warmed = reasons((s) => {
      for (const p of [...all].reverse()) s.isInstallable(p);
    });
    assert.deepEqual(warmed, fresh, `round ${round}`);
  }
});
