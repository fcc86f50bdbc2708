import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSolver, resolveCompilerSpec } from '../../src/solve/package-solver.js';
import { SolveError } from '../../src/solve/solve-error.js';
import { packageId, type OpamPackage } from '../../src/opam/package-model.js';
import { compareVersions } from '../../src/opam/version.js';
import { versionSatisfies } from '../../src/solve/universe.js';
import { filterDependencyFormula } from '../../src/opam/filter.js';
import { evalFormula } from '../../src/opam/formula.js';
import { compilers, pkg, repo, randomPackages } from '../support/solve-packages.js';
import { seededRandom as rng } from '../support/prng.js';

function ids(ps: readonly OpamPackage[]): string[] {
  return ps.map(packageId);
}

function find(load: { packages: Map<string, OpamPackage[]> }, id: string): OpamPackage {
  for (const l of load.packages.values()) for (const p of l) if (packageId(p) === id) return p;
  throw new Error(`no ${id}`);
}

test('prefers the newest versions and gives a build order', () => {
  const load = repo(
    ...compilers('4.14.0', '5.3.0'),
    pkg('dune.3.0', { depends: '"ocaml" {>= "4.08"}' }),
    pkg('dune.3.1', { depends: '"ocaml" {>= "4.08"}' }),
    pkg('app.1.0', { depends: '"dune" {>= "3.0"} "lib"' }),
    pkg('lib.0.9', { depends: '"dune"' }),
    pkg('lib.1.0', { depends: '"dune" "ocaml" {< "5.0"}' }),
  );
  const s = createSolver(load, { compiler: '5.3.0' });
  const out = s.solve(find(load, 'app.1.0'));
  assert.equal(out.installable, true);
  if (!out.installable) return;
  const sol = out.solution;
  assert.deepEqual(ids(sol.packages), ['ocaml-base-compiler.5.3.0', 'ocaml.5.3.0', 'dune.3.1', 'lib.0.9', 'app.1.0']);
  assert.deepEqual(sol.buildDependencies.get('app.1.0'), ['dune.3.1', 'lib.0.9']);
  assert.deepEqual(sol.buildDependencies.get('lib.0.9'), ['dune.3.1']);
  // With 4.14.0 the newest lib is possible.
  const s2 = createSolver(load, { compiler: 'ocaml-base-compiler.4.14.0' });
  const out2 = s2.solve(find(load, 'app.1.0'));
  assert.equal(out2.installable, true);
  if (out2.installable) assert.ok(ids(out2.solution.packages).includes('lib.1.0'));
});

test("a package needing an older ocaml is explained by the switch's compiler, not through ocaml-system", () => {
  // As in opam-repository: ocaml.4.14.0 can also come from ocaml-system, which needs sys-ocaml-version.
  const load = repo(
    ...compilers('4.14.0', '5.3.0'),
    pkg('ocaml-system.4.14.0', {
      flags: ['compiler'],
      conflictClass: ['ocaml-core-compiler'],
      depends: '"sys-ocaml-version" {= "4.14.0"}',
    }),
    pkg('sys-ocaml-version.4.14.0', { available: 'sys-ocaml-version = "4.14.0"' }),
    pkg('old.1', { depends: '"ocaml" {< "5.0"}' }),
  );
  const out = createSolver(load, { compiler: '5.3.0' }).solve(find(load, 'old.1'));
  assert.equal(out.installable, false);
  if (!out.installable) {
    assert.equal(
      out.reason,
      'old.1 requires ocaml {< "5.0"}, but the switch has the compiler ocaml-base-compiler.5.3.0 and with it ocaml.5.3.0',
    );
    assert.doesNotMatch(out.reason, /ocaml-system|sys-ocaml-version/);
  }
});

test('the compiler is an invariant: what conflicts with it is uninstallable, with a reason naming it', () => {
  const load = repo(...compilers('4.14.0', '5.3.0'), pkg('old.1', { depends: '"ocaml" {< "5.0"}' }));
  const s = createSolver(load, { compiler: '5.3.0' });
  const out = s.solve(find(load, 'old.1'));
  assert.equal(out.installable, false);
  if (!out.installable) {
    assert.match(out.reason, /old\.1 requires ocaml \{< "5\.0"\}/);
    assert.match(out.reason, /ocaml-base-compiler\.5\.3\.0/);
  }
  // The other compiler itself is uninstallable in this switch.
  const other = s.solve(find(load, 'ocaml-base-compiler.4.14.0'));
  assert.equal(other.installable, false);
  if (!other.installable) assert.match(other.reason, /conflicts with the compiler ocaml-base-compiler\.5\.3\.0/);
});

test('reasons: missing package, no matching version, unavailable', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('a.1', { depends: '"nonexistent"' }),
    pkg('b.1', { depends: '"c" {>= "2.0"}' }),
    pkg('c.1.0'),
    pkg('d.1', { available: 'os = "macos"' }),
    pkg('e.1', { depends: '"d"' }),
  );
  const s = createSolver(load, { compiler: '5.3.0' });
  const reason = (id: string) => {
    const o = s.solve(find(load, id));
    assert.equal(o.installable, false, id);
    return o.installable ? '' : o.reason;
  };
  assert.match(reason('a.1'), /requires nonexistent: no package nonexistent in the repository/);
  assert.match(reason('b.1'), /requires c \{>= "2\.0"\}: no version matches \(c has 1\.0\)/);
  assert.match(reason('d.1'), /not available \(available: os = "macos"\)/);
  assert.match(reason('e.1'), /e\.1 requires d: d\.1 is not available/);
});

test('conflicts, conflict-class and the conflict chain', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('x.1', { conflicts: '"y"' }),
    pkg('y.1'),
    pkg('both.1', { depends: '"x" "y"' }),
    pkg('k1.1', { conflictClass: ['cls'] }),
    pkg('k2.1', { conflictClass: ['cls'] }),
    pkg('both-k.1', { depends: '"k1" "k2"' }),
    pkg('p.1', { depends: '"q" {>= "2"} "r"' }),
    pkg('q.1'),
    pkg('q.2'),
    pkg('r.1', { depends: '"q" {< "2"}' }),
  );
  const s = createSolver(load, { compiler: '5.3.0' });
  const o1 = s.solve(find(load, 'both.1'));
  assert.equal(o1.installable, false);
  if (!o1.installable) assert.match(o1.reason, /both\.1.*x\.1|x\.1.*both\.1/);
  assert.equal(s.solve(find(load, 'both-k.1')).installable, false);
  const o3 = s.solve(find(load, 'p.1'));
  assert.equal(o3.installable, false);
  if (!o3.installable) {
    assert.match(o3.reason, /p\.1/);
    assert.match(o3.reason, /r\.1/);
  }
  assert.equal(s.solve(find(load, 'x.1')).installable, true);
});

test('backtracks from the newest version when it cannot work', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('t.1', { depends: '"a" "b"' }),
    pkg('a.1', { depends: '"c" {= "1"}' }),
    pkg('a.2', { depends: '"c" {= "2"}' }),
    pkg('b.1', { depends: '"c" {= "1"}' }),
    pkg('c.1'),
    pkg('c.2'),
  );
  const s = createSolver(load, { compiler: '5.3.0' });
  const o = s.solve(find(load, 't.1'));
  assert.equal(o.installable, true);
  if (o.installable)
    assert.deepEqual(
      ids(o.solution.packages).filter((x) => !x.startsWith('ocaml')),
      ['c.1', 'a.1', 'b.1', 't.1'],
    );
});

test('depopts are not forced but ordered first; post dependencies are required without a build edge', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('opt.1'),
    pkg('plugin.1', { depends: '"opt"' }),
    pkg('host.1', { depopts: '"opt"', depends: '"runtime" {post}' }),
    pkg('runtime.1'),
    pkg('app.1', { depends: '"host" "plugin"' }),
  );
  const s = createSolver(load, { compiler: '5.3.0' });
  const h = s.solve(find(load, 'host.1'));
  assert.equal(h.installable, true);
  if (h.installable) {
    assert.ok(!ids(h.solution.packages).includes('opt.1'), 'depopt not forced');
    assert.ok(ids(h.solution.packages).includes('runtime.1'), 'post dependency installed');
    assert.deepEqual(h.solution.buildDependencies.get('host.1'), []);
  }
  const a = s.solve(find(load, 'app.1'));
  assert.equal(a.installable, true);
  if (a.installable) {
    assert.deepEqual(a.solution.buildDependencies.get('host.1'), ['opt.1']);
    const order = ids(a.solution.packages);
    assert.ok(order.indexOf('opt.1') < order.indexOf('host.1'));
  }
});

test('avoid-version versions are used only when nothing else works; deprecated is a normal version (opam 2.1)', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('lib.1'),
    pkg('lib.2', { flags: ['avoid-version'] }),
    pkg('lib.3', { flags: ['deprecated'] }),
    pkg('u.1', { depends: '"lib"' }),
    pkg('v.1', { depends: '"lib" {< "3"}' }),
    pkg('w.1', { depends: '"lib" {>= "2" & < "3"}' }),
  );
  const s = createSolver(load, { compiler: '5.3.0' });
  const lib = (id: string) => {
    const o = s.solve(find(load, id));
    assert.ok(o.installable, id);
    return o.installable ? ids(o.solution.packages).filter((x) => x.startsWith('lib.')) : [];
  };
  assert.deepEqual(lib('u.1'), ['lib.3']);
  assert.deepEqual(lib('v.1'), ['lib.1']);
  assert.deepEqual(lib('w.1'), ['lib.2']);
});

test('with-test dependencies count for the target only', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('alcotest.1'),
    pkg('lib.1', { depends: '"alcotest" {with-test}' }),
    pkg('app.1', { depends: '"lib" "broken-test" {with-test}' }),
  );
  const s = createSolver(load, { compiler: '5.3.0' });
  const lib = s.solve(find(load, 'lib.1'));
  assert.ok(lib.installable && !ids(lib.solution.packages).includes('alcotest.1'));
  const libT = s.solve(find(load, 'lib.1'), { withTest: true });
  assert.ok(libT.installable && ids(libT.solution.packages).includes('alcotest.1'));
  // app's own test dependency is missing; lib's tests are not asked for.
  const appT = s.solve(find(load, 'app.1'), { withTest: true });
  assert.equal(appT.installable, false);
  if (!appT.installable) assert.match(appT.reason, /broken-test/);
  assert.equal(s.solve(find(load, 'app.1')).installable, true);
});

test('platform variables and --env overrides', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('linux-only.1', { available: 'os = "linux" & arch = "x86_64"' }),
    pkg('mac-dep.1', { depends: '"missing" {os = "macos"}' }),
  );
  const s = createSolver(load, { compiler: '5.3.0' });
  assert.equal(s.solve(find(load, 'linux-only.1')).installable, true);
  assert.equal(s.solve(find(load, 'mac-dep.1')).installable, true);
  const mac = createSolver(load, { compiler: '5.3.0', env: { os: 'macos' } });
  assert.equal(mac.solve(find(load, 'linux-only.1')).installable, false);
  assert.equal(mac.solve(find(load, 'mac-dep.1')).installable, false);
});

test('compiler specifications', () => {
  const load = repo(
    ...compilers('5.3.0', '5.4.0'),
    pkg('ocaml-variants.5.3.0+options', { flags: ['compiler', 'avoid-version'], conflictClass: ['ocaml-core-compiler'] }),
    pkg('ocaml-variants.5.5.0+trunk', { flags: ['compiler'], conflictClass: ['ocaml-core-compiler'] }),
  );
  assert.equal(resolveCompilerSpec(load, '5.3.0').text, 'ocaml-base-compiler {= "5.3.0"}');
  assert.equal(resolveCompilerSpec(load, 'ocaml-variants.5.5.0+trunk').text, 'ocaml-variants {= "5.5.0+trunk"}');
  assert.equal(resolveCompilerSpec(load, 'ocaml-base-compiler>=5.4').candidates.length, 1);
  const f = resolveCompilerSpec(load, '"ocaml-base-compiler" {>= "5.3"} | "ocaml-variants"');
  assert.equal(f.candidates.length, 4);
  assert.throws(() => resolveCompilerSpec(load, '9.9.9'), SolveError);
  assert.throws(() => resolveCompilerSpec(load, 'nonexistent.1.0'), SolveError);
  assert.throws(() => resolveCompilerSpec(load, '"ocaml-base-compiler" {>= '), SolveError);
  // A formula invariant: the solver picks the newest allowed compiler.
  const s = createSolver(load, { compiler: '"ocaml-base-compiler" {>= "5.3"}' });
  const o = s.solve(find(load, 'ocaml.5.3.0'));
  assert.ok(o.installable && ids(o.solution.packages).includes('ocaml-base-compiler.5.3.0'));
});

test('admin-check mode: every package available, no compiler, with-test on by default', () => {
  const load = repo(
    ...compilers('4.14.0', '5.3.0'),
    pkg('old.1', { depends: '"ocaml" {< "5.0"}', available: 'false' }),
    pkg('t.1', { depends: '"missing-test-lib" {with-test}' }),
    pkg('os.1', { depends: '"missing" {os = "linux"}' }),
  );
  const s = createSolver(load, { compiler: '', adminCheck: true });
  assert.equal(s.invariant, null);
  assert.equal(s.isInstallable(find(load, 'old.1')), true);
  assert.equal(s.isInstallable(find(load, 't.1')), false);
  assert.equal(s.isInstallable(find(load, 'os.1')), true, 'os is undefined in admin check: the dependency is filtered out');
  const i = createSolver(load, { compiler: '', adminCheck: true, ignoreTestDoc: true });
  assert.equal(i.isInstallable(find(load, 't.1')), true);
});

test('installability agrees with brute force on random repositories, and solutions are valid', () => {
  const rand = rng(2024);
  const names = ['a', 'b', 'c', 'd', 'e'];
  for (let round = 0; round < 60; round++) {
    const all = randomPackages(rand, { names, maxVersions: 3, depend: 0.2, alternative: 0.28, conflict: 0.36 });
    const load = repo(...all);
    const s = createSolver(load, { compiler: '', adminCheck: true });
    // Brute force: every choice of at most one version per name.
    const byName = names.map((n) => load.packages.get(n) ?? []);
    const installableSet = new Set<string>();
    const choose = (k: number, chosen: OpamPackage[]) => {
      if (k === names.length) {
        const present = new Map(chosen.map((p) => [p.name, p]));
        const ok = chosen.every((p) => {
          const lookup = () => undefined;
          const d = filterDependencyFormula(p.depends, lookup);
          const c = filterDependencyFormula(p.conflicts, lookup);
          const has = (a: { name: string; constraint: Parameters<typeof versionSatisfies>[1] }) => {
            const q = present.get(a.name);
            return q !== undefined && versionSatisfies(q.version, a.constraint);
          };
          return evalFormula(d, has) && !(c.kind !== 'empty' && evalFormula(c, (a) => a.name !== p.name && has(a)));
        });
        if (ok) for (const p of chosen) installableSet.add(packageId(p));
        return;
      }
      choose(k + 1, chosen);
      for (const p of byName[k]) choose(k + 1, [...chosen, p]);
    };
    choose(0, []);
    for (const p of all) {
      const o = s.solve(p);
      assert.equal(o.installable, installableSet.has(packageId(p)), `round ${round}: ${packageId(p)}`);
      if (o.installable) {
        const sol = o.solution.packages;
        const present = new Map(sol.map((q) => [q.name, q]));
        assert.equal(present.size, sol.length, 'one version per name');
        assert.ok(present.get(p.name) === p);
        for (const q of sol) {
          const d = filterDependencyFormula(q.depends, () => undefined);
          assert.ok(
            evalFormula(d, (a) => {
              const r = present.get(a.name);
              return r !== undefined && versionSatisfies(r.version, a.constraint);
            }),
          );
        }
      } else {
        assert.ok(o.reason.length > 0);
      }
    }
  }
});

test('solutions are deterministic across solver instances and query orders', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('a.1', { depends: '"b" | "c"' }),
    pkg('b.1', { depends: '"d" {< "2"}' }),
    pkg('b.2', { depends: '"d" {>= "2"}' }),
    pkg('c.1'),
    pkg('d.1'),
    pkg('d.2'),
  );
  const targets = [...load.packages.values()].flat().sort((x, y) => compareVersions(x.version, y.version) || (x.name < y.name ? -1 : 1));
  const run = (order: OpamPackage[]) => {
    const s = createSolver(load, { compiler: '5.3.0' });
    const m = new Map<string, string>();
    for (const t of order) {
      const o = s.solve(t);
      m.set(packageId(t), o.installable ? ids(o.solution.packages).join(',') : `no: ${o.reason}`);
    }
    return [...m].sort();
  };
  assert.deepEqual(run(targets), run([...targets].reverse()));
});

test('a compiler that cannot be installed is the reason for every target', () => {
  const load = repo(pkg('ocaml-base-compiler.5.3.0', { flags: ['compiler'], available: 'os = "macos"' }), pkg('lib.1'));
  const s = createSolver(load, { compiler: '5.3.0' });
  const o = s.solve(find(load, 'lib.1'));
  assert.equal(o.installable, false);
  if (!o.installable) assert.match(o.reason, /the compiler ocaml-base-compiler \{= "5\.3\.0"\} cannot be installed: .*not available/);
  assert.equal(s.isInstallable(find(load, 'lib.1')), false);
});
