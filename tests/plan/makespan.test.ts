/** Predicted makespans of small DAGs, against answers computed by hand. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan } from '../../src/plan/build-plan.js';
import type { Plan } from '../../src/plan/job.js';
import type { CostLookup } from '../../src/plan/job-cost.js';
import { predictMakespan, simulateSchedule } from '../../src/plan/makespan.js';
import { PlanError } from '../../src/plan/plan-error.js';
import { fakeTargets } from '../support/plan-fixture-packages.js';

/** The builds alone: these small plans are in ms, a stage's overhead (minutes) would hide them. */
const BUILDS_ONLY = { stageOverheadMs: 0 };

const ctx = { builderVersion: 'test-1', platform: { os: 'linux', arch: 'x86_64' } };

function planOf(targets: string[], deps: Record<string, string[]>): Plan {
  return buildPlan(fakeTargets(targets, deps), ctx);
}

function costsById(plan: Plan, ms: Record<string, number>): CostLookup {
  const idOf = new Map([...plan.jobs.values()].map((j) => [j.key, j.id]));
  return { byKey: (key) => ms[idOf.get(key)!] };
}

function startOf(plan: Plan, sim: ReturnType<typeof simulateSchedule>, id: string): number {
  const key = [...plan.jobs.values()].find((j) => j.id === id)!.key;
  return sim.schedule.get(key)!.startMs;
}

test('a chain takes the sum of its costs whatever the cores', () => {
  const plan = planOf(['c.1'], { 'b.1': ['a.1'], 'c.1': ['b.1'] });
  const costs = costsById(plan, { 'a.1': 1, 'b.1': 2, 'c.1': 3 });
  for (const cores of [1, 2, 8]) {
    const sim = simulateSchedule(plan, cores, costs);
    assert.equal(sim.makespanMs, 6);
    assert.equal(sim.criticalPathMs, 6);
    assert.equal(sim.workMs, 6);
  }
});

test('a diamond: 8 on one core, 7 on two (r 0-2, x 2-5 beside y 2-3, t 5-7)', () => {
  const plan = planOf(['t.1'], { 'x.1': ['r.1'], 'y.1': ['r.1'], 't.1': ['x.1', 'y.1'] });
  const costs = costsById(plan, { 'r.1': 2, 'x.1': 3, 'y.1': 1, 't.1': 2 });
  assert.equal(simulateSchedule(plan, 1, costs).makespanMs, 8);
  const two = simulateSchedule(plan, 2, costs);
  assert.equal(two.makespanMs, 7);
  assert.equal(startOf(plan, two, 't.1'), 5);
});

test('critical path first: the head of the long chain starts before short independent jobs listed earlier', () => {
  // Plan order s1, s2, p, q. Heights: p 5, q 4, s1 2, s2 2. Two cores: p and s1 at 0, q at 1 (after p),
  // s2 at 2 (after s1): done at 5. Taking jobs in plan order instead would end at 7.
  const plan = planOf(['s1.1', 's2.1', 'q.1'], { 'q.1': ['p.1'] });
  const costs = costsById(plan, { 's1.1': 2, 's2.1': 2, 'p.1': 1, 'q.1': 4 });
  const sim = simulateSchedule(plan, 2, costs);
  assert.equal(sim.makespanMs, 5);
  assert.equal(startOf(plan, sim, 'p.1'), 0);
  assert.equal(startOf(plan, sim, 'q.1'), 1);
  assert.equal(startOf(plan, sim, 's2.1'), 2);
});

test('runners × cores: a shared dependency is built in both shards and counted as duplicated work', () => {
  // a and b (10 each) both need d (5).
  const plan = planOf(['a.1', 'b.1'], { 'a.1': ['d.1'], 'b.1': ['d.1'] });
  const costs = costsById(plan, { 'd.1': 5, 'a.1': 10, 'b.1': 10 });
  const twoRunners = predictMakespan(plan, 2, 1, costs, BUILDS_ONLY);
  assert.equal(twoRunners.makespanMs, 15);
  assert.deepEqual(
    twoRunners.shards.map((s) => [s.jobs, s.workMs, s.makespanMs]),
    [
      [2, 15, 15],
      [2, 15, 15],
    ],
  );
  assert.equal(twoRunners.totalWorkMs, 25);
  assert.equal(twoRunners.duplicatedWorkMs, 5);
  assert.equal(twoRunners.criticalPathMs, 15);
  const oneRunnerTwoCores = predictMakespan(plan, 1, 2, costs, BUILDS_ONLY);
  assert.equal(oneRunnerTwoCores.makespanMs, 15);
  assert.equal(oneRunnerTwoCores.duplicatedWorkMs, 0);
  assert.equal(predictMakespan(plan, 1, 1, costs, BUILDS_ONLY).makespanMs, 25);
});

test('unknown jobs get the stated estimate, and the prediction says which', () => {
  const plan = planOf(['a.1', 'b.1', 'c.1'], {});
  const p = predictMakespan(plan, 1, 1, costsById(plan, { 'a.1': 10, 'b.1': 30 }), BUILDS_ONLY);
  assert.equal(p.estimateMs, 20);
  assert.equal(p.estimatedJobs.length, 1);
  assert.equal(plan.jobs.get(p.estimatedJobs[0])!.id, 'c.1');
  assert.equal(p.makespanMs, 60);
  assert.match(p.estimateRule, /median/);
});

test('zero-cost (cached) jobs and an empty plan', () => {
  const plan = planOf(['b.1'], { 'b.1': ['a.1'] });
  const aKey = [...plan.jobs.values()].find((j) => j.id === 'a.1')!.key;
  assert.equal(simulateSchedule(plan, 2, { byKey: () => 7, cached: (k) => k === aKey }).makespanMs, 7);
  const empty: Plan = { jobs: new Map(), targets: [], notInstallable: [] };
  assert.equal(predictMakespan(empty, 3, 2, { byKey: () => 1 }, BUILDS_ONLY).makespanMs, 0);
});

test('runners and cores must be whole numbers of 1 or more', () => {
  const plan = planOf(['a.1'], {});
  assert.throws(
    () => predictMakespan(plan, 0, 2, { byKey: () => 1 }),
    (e: unknown) => e instanceof PlanError && e.subject?.setting === 'runners',
  );
  assert.throws(
    () => predictMakespan(plan, 2, 1.5, { byKey: () => 1 }),
    (e: unknown) => e instanceof PlanError && e.subject?.setting === 'cores',
  );
});

test('prebuilt jobs: built once by a first job before the shards, free in every shard, counted once in the work', () => {
  const plan = planOf(['a.1', 'b.1'], { 'a.1': ['comp.1'], 'b.1': ['comp.1'] });
  const costs = costsById(plan, { 'comp.1': 10, 'a.1': 5, 'b.1': 5 });
  const comp = [...plan.jobs.values()].find((j) => j.id === 'comp.1')!.key;
  const without = predictMakespan(plan, 2, 1, costs, BUILDS_ONLY);
  assert.deepEqual([without.makespanMs, without.duplicatedWorkMs, without.totalWorkMs, without.prebuiltJobs], [15, 10, 20, 0]);
  const once = predictMakespan(plan, 2, 1, costs, { ...BUILDS_ONLY, prebuilt: new Set([comp]) });
  // The first job takes 10, then each shard 5; nothing is built twice.
  assert.deepEqual(
    [once.makespanMs, once.prebuiltMakespanMs, once.prebuiltWorkMs, once.duplicatedWorkMs, once.totalWorkMs, once.prebuiltJobs],
    [15, 10, 10, 0, 20, 1],
  );
  assert.deepEqual(
    once.shards.map((s) => s.workMs),
    [5, 5],
  );
});
