/** Shards of a plan: balanced by predicted cost, closed under dependencies, duplicated work stated, deterministic. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan } from '../../src/plan/build-plan.js';
import type { Plan } from '../../src/plan/job.js';
import { DEFAULT_ESTIMATE_MS, jobCosts, type CostLookup } from '../../src/plan/job-cost.js';
import { parseShardSpec, partitionPlan, shardPlan } from '../../src/plan/shard.js';
import { PlanError } from '../../src/plan/plan-error.js';
import { fakeTargets } from '../support/plan-fixture-packages.js';

const ctx = { builderVersion: 'test-1', platform: { os: 'linux', arch: 'x86_64' } };

function planOf(targets: string[], deps: Record<string, string[]>): Plan {
  return buildPlan(fakeTargets(targets, deps), ctx);
}

/** A cost lookup by `NAME.VERSION` for every job of the plan (by key, as a recorded run would answer). */
function costsById(plan: Plan, ms: Record<string, number>): CostLookup {
  const idOf = new Map([...plan.jobs.values()].map((j) => [j.key, j.id]));
  return { byKey: (key) => ms[idOf.get(key)!] };
}

function ids(plan: Plan, keys: Iterable<string>): string[] {
  return [...keys].map((k) => plan.jobs.get(k)!.id);
}

test('independent targets are balanced', () => {
  const costs = { 'a.1': 7, 'b.1': 5, 'c.1': 4, 'd.1': 3, 'e.1': 3, 'f.1': 2 };
  const plan = planOf(Object.keys(costs), {});
  const p = partitionPlan(plan, 2, costsById(plan, costs));
  assert.deepEqual(
    p.shards.map((s) => s.costMs),
    [12, 12],
  );
  assert.deepEqual(p.shards.flatMap((s) => s.targets.map((t) => t.id)).sort(), Object.keys(costs));
  // Where cones do not help, longest processing time first does: 3 shards of 8.
  const q = partitionPlan(planOf(['a.1', 'b.1', 'c.1', 'd.1', 'e.1', 'f.1'], {}), 3, costsById(plan, { ...costs }));
  assert.ok(Math.max(...q.shards.map((s) => s.costMs)) <= 9, `loads ${q.shards.map((s) => s.costMs)}`);
  assert.equal(p.totalCostMs, 24);
  assert.equal(p.duplicatedCostMs, 0);
  assert.deepEqual(p.costs.estimated, []);
});

test('targets sharing a costly dependency gather in one shard (affinity); nothing is duplicated', () => {
  const deps = { 'x1.1': ['bigx.1'], 'x2.1': ['bigx.1'], 'y1.1': ['bigy.1'], 'y2.1': ['bigy.1'] };
  const plan = planOf(['x1.1', 'y1.1', 'x2.1', 'y2.1'], deps);
  const p = partitionPlan(plan, 2, costsById(plan, { 'bigx.1': 100, 'bigy.1': 100, 'x1.1': 10, 'x2.1': 10, 'y1.1': 10, 'y2.1': 10 }));
  assert.deepEqual(
    p.shards.map((s) => ids(plan, s.jobs).sort()),
    [
      ['bigx.1', 'x1.1', 'x2.1'],
      ['bigy.1', 'y1.1', 'y2.1'],
    ],
  );
  assert.deepEqual(
    p.shards.map((s) => s.costMs),
    [120, 120],
  );
  assert.equal(p.duplicatedJobs, 0);
});

test('a dependency two shards need is in both, and its cost is counted as duplicated', () => {
  const plan = planOf(['a.1', 'b.1'], { 'a.1': ['comp.1'], 'b.1': ['comp.1'] });
  const p = partitionPlan(plan, 2, costsById(plan, { 'comp.1': 50, 'a.1': 10, 'b.1': 10 }));
  assert.deepEqual(
    p.shards.map((s) => ids(plan, s.jobs)),
    [
      ['comp.1', 'a.1'],
      ['comp.1', 'b.1'],
    ],
  );
  assert.equal(p.totalCostMs, 70);
  assert.equal(p.duplicatedCostMs, 50);
  assert.equal(p.duplicatedJobs, 1);
});

// A denser ecosystem: a compiler, two libraries of libraries, many leaves.
function ecosystem(): { plan: Plan; deps: Record<string, string[]>; targets: string[] } {
  const deps: Record<string, string[]> = {
    'ocaml.5': [],
    'dune.3': ['ocaml.5'],
    'base.1': ['dune.3'],
    'lwt.5': ['dune.3'],
    'core.1': ['base.1'],
  };
  const targets = ['dune.3', 'base.1', 'lwt.5', 'core.1'];
  for (let i = 0; i < 30; i++) {
    const id = `leaf${i}.1`;
    deps[id] = i % 3 === 0 ? ['core.1'] : i % 3 === 1 ? ['lwt.5'] : ['lwt.5', 'base.1'];
    if (i % 7 === 0) deps[id].push(`leaf${i + 1}.1`);
    targets.push(id);
  }
  return { plan: planOf(targets, deps), deps, targets };
}

test('every shard is closed under dependencies; the targets are a partition; the jobs a cover', () => {
  const { plan } = ecosystem();
  const ms: Record<string, number> = {};
  let n = 1;
  for (const j of plan.jobs.values()) ms[j.id] = ((n++ * 37) % 101) + 5;
  for (const count of [1, 2, 3, 5, 40]) {
    const p = partitionPlan(plan, count, costsById(plan, ms));
    assert.equal(p.shards.length, count);
    const seenTargets = new Set<string>();
    const covered = new Set<string>();
    for (let i = 1; i <= count; i++) {
      const sub = shardPlan(plan, count, i, costsById(plan, ms));
      const position = new Map([...sub.jobs.keys()].map((k, x) => [k, x]));
      for (const job of sub.jobs.values()) {
        covered.add(job.key);
        for (const d of [...job.dependencies, ...job.closure]) {
          assert.ok(sub.jobs.has(d), `shard ${i}/${count}: ${job.id} needs ${plan.jobs.get(d)!.id}`);
          assert.ok(position.get(d)! < position.get(job.key)!, 'build order kept');
        }
      }
      for (const t of sub.targets) {
        assert.ok(!seenTargets.has(t.id), `${t.id} in two shards`);
        seenTargets.add(t.id);
        assert.ok(sub.jobs.has(t.key));
      }
      assert.equal(sub.jobs.size, p.shards[i - 1].jobs.length);
    }
    assert.equal(seenTargets.size, plan.targets.length);
    assert.equal(covered.size, plan.jobs.size);
    const sum = p.shards.reduce((s, x) => s + x.costMs, 0);
    assert.equal(sum, p.totalCostMs + p.duplicatedCostMs);
    assert.equal(
      p.totalCostMs,
      Object.values(ms).reduce((s, x) => s + x, 0),
    );
  }
});

test('the split is deterministic and balanced within the largest target closure', () => {
  const { plan } = ecosystem();
  const lookup = { byKey: () => undefined, estimateMs: 1000 };
  const a = partitionPlan(plan, 4, lookup);
  const b = partitionPlan(plan, 4, lookup);
  assert.deepEqual(a.shards, b.shards);
  // Rebuilt from scratch, the same plan splits the same way.
  const c = partitionPlan(ecosystem().plan, 4, lookup);
  assert.deepEqual(
    c.shards.map((s) => s.targets.map((t) => t.id)),
    a.shards.map((s) => s.targets.map((t) => t.id)),
  );
  const loads = a.shards.map((s) => s.costMs);
  assert.ok(Math.max(...loads) - Math.min(...loads) <= 6000, `loads ${loads}`);
});

test('costs: by key, else by NAME.VERSION, else the median of the known ones; which jobs were estimated is said', () => {
  const plan = planOf(['a.1', 'b.1', 'c.1', 'd.1'], {});
  const byId = new Map([...plan.jobs.values()].map((j) => [j.id, j.key]));
  const costs = jobCosts(plan, {
    byKey: (k) => (k === byId.get('a.1') ? 100 : undefined),
    byPackage: (id) => (id === 'b.1' ? 300 : id === 'a.1' ? 9999 : undefined),
  });
  assert.equal(costs.cost.get(byId.get('a.1')!), 100);
  assert.equal(costs.cost.get(byId.get('b.1')!), 300);
  assert.equal(costs.estimateMs, 200);
  assert.match(costs.estimateRule, /median of 2/);
  assert.deepEqual(ids(plan, costs.estimated), ['c.1', 'd.1']);
  assert.equal(costs.source.get(byId.get('c.1')!), 'estimate');
  // Nothing known: the stated default. A cached job costs nothing.
  const none = jobCosts(plan, { byKey: () => undefined, cached: (k) => k === byId.get('d.1') });
  assert.equal(none.estimateMs, DEFAULT_ESTIMATE_MS);
  assert.equal(none.cost.get(byId.get('d.1')!), 0);
  assert.deepEqual(ids(plan, none.estimated), ['a.1', 'b.1', 'c.1']);
});

test('not-installable targets are carried by every shard; more shards than targets leaves shards empty', () => {
  const outcomes = fakeTargets(['a.1'], {});
  outcomes.push({ target: outcomes[0].target, outcome: { installable: false, reason: 'dup' } }); // same id: ignored
  const plan = buildPlan(outcomes, ctx);
  plan.notInstallable.push({ id: 'z.1', reason: 'conflict' });
  const lookup = { byKey: () => 5 };
  const s1 = shardPlan(plan, 3, 1, lookup);
  const s3 = shardPlan(plan, 3, 3, lookup);
  assert.deepEqual(
    s1.targets.map((t) => t.id),
    ['a.1'],
  );
  assert.equal(s3.jobs.size, 0);
  assert.deepEqual(s3.targets, []);
  assert.deepEqual(s3.notInstallable, [{ id: 'z.1', reason: 'conflict' }]);
});

test('shard specs: I/N parsed, bad ones are input errors about the shard', () => {
  assert.deepEqual(parseShardSpec('2/5'), { index: 2, count: 5 });
  for (const bad of ['0/3', '4/3', '1/0', 'x', '1/2/3', '-1/2']) {
    assert.throws(
      () => parseShardSpec(bad),
      (e: unknown) => e instanceof PlanError && e.kind === 'input' && e.subject?.setting === 'shard',
      bad,
    );
  }
  const plan = planOf(['a.1'], {});
  assert.throws(() => shardPlan(plan, 2, 3, { byKey: () => 1 }), PlanError);
  assert.throws(() => partitionPlan(plan, 0, { byKey: () => 1 }), PlanError);
});
