/**
 * A bare NAME is answered as `opam install NAME` on a fresh switch (src/solve/requested-version.ts):
 * the newest installable version, `avoid-version` respected, by every verb alike (`solve`, `plan` /
 * `check` through target selection, `installable`), with the same reason when none is installable.
 * `--latest` keeps the newest installable version, a preview release included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSolver } from '../../src/solve/package-solver.js';
import { requestedVersion } from '../../src/solve/requested-version.js';
import { selectTargets } from '../../src/plan/targets.js';
import { installability, solvePackage } from '../../src/session/solver-queries.js';
import { preparePlan } from '../../src/session/plan-preparation.js';
import { openCommandContext } from '../../src/session/command-context.js';
import { resolveStatePaths } from '../../src/session/state-paths.js';
import { packageId, type OpamPackage } from '../../src/opam/package-model.js';
import { compilers, pkg, repo } from '../support/solve-packages.js';

function pick(load: { packages: Map<string, OpamPackage[]> }, name: string, compiler = '5.3.0'): string {
  const solver = createSolver(load, { compiler });
  const r = requestedVersion(load.packages.get(name) ?? [], solver);
  return `${packageId(r.target)} ${r.outcome.installable ? 'installable' : `not: ${r.outcome.reason}`}`;
}

test('the newest version flagged avoid-version is passed over for the newest one that is not', () => {
  const load = repo(...compilers('5.3.0'), pkg('t.1'), pkg('t.2'), pkg('t.3~preview', { flags: ['avoid-version'] }));
  assert.equal(pick(load, 't'), 't.2 installable');
  // --latest (a run's targets, `installable`) takes the newest installable version, the preview too.
  const solver = createSolver(load, { compiler: '5.3.0' });
  const latest = selectTargets({ kind: 'latest' }, load.packages, solver).find((t) => t.target.name === 't');
  assert.equal(latest && packageId(latest.target), 't.3~preview');
  assert.equal(packageId(solver.installableTargets('latest').find((r) => r.pkg.name === 't')!.pkg), 't.3~preview');
  // A bare NAME among a run's explicit targets: the same answer as `opam install t`.
  assert.equal(packageId(selectTargets({ kind: 'explicit', specs: ['t'] }, load.packages, solver)[0].target), 't.2');
});

test('an avoided version is installed when no other is installable; the newest such one', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('t.1', { depends: '"ocaml" {< "5.0"}' }),
    pkg('t.2~rc1', { flags: ['avoid-version'] }),
    pkg('t.2~rc2', { flags: ['avoid-version'] }),
    pkg('t.3~rc1', { flags: ['avoid-version'], depends: '"ocaml" {>= "5.4"}' }),
  );
  assert.equal(pick(load, 't'), 't.2~rc2 installable');
});

test('a version whose installation needs an avoided dependency loses to an older one that does not', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('lib.1'),
    pkg('lib.2~beta', { flags: ['avoid-version'] }),
    pkg('t.1', { depends: '"lib"' }),
    pkg('t.2', { depends: '"lib" {>= "2~"}' }),
  );
  assert.equal(pick(load, 't'), 't.1 installable');
});

test('the newest version not installable with the compiler: the newest installable one is installed', () => {
  const load = repo(
    ...compilers('4.14.2', '5.3.0'),
    pkg('t.1', { depends: '"ocaml" {>= "4.08"}' }),
    pkg('t.2', { depends: '"ocaml" {>= "4.08"}' }),
    pkg('t.3', { depends: '"ocaml" {>= "5.0"}' }),
  );
  assert.equal(pick(load, 't', '4.14.2'), 't.2 installable');
  assert.equal(pick(load, 't', '5.3.0'), 't.3 installable');
});

/** A repository on disk, for the verbs (they read repositories by path). */
function writeRepo(dir: string, files: Record<string, string>): void {
  writeFileSync(join(dir, 'repo'), 'opam-version: "2.0"\n');
  for (const [id, body] of Object.entries(files)) {
    const name = id.slice(0, id.indexOf('.'));
    mkdirSync(join(dir, 'packages', name, id), { recursive: true });
    writeFileSync(join(dir, 'packages', name, id, 'opam'), `opam-version: "2.0"\n${body}`);
  }
}

test('solve, plan/check and installable give the same version, and the same reason when none is installable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-requested-'));
  try {
    const repoDir = join(dir, 'repo');
    mkdirSync(repoDir);
    writeRepo(repoDir, {
      'ocaml-base-compiler.4.14.2': 'flags: compiler\nconflict-class: "ocaml-core-compiler"\n',
      'ocaml-base-compiler.5.3.0': 'flags: compiler\nconflict-class: "ocaml-core-compiler"\n',
      'ocaml.4.14.2': 'depends: ["ocaml-base-compiler" {= "4.14.2"}]\n',
      'ocaml.5.3.0': 'depends: ["ocaml-base-compiler" {= "5.3.0"}]\n',
      'new.1.0': 'depends: ["ocaml" {>= "4.08"}]\n',
      'new.2.0': 'depends: ["ocaml" {>= "5.0"}]\n',
      'new.2.1~preview': 'flags: avoid-version\ndepends: ["ocaml" {>= "4.08"}]\n',
      'only5.1.0': 'depends: ["ocaml" {>= "5.0"}]\n',
      'only5.2.0': 'depends: ["ocaml" {>= "5.1"}]\n',
    });
    const ctx = await openCommandContext({ paths: resolveStatePaths({ stateDir: join(dir, 'state') }), repositories: [repoDir] });
    const req = { compiler: 'ocaml-base-compiler.4.14.2', env: [], withTest: false, depexts: 'ignore' };
    // new: 2.1~preview is avoided, 2.0 needs OCaml 5: opam installs 1.0 on 4.14.2.
    const solved = solvePackage(ctx, req, 'new');
    assert.equal(packageId(solved.target), 'new.1.0');
    assert.equal(solved.outcome.installable, true);
    const planned = preparePlan(ctx, { ...req, targets: ['new', 'only5'] });
    assert.deepEqual(
      planned.outcomes.map((o) => packageId(o.target)),
      ['new.1.0', 'only5.2.0'],
    );
    // only5: no version is installable on 4.14.2; every verb names the newest and gives one reason.
    const none = solvePackage(ctx, req, 'only5');
    assert.equal(packageId(none.target), 'only5.2.0');
    assert.ok(!none.outcome.installable);
    const reason = none.outcome.installable ? '' : none.outcome.reason;
    assert.match(reason, /ocaml/);
    const planReason = planned.outcomes[1].outcome;
    assert.equal(planReason.installable ? '' : planReason.reason, reason);
    const listed = installability(ctx, req, 'latest').results.find((r) => r.pkg.name === 'only5');
    assert.ok(listed !== undefined && !listed.outcome.installable);
    assert.equal(packageId(listed.pkg), 'only5.2.0');
    assert.equal(listed.outcome.installable ? '' : listed.outcome.reason, reason);
    // installable: a name is installable exactly when `opam install NAME` has an answer.
    const verdicts = new Map(installability(ctx, req, 'latest').results.map((r) => [r.pkg.name, r.outcome.installable]));
    assert.equal(verdicts.get('new'), true);
    assert.equal(verdicts.get('only5'), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
