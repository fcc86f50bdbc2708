/**
 * The shard-merge rule as a pure function (issue 22: "shards can silently lose targets"): shards that
 * split the plan with different durations (each runner's own state) are refused naming the shards and
 * the partitions, a missing shard is refused naming its targets, a set whose targets do not add up to
 * the plan's is refused naming them; shards of one partition, all present, are merged into one run with
 * every target.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan } from '../../src/plan/build-plan.js';
import type { Plan } from '../../src/plan/job.js';
import type { Durations } from '../../src/plan/durations-file.js';
import { mergeShards, type ShardExport } from '../../src/compare/shard-merge.js';
import { RUN_EXPORT_FORMAT, RUN_EXPORT_VERSION, type RunExport } from '../../src/store/run-export-format.js';
import { DEFAULT_RUN_OPTIONS, type ShardRecord } from '../../src/store/runs.js';
import { planTargetIds, shardOfPlan } from '../../src/session/shard-record.js';
import { fakeTargets } from '../support/plan-fixture-packages.js';

// A toy ecosystem: a compiler, two libraries, six leaves.
const deps: Record<string, string[]> = {
  'comp.1': [],
  'lib.1': ['comp.1'],
  'util.1': ['comp.1'],
  't1.1': ['lib.1'],
  't2.1': ['lib.1'],
  't3.1': ['util.1'],
  't4.1': ['util.1'],
  't5.1': ['comp.1'],
  't6.1': ['lib.1', 'util.1'],
};
const TARGETS = ['t1.1', 't2.1', 't3.1', 't4.1', 't5.1', 't6.1'];

function wholePlan(): Plan {
  const plan = buildPlan(fakeTargets(TARGETS, deps), { builderVersion: 'b-1', platform: { os: 'linux' } });
  plan.notInstallable.push({ id: 'old.1', reason: 'conflict' });
  return plan;
}

/** Durations as one runner's state recorded them: `slow` took long, every other job a second. */
/** A durations file in which the jobs of `slow` took ten minutes, the others a second. */
function durations(plan: Plan, slow: string[]): Durations {
  return { byKey: new Map([...plan.jobs.values()].map((j) => [j.key, slow.includes(j.id) ? 600_000 : 1_000])), byPackage: new Map() };
}

/** What shard `spec` exports when it built its part of the plan (every job ok). */
function shardExport(sub: Plan, shard: ShardRecord): RunExport {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    format: RUN_EXPORT_FORMAT,
    version: RUN_EXPORT_VERSION,
    shard,
    run: {
      id: 1,
      kind: 'candidate',
      label: null,
      compilerSpec: 'comp.1',
      repositories: ['/repo'],
      repositoryHash: 'h',
      targets: { kind: 'latest' },
      options: { ...DEFAULT_RUN_OPTIONS, builderVersion: 'b-1', shard },
      status: 'finished',
      startedAt: at,
      finishedAt: at,
      jobCount: sub.jobs.size,
      targetCount: sub.targets.length + sub.notInstallable.length,
      against: null,
      retryOf: null,
    },
    targets: [
      ...sub.targets.map((t) => {
        const j = sub.jobs.get(t.key)!;
        return { packageId: t.id, name: j.package.name, version: j.package.version, jobKey: t.key, reason: null };
      }),
      ...sub.notInstallable.map((t) => ({ packageId: t.id, name: t.id.split('.')[0], version: '1', jobKey: null, reason: t.reason })),
    ],
    jobs: [...sub.jobs.values()].map((j) => ({
      key: j.key,
      name: j.package.name,
      version: j.package.version,
      dependencies: [...j.dependencies],
    })),
    runJobs: [...sub.jobs.values()].map((j) => ({
      jobKey: j.key,
      status: 'ok' as const,
      reason: '',
      rootCauseKey: null,
      rootCause: null,
      rootCauses: null,
      durationMs: 1,
      exitCode: 0,
      logPath: null,
      logTail: '',
      cached: false,
      finishedAt: at,
      extra: {},
    })),
    results: [],
    logs: null,
    missingLogs: [],
  };
}

/** Shard `index` of `count` as a runner with the given durations computes and exports it. */
function runner(plan: Plan, index: number, count: number, given: Durations): ShardExport<RunExport> {
  const { plan: sub, record } = shardOfPlan(plan, { index, count, durations: given });
  return { source: `shard-${index}.json`, export: shardExport(sub, record) };
}

test('shards that split with different durations: the partitions differ, and a target would be lost; refused, naming the shards', () => {
  const plan = wholePlan();
  // Runner 1 was given durations in which t1's build is slow, runner 2 durations in which t4's is: each balances its split by its own numbers.
  const one = runner(plan, 1, 2, durations(plan, ['t1.1']));
  const two = runner(plan, 2, 2, durations(plan, ['t4.1']));
  const union = new Set([...one.export.targets, ...two.export.targets].map((t) => t.packageId));
  const lost = planTargetIds(plan).filter((id) => !union.has(id));
  assert.ok(lost.length > 0, 'the two splits together lack a target: what the issue saw merged as "2 of 2 shards"');

  const r = mergeShards([one, two]);
  assert.equal(r.merged, undefined, 'never a merged run that lacks a target');
  assert.match(r.refused!, /different partitions/);
  assert.match(r.refused!, /shard 1 \(shard-1\.json\) partition [0-9a-f]{12}; shard 2 \(shard-2\.json\) partition [0-9a-f]{12}/);
});

test('a missing shard: refused, naming the shard and the targets no export has', () => {
  const plan = wholePlan();
  const costs = durations(plan, ['t1.1']);
  const shards = [1, 2, 3].map((i) => runner(plan, i, 3, costs));
  const r = mergeShards([shards[0], shards[2]]);
  assert.equal(r.merged, undefined);
  const own = shards[1].export.targets
    .map((t) => t.packageId)
    .filter((id) => !shards[0].export.targets.concat(shards[2].export.targets).some((t) => t.packageId === id));
  assert.ok(own.length > 0);
  assert.match(r.refused!, /shard 2 of 3 is missing/);
  for (const id of own) assert.ok(r.refused!.includes(id), `${id} is named: ${r.refused}`);
});

test('every shard of one partition: merged, with exactly the plan targets, each job once', () => {
  const plan = wholePlan();
  const costs = durations(plan, ['t6.1']);
  const shards = [1, 2, 3].map((i) => runner(plan, i, 3, costs));
  const r = mergeShards([shards[2], shards[0], shards[1]]);
  assert.equal(r.refused, undefined, r.refused);
  const m = r.merged!;
  assert.deepEqual(
    m.targets.map((t) => t.packageId),
    planTargetIds(plan),
  );
  assert.deepEqual(m.runJobs.map((j) => j.jobKey).sort(), [...plan.jobs.keys()].sort());
  assert.deepEqual([m.shards, m.shardCount, m.status], [[1, 2, 3], 3, 'finished']);
  assert.ok(m.duplicatedJobs > 0, 'comp.1 was built by more than one shard');
  assert.equal(m.base.options.shard?.index, 1, 'the lowest shard is the base: the session drops its shard');
  // Pure: the same exports, the same answer (and the same content hash, whatever their order).
  assert.equal(mergeShards(shards).merged!.importHash, m.importHash);
});

test('shards that planned different targets, a target no shard has, a target the plan lacks, a shard without a partition: each refused, naming it', () => {
  const plan = wholePlan();
  const costs = durations(plan, []);
  const [one, two] = [1, 2].map((i) => runner(plan, i, 2, costs));
  const withShard = (x: ShardExport<RunExport>, shard: ShardRecord, targets = x.export.targets): ShardExport<RunExport> => ({
    source: x.source,
    export: { ...x.export, shard, targets, run: { ...x.export.run, options: { ...x.export.run.options, shard } } },
  });

  // Another plan (a repository that moved between the runners' checkouts): one more target.
  const otherPlan = withShard(two, { ...two.export.shard!, planTargets: [...two.export.shard!.planTargets!, 'new.1'].sort() });
  assert.match(
    mergeShards([one, otherPlan]).refused!,
    /the shards planned different targets: shard 1 \(shard-1\.json\) planned 7 targets; shard 2 \(shard-2\.json\) planned 8 \(also new\.1\)/,
  );

  // Same plan and partition, but a target dropped from a shard's records: named.
  const dropped = two.export.targets.find((t) => t.jobKey !== null)!;
  const lacking = withShard(
    two,
    two.export.shard!,
    two.export.targets.filter((t) => t !== dropped),
  );
  assert.match(
    mergeShards([one, lacking]).refused!,
    new RegExp(`1 target\\(s\\) of the plan are in no shard: ${dropped.packageId.replace('.', '\\.')}`),
  );

  // A target that is not the plan's.
  const extra = withShard(two, two.export.shard!, [
    ...two.export.targets,
    { packageId: 'stray.1', name: 'stray', version: '1', jobKey: null, reason: 'x' },
  ]);
  assert.match(mergeShards([one, extra]).refused!, /shard 2 \(shard-2\.json\) has target\(s\) the plan does not: stray\.1/);

  // Recorded by an older ecocheck: no partition to compare.
  const old = withShard(two, { index: 2, count: 2, partition: null, planTargets: null });
  assert.match(mergeShards([one, old]).refused!, /shard 2 \(shard-2\.json\) recorded no partition and plan/);

  // And the two good ones merge.
  assert.equal(mergeShards([one, two]).refused, undefined);
});

test('runners given durations of their own (one none at all), split into 2 to 4 shards: merged with every target, or refused; never a run that lacks a target', () => {
  const plan = wholePlan();
  const ids = [...plan.jobs.values()].map((j) => j.id);
  // A small deterministic generator: the same cases every time, none written by hand.
  let seed = 25;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const someState = (): Durations => {
    if (random() < 0.2) return { byKey: new Map(), byPackage: new Map() }; // a runner that missed the cache: no durations
    return durations(
      plan,
      ids.filter(() => random() < 0.3),
    );
  };
  let merged = 0;
  let refused = 0;
  for (let round = 0; round < 60; round++) {
    const count = 2 + (round % 3);
    const shared = random() < 0.4 ? someState() : null;
    const shards = Array.from({ length: count }, (_, i) => runner(plan, i + 1, count, shared ?? someState()));
    const r = mergeShards(shards);
    if (r.merged !== undefined) {
      merged++;
      assert.deepEqual(
        r.merged.targets.map((t) => t.packageId),
        planTargetIds(plan),
        `round ${round}: every target, once`,
      );
    } else {
      refused++;
      assert.match(r.refused!, /different partitions/, `round ${round}`);
    }
  }
  assert.ok(merged > 0 && refused > 0, `both outcomes met: ${merged} merged, ${refused} refused`);
});
