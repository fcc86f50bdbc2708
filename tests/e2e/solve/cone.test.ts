/**
 * A one-target solve encodes only its cone (`solutionCone`): the versions an installation of the
 * target can hold. Its solutions must be those of the whole repository's universe, `version-lag`
 * included, which counts every available version of a name, reached or not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSolver, type PackageSolver } from '../../../src/solve/package-solver.js';
import { packageId, type OpamPackage } from '../../../src/opam/package-model.js';
import type { SolveOutcome } from '../../../src/solve/solution.js';
import { loadRepositories } from '../../../src/opam/repository.js';
import { compilers, pkg, repo } from '../../support/solve-packages.js';
import { seededRandom as rng } from '../../support/prng.js';
import { snapshotRepo } from '../../support/snapshot.js';
import { skipWithoutSnapshot } from '../../support/missing-setup.js';

type Load = { packages: Map<string, OpamPackage[]> };

function find(load: Load, id: string): OpamPackage {
  for (const l of load.packages.values()) for (const p of l) if (packageId(p) === id) return p;
  throw new Error(`no ${id}`);
}

/** As in opam-repository, the compiler package requires its `ocaml` (post): the compiler forces it. */
function compiler(v: string): OpamPackage[] {
  return [
    pkg(`ocaml-base-compiler.${v}`, { flags: ['compiler'], conflictClass: ['ocaml-core-compiler'], depends: `"ocaml" {= "${v}" & post}` }),
    pkg(`ocaml.${v}`, { depends: `"ocaml-base-compiler" {= "${v}"}` }),
  ];
}

function text(o: SolveOutcome): string {
  return o.installable ? o.solution.packages.map(packageId).sort().join(' ') : 'uninstallable';
}

/** A solver on the whole repository's universe (the cones turned off by a whole-repository query). */
function wholeUniverse(load: Load, options: Parameters<typeof createSolver>[1]): PackageSolver {
  const s = createSolver(load, options);
  s.isInstallable([...load.packages.values()][0][0]);
  return s;
}

test('version-lag counts the versions of a name no constraint reaches: the cone keeps the whole universe optimum', () => {
  // t needs a {<= "2"} or b. a.3 is never a candidate, yet it makes a.2 lag by one, so b.1 (no lag)
  // is opam's choice; a universe without a.3 would see a tie and take the first alternative, a.2.
  const load = repo(...compilers('5.3.0'), pkg('t.1', { depends: '"a" {<= "2"} | "b"' }), pkg('a.1'), pkg('a.2'), pkg('a.3'), pkg('b.1'));
  const t = find(load, 't.1');
  const cone = createSolver(load, { compiler: '5.3.0' }).solve(t);
  assert.equal(text(cone), 'b.1 ocaml-base-compiler.5.3.0 t.1');
  assert.equal(text(cone), text(wholeUniverse(load, { compiler: '5.3.0' }).solve(t)));
});

test('an unreached version that is not available does not lag: the first alternative is kept', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('t.1', { depends: '"a" {<= "2"} | "b"' }),
    pkg('a.1'),
    pkg('a.2'),
    pkg('a.3', { available: 'os = "macos"' }),
    pkg('b.1'),
  );
  const t = find(load, 't.1');
  const cone = createSolver(load, { compiler: '5.3.0' }).solve(t);
  assert.equal(text(cone), 'a.2 ocaml-base-compiler.5.3.0 t.1');
  assert.equal(text(cone), text(wholeUniverse(load, { compiler: '5.3.0' }).solve(t)));
});

test('a version the compiler excludes still lags: the cone leaves it out, its name still counts it', () => {
  // The compiler forces ocaml.5.3.0: lib.3 (for ocaml < 5) is in no installation and not in the cone,
  // yet it is available, so lib.2 lags by one and other.1 (no lag, one package more) is opam's choice;
  // without lib.3, lib.2 would not lag and would win by the count.
  const load = repo(
    ...compiler('4.14.0'),
    ...compiler('5.3.0'),
    pkg('t.1', { depends: '"lib" | "other"' }),
    pkg('lib.1'),
    pkg('lib.2', { depends: '"ocaml"' }),
    pkg('lib.3', { depends: '"ocaml" {< "5.0"}' }),
    pkg('other.1', { depends: '"ocaml" {>= "4.14"} "x"' }),
    pkg('x.1'),
  );
  const t = find(load, 't.1');
  const cone = createSolver(load, { compiler: '5.3.0' }).solve(t);
  assert.equal(text(cone), 'ocaml-base-compiler.5.3.0 ocaml.5.3.0 other.1 t.1 x.1');
  assert.equal(text(cone), text(wholeUniverse(load, { compiler: '5.3.0' }).solve(t)));
});

test("a target's with-test dependencies are in its cone when asked, and only then", () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('t.1', { depends: '"a" "tester" {with-test}' }),
    pkg('a.1'),
    pkg('tester.1', { depends: '"a"' }),
  );
  const t = find(load, 't.1');
  const s = createSolver(load, { compiler: '5.3.0' });
  assert.equal(text(s.solve(t)), 'a.1 ocaml-base-compiler.5.3.0 t.1');
  assert.equal(text(s.solve(t, { withTest: true })), 'a.1 ocaml-base-compiler.5.3.0 t.1 tester.1');
});

/** Random repositories over a two-compiler family: constraints, alternatives, conflicts, classes, tests. */
function randomRepository(rand: () => number): OpamPackage[] {
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  // One of the two families forces its `ocaml` (the compiler excludes more), the other does not.
  const out: OpamPackage[] = rand() < 0.5 ? [...compilers('4.14.0', '5.3.0')] : [...compiler('4.14.0'), ...compiler('5.3.0')];
  const plain = ['', ' {>= "2"}', ' {< "2"}', ' {= "1"}', ' {!= "3"}', ' {with-doc}'];
  // with-test only outside alternatives: `"t" {with-test} | "u"` is weaker with the tests than
  // without, which the universe does not model yet (a target found uninstallable without its tests
  // stays so with them).
  const constraint = (alternative = false) => pick(alternative ? plain : [...plain, ' {<= "2" & with-test}']);
  for (const n of names) {
    const versions = 1 + Math.floor(rand() * 4);
    for (let v = 1; v <= versions; v++) {
      const deps: string[] = [];
      const conflicts: string[] = [];
      for (const m of names) {
        if (m === n) continue;
        const r = rand();
        if (r < 0.18) deps.push(`"${m}"${constraint()}`);
        else if (r < 0.26) deps.push(`"${m}"${constraint(true)} | "${pick(names.filter((x) => x !== m && x !== n))}"${constraint(true)}`);
        else if (r < 0.32) conflicts.push(`"${m}"${pick(['', ' {>= "2"}', ' {= "1"}'])}`);
      }
      if (rand() < 0.05) conflicts.push(pick(['"ocaml-base-compiler" {= "5.3.0"}', '"ocaml" {< "5.0"}']));
      const r = rand();
      if (r < 0.2) deps.push('"ocaml" {< "5.0"}');
      else if (r < 0.5) deps.push('"ocaml" {>= "4.14"}');
      out.push(
        pkg(`${n}.${v}`, {
          depends: deps.join(' '),
          conflicts: conflicts.join(' '),
          ...(rand() < 0.1 ? { available: 'os = "macos"' } : {}),
          ...(rand() < 0.1 ? { flags: ['avoid-version'] } : {}),
          ...(rand() < 0.06 ? { conflictClass: ['ocaml-core-compiler'] } : rand() < 0.12 ? { conflictClass: ['cls'] } : {}),
        }),
      );
    }
  }
  return out;
}

test('on random repositories, each target solved on its cone has the whole universe solution (with its tests too)', () => {
  const rand = rng(77);
  let installable = 0;
  let checked = 0;
  for (let round = 0; round < 50; round++) {
    const load = repo(...randomRepository(rand));
    const whole = wholeUniverse(load, { compiler: '5.3.0' });
    const all = [...load.packages.values()].flat();
    for (const target of all) {
      for (const withTest of [false, true]) {
        const ours = createSolver(load, { compiler: '5.3.0' }).solve(target, { withTest });
        const theirs = whole.solve(target, { withTest });
        assert.equal(text(ours), text(theirs), `round ${round}: ${packageId(target)}${withTest ? ' with-test' : ''}`);
        if (ours.installable) installable++;
        else assert.ok(ours.reason.length > 0);
        checked++;
      }
    }
    // Two targets on one cone, the second inside the first's cone or not.
    const s = createSolver(load, { compiler: '5.3.0' });
    for (const target of [...all].reverse().slice(0, 3))
      assert.equal(text(s.solve(target)), text(whole.solve(target)), `round ${round}: ${packageId(target)} after others`);
  }
  assert.ok(installable > checked / 10, `${installable} of ${checked} installable`);
});

const skip = skipWithoutSnapshot();

test('on the snapshot, cone solves equal whole-universe solves for a sample of packages', { skip }, () => {
  const load = loadRepositories([snapshotRepo()]);
  const whole = wholeUniverse(load, { compiler: '5.3.0' });
  const names = [...load.packages.keys()].sort().filter((_, k) => k % 80 === 0);
  names.push('cmdliner', 'lwt', 'core', 'dream', 'ppxlib', 'js_of_ocaml', 'menhir');
  const differences: string[] = [];
  for (const n of names) {
    const target = (load.packages.get(n) ?? []).at(-1) as OpamPackage;
    const ours = text(createSolver(load, { compiler: '5.3.0' }).solve(target));
    const theirs = text(whole.solve(target));
    if (ours !== theirs) differences.push(`${packageId(target)}: cone ${ours}; whole ${theirs}`);
  }
  assert.deepEqual(differences, []);
});
