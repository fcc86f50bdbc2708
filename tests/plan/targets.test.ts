/**
 * Target selection and plans on real repositories: the fixture ecosystem (newest installable version,
 * explicit NAME / NAME.VERSION, unknown names) and the real snapshot (changing the compiler changes the
 * keys of everything built on it and nothing else).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRepositories } from '../../src/opam/repository.js';
import { createSolver } from '../../src/solve/package-solver.js';
import { selectTargets, UnknownTargetError } from '../../src/plan/targets.js';
import { parsePackageSpec } from '../../src/opam/package-spec.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { packageId } from '../../src/opam/package-model.js';
import { ecosystemFixture } from '../support/fixture-ecosystem.js';
import { snapshotRepo } from '../support/snapshot.js';
import { skipWithoutSnapshot } from '../support/missing-setup.js';

const ctx = (platform: Record<string, string>) => ({ builderVersion: 'test', platform });

test('latest: the newest installable version of every name; names with none keep their newest, with the reason', () => {
  const load = loadRepositories([ecosystemFixture]);
  const solver = createSolver(load, { compiler: '1.0' });
  const targets = selectTargets({ kind: 'latest' }, load.packages, solver);
  const byName = new Map(targets.map((t) => [t.target.name, t]));
  assert.equal(byName.size, load.packages.size);
  // ocaml.2.0 is newer but cannot be installed with the 1.0 compiler: ocaml.1.0 is the target.
  assert.equal(packageId(byName.get('ocaml')!.target), 'ocaml.1.0');
  assert.equal(byName.get('ocaml')!.outcome.installable, true);
  assert.equal(packageId(byName.get('ocaml-base-compiler')!.target), 'ocaml-base-compiler.1.0');
  const nn = byName.get('needs-new')!;
  assert.equal(nn.outcome.installable, false);
  assert.match(nn.outcome.installable ? '' : nn.outcome.reason, /ocaml/);
  const all = selectTargets({ kind: 'all-versions' }, load.packages, solver);
  assert.equal(
    all.length,
    [...load.packages.values()].reduce((n, vs) => n + vs.length, 0),
  );
});

test('explicit targets: NAME takes the newest installable version, NAME.VERSION that version; unknown ones are refused', () => {
  const load = loadRepositories([ecosystemFixture]);
  const solver = createSolver(load, { compiler: '1.0' });
  const picked = selectTargets({ kind: 'explicit', specs: ['ocaml', 'ocaml.2.0', 'chain-c.1.0'] }, load.packages, solver);
  assert.deepEqual(
    picked.map((t) => [packageId(t.target), t.outcome.installable]),
    [
      ['ocaml.1.0', true],
      ['ocaml.2.0', false],
      ['chain-c.1.0', true],
    ],
  );
  assert.throws(() => selectTargets({ kind: 'explicit', specs: ['nope'] }, load.packages, solver), UnknownTargetError);
  assert.throws(
    () => selectTargets({ kind: 'explicit', specs: ['ocaml.9.9'] }, load.packages, solver),
    /unknown version 'ocaml\.9\.9': ocaml has 1\.0, 2\.0/,
  );
  assert.deepEqual(parsePackageSpec('chain-a'), { name: 'chain-a', version: null });
  assert.deepEqual(parsePackageSpec('chain-a.1.0'), { name: 'chain-a', version: '1.0' });
});

test(
  'snapshot: changing the compiler changes the keys of every job built on it, and of nothing else',
  { skip: skipWithoutSnapshot() },
  () => {
    const load = loadRepositories([snapshotRepo()]);
    const plans = ['4.14.2', '5.3.0'].map((compiler) => {
      const solver = createSolver(load, { compiler });
      const targets = selectTargets({ kind: 'explicit', specs: ['zarith.1.14', 'conf-gmp', 'dune'] }, load.packages, solver);
      for (const t of targets) assert.equal(t.outcome.installable, true, `${packageId(t.target)} with ${compiler}`);
      return buildPlan(targets, ctx({ ...solver.variables }));
    });
    const keyOf = (i: number, id: string) => [...plans[i].jobs.values()].find((j) => j.id === id)?.key;
    const dependsOnCompiler = (i: number, id: string) => {
      const job = [...plans[i].jobs.values()].find((j) => j.id === id)!;
      return (
        job.closure.some((k) => plans[i].jobs.get(k)!.package.name === 'ocaml-base-compiler') || job.package.name === 'ocaml-base-compiler'
      );
    };
    let same = 0;
    let changed = 0;
    for (const job of plans[0].jobs.values()) {
      if (dependsOnCompiler(0, job.id)) {
        assert.notEqual(keyOf(1, job.id), job.key, job.id);
        changed++;
      } else {
        assert.equal(keyOf(1, job.id), job.key, `${job.id} does not depend on the compiler, its key must not change`);
        same++;
      }
    }
    assert.ok(same >= 2, 'conf-gmp and the other compiler-independent jobs are shared');
    assert.ok(changed >= 3);
    const gmp = (i: number) => [...plans[i].jobs.values()].find((j) => j.package.name === 'conf-gmp')!;
    assert.equal(gmp(0).key, gmp(1).key);
  },
);
