/**
 * Acceptance against opam 2.1.2's own verdicts on the real snapshot (fixtures/oracle, see its README):
 * `opam admin check --installability` and `opam list --installable --all-versions` with the invariant
 * ocaml-base-compiler.5.3.0, with the host's depexts (`--depexts host`) and without (`ignore`). Every
 * disagreement is listed here with its cause.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, snapshotRepo } from '../../support/snapshot.js';
import { loadRepositories, type RepositoryLoad } from '../../../src/opam/repository.js';
import { createSolver } from '../../../src/solve/package-solver.js';
import { adminCheckInstallability } from '../../../src/solve/admin-check.js';
import { packageId } from '../../../src/opam/package-model.js';
import { DEFAULT_PLATFORM } from '../../../src/solve/platform-env.js';
import { hostPackageManager } from '../../../src/host/host-packages.js';
import { skipWithout, skipWithoutSnapshot } from '../../support/missing-setup.js';

function fixtureList(name: string): string[] {
  return readFileSync(join(projectRoot, 'fixtures', 'oracle', name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split(' ')[0]);
}

function diff(ours: Iterable<string>, theirs: Iterable<string>): { onlyOurs: string[]; onlyTheirs: string[] } {
  const a = new Set(ours);
  const b = new Set(theirs);
  return { onlyOurs: [...a].filter((x) => !b.has(x)).sort(), onlyTheirs: [...b].filter((x) => !a.has(x)).sort() };
}

let loaded: RepositoryLoad | null = null;
function snapshot(): RepositoryLoad {
  loaded ??= loadRepositories([snapshotRepo()]);
  return loaded;
}

const skip = skipWithoutSnapshot();

test('admin-check mode gives opam admin check --installability verdict', { skip }, () => {
  const solver = createSolver(snapshot(), { compiler: '', adminCheck: true });
  const r = adminCheckInstallability(solver);
  assert.equal(r.total, 18792);
  const roots = diff(r.roots.map(packageId), fixtureList('admin-check-roots.txt'));
  const dependents = diff(r.dependents.map(packageId), fixtureList('admin-check-dependents.txt'));
  // ocaml-variants.5.5.0+introcaml and …+introcaml0 are equal versions: opam lists the first and solves
  // with the second's file (which depends on ocaml-compiler {= "5.5.0+introcaml"}), and so does the loader.
  assert.deepEqual(roots, { onlyOurs: [], onlyTheirs: [] });
  assert.deepEqual(dependents, { onlyOurs: [], onlyTheirs: [] });
});

test('--compiler 5.3.0 --all-versions --depexts ignore gives opam list --installable but for missing depexts', { skip }, () => {
  const solver = createSolver(snapshot(), { compiler: '5.3.0' });
  const ours = solver.packages.filter((p) => solver.isInstallable(p)).map(packageId);
  const d = diff(ours, fixtureList('installable-5.3.0.txt'));
  assert.deepEqual(d.onlyTheirs, []);
  // opam 2.1 also drops packages whose Debian depexts apt cannot find on its machine; without the host
  // ecocheck keeps them. The fixture lists each such package with the missing depext.
  assert.deepEqual(d.onlyOurs, fixtureList('installable-5.3.0-missing-depexts.txt').sort());
});

const host = hostPackageManager(DEFAULT_PLATFORM);
const skipHost = skip || skipWithout('apt', host === null ? 'apt-cache / dpkg-query are not on this host' : false);

test(
  '--compiler 5.3.0 --all-versions --depexts host gives exactly opam list --installable (Debian 12, apt updated)',
  { skip: skipHost },
  () => {
    const solver = createSolver(snapshot(), { compiler: '5.3.0', systemPackages: host });
    const ours = solver.packages.filter((p) => solver.isInstallable(p)).map(packageId);
    assert.deepEqual(diff(ours, fixtureList('installable-5.3.0.txt')), { onlyOurs: [], onlyTheirs: [] });
    // Virtual depexts with a provider count as available, as for opam.
    for (const id of ['conf-gsl.1', 'conf-ncurses.1']) assert.ok(ours.includes(id), id);
    // Each of the 80 is dropped for a depext the host has no candidate for, and the reason names it.
    const byId = new Map(solver.packages.map((p) => [packageId(p), p]));
    for (const id of fixtureList('installable-5.3.0-missing-depexts.txt')) {
      const o = solver.solve(byId.get(id) as (typeof solver.packages)[number]);
      assert.equal(o.installable, false, id);
      if (!o.installable) assert.match(o.reason, /needs system packages \(depexts\) that apt has no installation candidate for: \S/, id);
    }
  },
);

test('solutions on the snapshot are valid installations in build order', { skip }, () => {
  const load = snapshot();
  const solver = createSolver(load, { compiler: '5.3.0' });
  for (const id of ['dune.3.24.2', 'lwt.5.9.1', 'cohttp-lwt-unix.6.0.0', 'ppxlib.0.36.0']) {
    const [name, ...rest] = id.split('.');
    const pkg = (load.packages.get(name) ?? []).find((p) => p.version === rest.join('.'));
    if (pkg === undefined) continue;
    const o = solver.solve(pkg);
    assert.equal(o.installable, true, id);
    if (!o.installable) continue;
    const ids = o.solution.packages.map(packageId);
    assert.ok(ids.includes('ocaml-base-compiler.5.3.0'), 'the compiler is in every solution');
    assert.equal(new Set(o.solution.packages.map((p) => p.name)).size, ids.length, 'one version per name');
    const position = new Map(ids.map((x, k) => [x, k]));
    for (const [pid, deps] of o.solution.buildDependencies) {
      for (const dep of deps) assert.ok((position.get(dep) ?? Infinity) < (position.get(pid) ?? -1), `${dep} before ${pid}`);
    }
  }
  const old = (load.packages.get('ppxlib') ?? []).find((p) => p.version === '0.15.0');
  if (old !== undefined) {
    const o = solver.solve(old);
    assert.equal(o.installable, false);
    if (!o.installable) assert.match(o.reason, /ocaml-migrate-parsetree/);
  }
});
