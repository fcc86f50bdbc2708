import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPlan } from '../../src/plan/build-plan.js';
import { analysePlan, planToJson } from '../../src/plan/plan-graph.js';
import type { Plan } from '../../src/plan/job.js';
import { fakePackage, fakeTargets } from '../support/plan-fixture-packages.js';

const ctx = { builderVersion: 'test-1', platform: { os: 'linux', arch: 'x86_64' } };

// compiler <- stdlib-ish lib a <- b <- c ; d depends on a and conf (conf does not depend on the compiler)
const deps = (compiler: string): Record<string, string[]> => ({
  [compiler]: [],
  'conf-gmp.1': [],
  'a.1': [compiler],
  'b.1': ['a.1', compiler],
  'c.1': ['b.1'],
  'd.1': ['a.1', 'conf-gmp.1'],
});

function keysById(plan: Plan): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const j of plan.jobs.values()) m.set(j.id, [...(m.get(j.id) ?? []), j.key]);
  return m;
}

test('targets sharing dependencies share their jobs (hash-consing)', () => {
  const plan = buildPlan(fakeTargets(['c.1', 'd.1', 'conf-gmp.1'], deps('comp.1')), ctx);
  assert.equal(plan.jobs.size, 6);
  const ids = keysById(plan);
  for (const [id, keys] of ids) assert.equal(keys.length, 1, id);
  assert.deepEqual(
    plan.targets.map((t) => t.id),
    ['c.1', 'd.1', 'conf-gmp.1'],
  );
  for (const t of plan.targets) assert.equal(plan.jobs.get(t.key)!.id, t.id);
});

test('jobs come in build order and closures list every transitive dependency, dependencies first', () => {
  const plan = buildPlan(fakeTargets(['c.1', 'd.1'], deps('comp.1')), ctx);
  const position = new Map([...plan.jobs.keys()].map((k, i) => [k, i]));
  for (const job of plan.jobs.values()) {
    for (const d of job.dependencies) assert.ok(position.get(d)! < position.get(job.key)!, `${job.id} after its dependency`);
    for (let i = 1; i < job.closure.length; i++) assert.ok(position.get(job.closure[i - 1])! < position.get(job.closure[i])!);
  }
  const c = [...plan.jobs.values()].find((j) => j.id === 'c.1')!;
  assert.deepEqual(
    c.closure.map((k) => plan.jobs.get(k)!.id),
    ['comp.1', 'a.1', 'b.1'],
  );
  const d = [...plan.jobs.values()].find((j) => j.id === 'd.1')!;
  assert.deepEqual(new Set(d.closure.map((k) => plan.jobs.get(k)!.id)), new Set(['comp.1', 'a.1', 'conf-gmp.1']));
});

test('changing the compiler changes every key above it and nothing else', () => {
  const p1 = keysById(buildPlan(fakeTargets(['c.1', 'd.1'], deps('comp.1')), ctx));
  const p2 = keysById(buildPlan(fakeTargets(['c.1', 'd.1'], deps('comp.2')), ctx));
  assert.deepEqual(p1.get('conf-gmp.1'), p2.get('conf-gmp.1'));
  for (const id of ['a.1', 'b.1', 'c.1', 'd.1']) assert.notDeepEqual(p1.get(id), p2.get(id), id);
});

test('editing one opam file changes that job and its reverse dependencies only', () => {
  const before = keysById(buildPlan(fakeTargets(['c.1', 'd.1'], deps('comp.1')), ctx));
  const packages = new Map([['b.1', fakePackage('b.1', 'opam-version: "2.0"\nbuild: ["make"]\n')]]);
  const after = keysById(buildPlan(fakeTargets(['c.1', 'd.1'], deps('comp.1'), packages), ctx));
  for (const id of ['comp.1', 'conf-gmp.1', 'a.1', 'd.1']) assert.deepEqual(before.get(id), after.get(id), id);
  for (const id of ['b.1', 'c.1']) assert.notDeepEqual(before.get(id), after.get(id), id);
});

test('the files/ folder content is part of the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-plan-files-'));
  try {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'fix.patch'), 'one');
    const key = () => {
      const packages = new Map([['a.1', fakePackage('a.1', undefined, dir)]]);
      const plan = buildPlan(fakeTargets(['a.1'], { 'a.1': [] }, packages), ctx);
      return plan.targets[0].key;
    };
    const k1 = key();
    assert.equal(key(), k1);
    writeFileSync(join(dir, 'sub', 'fix.patch'), 'two');
    assert.notEqual(key(), k1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the builder version and the platform variables are part of every key', () => {
  const base = buildPlan(fakeTargets(['a.1'], { 'a.1': [] }), ctx).targets[0].key;
  assert.notEqual(buildPlan(fakeTargets(['a.1'], { 'a.1': [] }), { ...ctx, builderVersion: 'test-2' }).targets[0].key, base);
  assert.notEqual(
    buildPlan(fakeTargets(['a.1'], { 'a.1': [] }), { ...ctx, platform: { os: 'linux', arch: 'arm64' } }).targets[0].key,
    base,
  );
  // Variable order does not matter.
  assert.equal(buildPlan(fakeTargets(['a.1'], { 'a.1': [] }), { ...ctx, platform: { arch: 'x86_64', os: 'linux' } }).targets[0].key, base);
});

test('the same NAME.VERSION against different dependencies becomes different jobs', () => {
  const packages = new Map();
  const t1 = fakeTargets(['x.1'], { 'x.1': ['lib.1'], 'lib.1': [] }, packages);
  const t2 = fakeTargets(['y.1'], { 'y.1': ['x.1'], 'x.1': ['lib.2'], 'lib.2': [] }, packages);
  const plan = buildPlan([...t1, ...t2], ctx);
  assert.equal(keysById(plan).get('x.1')!.length, 2);
  assert.equal(plan.jobs.size, 5);
});

test('not-installable targets are listed with the reason and get no job', () => {
  const targets = fakeTargets(['a.1'], { 'a.1': [] });
  targets.push({ target: fakePackage('z.1'), outcome: { installable: false, reason: 'missing dependency q' } });
  const plan = buildPlan(targets, ctx);
  assert.deepEqual(plan.notInstallable, [{ id: 'z.1', reason: 'missing dependency q' }]);
  assert.equal(plan.jobs.size, 1);
});

test('critical path, heights and fan-out', () => {
  const plan = buildPlan(fakeTargets(['c.1', 'd.1'], deps('comp.1')), ctx);
  const g = analysePlan(plan);
  assert.deepEqual(
    g.criticalPath.map((k) => plan.jobs.get(k)!.id),
    ['comp.1', 'a.1', 'b.1', 'c.1'],
  );
  assert.equal(g.edgeCount, 6);
  const byId = (id: string) => [...plan.jobs.values()].find((j) => j.id === id)!.key;
  assert.equal(g.height.get(byId('comp.1')), 4);
  assert.equal(g.height.get(byId('conf-gmp.1')), 2);
  assert.equal(g.fanOut.get(byId('a.1')), 2);
  const json = planToJson(plan, g);
  assert.equal(json.jobCount, 6);
  assert.equal(json.criticalPathLength, 4);
  assert.equal(json.jobs.length, 6);
});

test('a malformed solution loses its target only, with the reason', () => {
  const targets = fakeTargets(['a.1', 'b.1'], { 'a.1': [], 'b.1': ['a.1'] });
  const broken = fakeTargets(['c.1'], { 'c.1': ['a.1'] });
  if (broken[0].outcome.installable) broken[0].outcome.solution.buildDependencies.set('c.1', ['ghost.1']);
  const plan = buildPlan([...targets, ...broken], ctx);
  assert.deepEqual(
    plan.targets.map((t) => t.id),
    ['a.1', 'b.1'],
  );
  assert.equal(plan.notInstallable.length, 1);
  assert.match(plan.notInstallable[0].reason, /^internal error, no plan: the solution for c\.1 names ghost\.1, which is not in it$/);
});
