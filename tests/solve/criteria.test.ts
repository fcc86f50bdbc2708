/**
 * Solutions follow opam 2.1.2's install criteria (builtin mccs, `-removed,-count[avoid-version,changed],
 * -count[version-lag,request],-count[version-lag,changed],-count[missing-depexts,changed],-changed`):
 * fewest avoid-versions, then least summed version lag, then fewest packages; checked on hand-made cases
 * and against brute force on random repositories.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSolver } from '../../src/solve/package-solver.js';
import { packageId, type OpamPackage } from '../../src/opam/package-model.js';
import { versionSatisfies } from '../../src/solve/universe.js';
import { filterDependencyFormula } from '../../src/opam/filter.js';
import { evalFormula } from '../../src/opam/formula.js';
import { compilers, pkg, repo, randomPackages } from '../support/solve-packages.js';
import { seededRandom as rng } from '../support/prng.js';

function find(load: { packages: Map<string, OpamPackage[]> }, id: string): OpamPackage {
  for (const l of load.packages.values()) for (const p of l) if (packageId(p) === id) return p;
  throw new Error(`no ${id}`);
}

function solutionIds(s: ReturnType<typeof createSolver>, target: OpamPackage): string[] {
  const o = s.solve(target);
  assert.ok(o.installable, `${packageId(target)} is installable`);
  return o.installable ? o.solution.packages.map(packageId).sort() : [];
}

test('least summed version lag beats the newest version of the first dependency (issue #12)', () => {
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
  // a.2 + b.1 lags 2 versions, a.1 + b.3 lags 1: opam installs the latter.
  assert.deepEqual(solutionIds(s, find(load, 't.1')), ['a.1', 'b.3', 'ocaml-base-compiler.5.3.0', 't.1']);
});

test('fewest packages among equal lags: the alternative that needs nothing more', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('t.1', { depends: '"big" | "small"' }),
    pkg('big.1', { depends: '"dep"' }),
    pkg('dep.1'),
    pkg('small.1'),
  );
  const s = createSolver(load, { compiler: '5.3.0' });
  assert.deepEqual(solutionIds(s, find(load, 't.1')), ['ocaml-base-compiler.5.3.0', 'small.1', 't.1']);
});

test('an avoid-version costs more than any lag; the switch keeps its compiler packages', () => {
  const load = repo(
    ...compilers('5.2.0', '5.3.0'),
    pkg('t.1', { depends: '"lib" "ocaml"' }),
    pkg('lib.1'),
    pkg('lib.2'),
    pkg('lib.3'),
    pkg('lib.4', { flags: ['avoid-version'] }),
    pkg('lib.5', { depends: '"nope"' }),
  );
  const s = createSolver(load, { compiler: '5.2.0' });
  assert.deepEqual(solutionIds(s, find(load, 't.1')), ['lib.3', 'ocaml-base-compiler.5.2.0', 'ocaml.5.2.0', 't.1']);
});

/** opam's version-lag per package: among the versions of its name, normal ones ascending then avoid-versions. */
function lags(load: { packages: Map<string, OpamPackage[]> }): Map<OpamPackage, number> {
  const out = new Map<OpamPackage, number>();
  for (const versions of load.packages.values()) {
    const avoided = (p: OpamPackage) => p.flags.includes('avoid-version');
    const order = [...versions.filter((p) => !avoided(p)), ...versions.filter(avoided)];
    order.forEach((p, k) => out.set(p, order.length - k - 1));
  }
  return out;
}

test('criteria values equal the brute-force optimum on random repositories', () => {
  const rand = rng(1212);
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  let checked = 0;
  for (let round = 0; round < 60; round++) {
    const all = randomPackages(rand, { names, maxVersions: 4, depend: 0.22, alternative: 0.32, conflict: 0.38, avoidVersion: 0.12 });
    const load = repo(...all);
    const lag = lags(load);
    const s = createSolver(load, { compiler: '', adminCheck: true });
    const byName = names.map((n) => load.packages.get(n) ?? []);
    const valid = (chosen: OpamPackage[]) => {
      const present = new Map(chosen.map((p) => [p.name, p]));
      const has = (a: { name: string; constraint: Parameters<typeof versionSatisfies>[1] }) => {
        const q = present.get(a.name);
        return q !== undefined && versionSatisfies(q.version, a.constraint);
      };
      return chosen.every((p) => {
        const d = filterDependencyFormula(p.depends, () => undefined);
        const c = filterDependencyFormula(p.conflicts, () => undefined);
        return evalFormula(d, has) && !(c.kind !== 'empty' && evalFormula(c, (a) => a.name !== p.name && has(a)));
      });
    };
    const cost = (chosen: readonly OpamPackage[]) => [
      chosen.filter((p) => p.flags.includes('avoid-version')).length,
      chosen.reduce((sum, p) => sum + (lag.get(p) ?? 0), 0),
      chosen.length,
    ];
    const better = (x: number[], y: number[]) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
    for (const target of all) {
      let best: number[] | null = null;
      let bestSet: OpamPackage[] = [];
      const choose = (k: number, chosen: OpamPackage[]) => {
        if (k === names.length) {
          if (chosen.includes(target) && valid(chosen)) {
            const c = cost(chosen);
            if (best === null || better(c, best) < 0) {
              best = c;
              bestSet = chosen;
            }
          }
          return;
        }
        if (names[k] !== target.name) choose(k + 1, chosen);
        for (const p of byName[k]) if (names[k] !== target.name || p === target) choose(k + 1, [...chosen, p]);
      };
      choose(0, []);
      const o = s.solve(target);
      assert.equal(o.installable, best !== null, `round ${round}: ${packageId(target)}`);
      if (!o.installable || best === null) continue;
      assert.ok(valid([...o.solution.packages]), `round ${round}: ${packageId(target)} solution is valid`);
      assert.deepEqual(
        cost(o.solution.packages),
        best,
        `round ${round}: ${packageId(target)}: ${o.solution.packages.map(packageId).join(' ')}, not ${bestSet.map(packageId).join(' ')}`,
      );
      checked++;
    }
  }
  assert.ok(checked > 100, `${checked} installable targets checked`);
});
