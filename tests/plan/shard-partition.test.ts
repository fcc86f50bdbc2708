/**
 * The partition every shard of a check computes alike: from the plan, the durations file that travels
 * with the check (else the stated estimate) and N only; its identity changes with any of them; and the
 * split by dependency cones duplicates little on an ecosystem with shared stacks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job, Plan } from '../../src/plan/job.js';
import type { OpamPackage } from '../../src/opam/package-model.js';
import {
  durationsLookup,
  formatDurations,
  NO_DURATIONS,
  parseDurations,
  readDurationsFile,
  type Durations,
} from '../../src/plan/durations-file.js';
import { partitionIdentity, partitionPlan, prebuiltJobs, withPrebuilt } from '../../src/plan/shard.js';
import { checkPartition, selectShard, STAGE_OVERHEAD_MS } from '../../src/plan/check-partition.js';
import { jobCosts } from '../../src/plan/job-cost.js';
import { lowerBound, predictMakespan } from '../../src/plan/makespan.js';
import { PlanError } from '../../src/plan/plan-error.js';

/** A plan straight from a dependency table (keys are the ids: the split reads only keys, ids and edges). */
function graphPlan(deps: Record<string, string[]>, targets: string[], notInstallable: string[] = []): Plan {
  const jobs = new Map<string, Job>();
  const visit = (id: string): Job => {
    const known = jobs.get(id);
    if (known !== undefined) return known;
    const closure = new Set<string>();
    for (const d of deps[id] ?? []) {
      for (const c of visit(d).closure) closure.add(c);
      closure.add(`k-${d}`);
    }
    const dot = id.indexOf('.');
    const job: Job = {
      key: `k-${id}`,
      id,
      package: { name: id.slice(0, dot), version: id.slice(dot + 1) } as OpamPackage,
      dependencies: (deps[id] ?? []).map((d) => `k-${d}`),
      closure: [...closure],
    };
    jobs.set(id, job);
    return job;
  };
  for (const t of targets) visit(t);
  // Keys in build order (dependencies first), as buildPlan keeps them; closures in that order too.
  const ordered = new Map<string, Job>();
  const order = [...jobs.values()];
  const position = new Map(order.map((j, i) => [j.key, i]));
  for (const j of order) ordered.set(j.key, { ...j, closure: [...j.closure].sort((a, b) => position.get(a)! - position.get(b)!) });
  return {
    jobs: ordered,
    targets: targets.map((id) => ({ id, key: `k-${id}` })),
    notInstallable: notInstallable.map((id) => ({ id, reason: 'conflict' })),
  };
}

function durations(byPackage: Record<string, number>): Durations {
  return { byPackage: new Map(Object.entries(byPackage)), byKey: new Map() };
}

/**
 * A small ecosystem with stacks: a compiler, a build system, three stacks (a costly base each, and
 * libraries on it), and many leaves on one or two libraries of a stack; a few use two stacks.
 */
function stacks(leavesPerStack = 40): { deps: Record<string, string[]>; targets: string[] } {
  const deps: Record<string, string[]> = { 'ocaml.5': [], 'dune.3': ['ocaml.5'] };
  const targets = ['dune.3'];
  for (const s of ['js', 'lwt', 'coq']) {
    deps[`${s}-base.1`] = ['dune.3'];
    targets.push(`${s}-base.1`);
    for (let l = 0; l < 6; l++) {
      deps[`${s}-lib${l}.1`] = [`${s}-base.1`, ...(l > 0 ? [`${s}-lib${l - 1}.1`] : [])];
      targets.push(`${s}-lib${l}.1`);
    }
    for (let i = 0; i < leavesPerStack; i++) {
      const id = `${s}-leaf${i}.1`;
      deps[id] = [`${s}-lib${i % 6}.1`, ...(i % 5 === 0 ? [`${s}-lib${(i + 2) % 6}.1`] : [])];
      targets.push(id);
    }
  }
  for (let i = 0; i < 30; i++) {
    deps[`solo${i}.1`] = ['dune.3'];
    targets.push(`solo${i}.1`);
  }
  // Interleave the targets (as alphabetical order would mix stacks): the split must find the cones.
  targets.sort((a, b) => (a.length % 3) - (b.length % 3) || a.localeCompare(b));
  return { deps, targets };
}

test("every shard computes the same partition from the plan, the shared durations and N: together exactly the plan's targets, each once", () => {
  const { deps, targets } = stacks();
  const d = durations({ 'ocaml.5': 600_000, 'dune.3': 60_000, 'js-base.1': 120_000 });
  for (const count of [1, 3, 4, 7]) {
    const seen: string[] = [];
    const identities = new Set<string>();
    for (let index = 1; index <= count; index++) {
      // Each shard plans on its own (a fresh plan object), as each runner does.
      const s = selectShard(graphPlan(deps, targets, ['broken.1']), { index, count, durations: d });
      identities.add(s.partition);
      seen.push(...s.plan.targets.map((t) => t.id));
      assert.deepEqual(
        s.plan.notInstallable.map((t) => t.id),
        ['broken.1'],
        'every shard carries the not-installable targets',
      );
      for (const job of s.plan.jobs.values()) for (const c of job.closure) assert.ok(s.plan.jobs.has(c), 'closed under dependencies');
    }
    assert.equal(identities.size, 1, `one identity for ${count} shards`);
    assert.deepEqual(seen.sort(), [...targets].sort(), `${count} shards: every target exactly once`);
  }
});

test('the partition depends on nothing but its inputs: what a runner recorded or cached does not move a target', () => {
  const { deps, targets } = stacks();
  const plan = graphPlan(deps, targets);
  const shared = durations({ 'ocaml.5': 600_000, 'js-base.1': 90_000 });
  const a = selectShard(plan, { index: 2, count: 4, durations: shared });
  // The same durations read back from the file they travel in.
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-durations-'));
  try {
    const file = join(dir, 'durations.json');
    writeFileSync(file, formatDurations(shared));
    const b = selectShard(graphPlan(deps, targets), { index: 2, count: 4, durations: readDurationsFile(file) });
    assert.deepEqual(b.plan.targets, a.plan.targets);
    assert.equal(b.partition, a.partition);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // No durations: the stated estimate for every job, the same for every shard.
  const none1 = selectShard(plan, { index: 1, count: 4 });
  const none2 = selectShard(graphPlan(deps, targets), { index: 1, count: 4, durations: NO_DURATIONS });
  assert.equal(none1.partition, none2.partition);
  assert.deepEqual(none1.plan.targets, none2.plan.targets);
  assert.notEqual(none1.partition, a.partition);
});

test('the identity changes with the durations used, N and the plan; not with durations of jobs the plan does not have', () => {
  const { deps, targets } = stacks();
  const plan = graphPlan(deps, targets);
  const d = { 'ocaml.5': 600_000, 'lwt-base.1': 50_000 };
  const id = partitionIdentity(plan, durationsLookup(durations(d)), 4);
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(partitionIdentity(graphPlan(deps, targets), durationsLookup(durations(d)), 4), id);
  assert.equal(
    partitionIdentity(plan, durationsLookup(durations({ ...d, 'elsewhere.1': 5 })), 4),
    id,
    'a package outside the plan changes nothing',
  );
  assert.notEqual(partitionIdentity(plan, durationsLookup(durations({ ...d, 'lwt-base.1': 50_001 })), 4), id, 'a duration');
  assert.notEqual(partitionIdentity(plan, durationsLookup(durations(d)), 5), id, 'N');
  assert.notEqual(
    partitionIdentity(graphPlan({ ...deps, 'new.1': ['dune.3'] }, [...targets, 'new.1']), durationsLookup(durations(d)), 4),
    id,
    'a target more',
  );
  assert.notEqual(
    partitionIdentity(graphPlan(deps, targets, ['broken.1']), durationsLookup(durations(d)), 4),
    id,
    'a not-installable target more',
  );
  // A job built against another dependency is another job.
  assert.notEqual(
    partitionIdentity(graphPlan({ ...deps, 'solo3.1': ['js-base.1'] }, targets), durationsLookup(durations(d)), 4),
    id,
    'an edge',
  );
});

test('cones: shards of stacks duplicate only what every stack needs, balanced', () => {
  const { deps, targets } = stacks();
  const plan = graphPlan(deps, targets);
  const ms: Record<string, number> = { 'ocaml.5': 100, 'dune.3': 20 };
  for (const s of ['js', 'lwt', 'coq']) ms[`${s}-base.1`] = 50;
  const costs = { byKey: (k: string) => ms[k.slice(2)], estimateMs: 5 };
  const p = partitionPlan(plan, 3, costs);
  const total = p.totalCostMs;
  // Ideal: one stack a shard, the solo packages spread; only the compiler and dune built three times.
  assert.equal(
    p.duplicatedCostMs,
    2 * (100 + 20),
    `duplicated ${p.duplicatedCostMs} of ${total}: ${p.shards.map((s) => s.targets.length)}`,
  );
  const loads = p.shards.map((s) => s.costMs);
  assert.ok(Math.max(...loads) <= ((total + p.duplicatedCostMs) / 3) * 1.1, `balanced: ${loads}`);
  for (const s of p.shards) {
    const stacksIn = new Set(s.jobs.map((k) => k.slice(2).split('-')[0]).filter((n) => ['js', 'lwt', 'coq'].includes(n)));
    assert.equal(stacksIn.size, 1, `shard ${s.index} holds one stack: ${[...stacksIn]}`);
  }
});

test("cones on a larger ecosystem: duplication and makespan within the issue's goal, far below a split that ignores cones", () => {
  // 12 stacks of 4 layered libraries on a costly base, 25 leaves each, 120 packages on dune alone.
  const deps: Record<string, string[]> = { 'ocaml.5': [], 'dune.3': ['ocaml.5'], 'findlib.1': ['ocaml.5'] };
  const targets: string[] = [];
  for (let s = 0; s < 12; s++) {
    deps[`s${s}base.1`] = ['dune.3', 'findlib.1'];
    for (let l = 0; l < 4; l++) deps[`s${s}lib${l}.1`] = [l === 0 ? `s${s}base.1` : `s${s}lib${l - 1}.1`];
    for (let i = 0; i < 25; i++) deps[`s${s}leaf${i}.1`] = [`s${s}lib${i % 4}.1`];
  }
  for (let i = 0; i < 120; i++) deps[`plain${i}.1`] = ['dune.3'];
  for (const id of Object.keys(deps)) targets.push(id);
  targets.sort();
  const plan = graphPlan(deps, targets);
  const costs = { byKey: () => undefined, estimateMs: 60_000 };
  const N = 6;
  const C = 4;
  // The partition alone (its builds; a stage's overhead is the workflow's, not the split's).
  const p = predictMakespan(plan, N, C, costs, { stageOverheadMs: 0 });
  const duplication = (p.totalWorkMs + p.duplicatedWorkMs) / p.totalWorkMs;
  const bound = Math.max(p.criticalPathMs, p.totalWorkMs / (N * C));
  assert.ok(duplication <= 1.3, `duplication ${duplication.toFixed(3)}`);
  assert.ok(p.makespanMs <= 1.2 * bound, `makespan ${p.makespanMs} > 1.2 × ${bound}`);
  // Targets dealt out in turn (what a split by name or by index does): each shard needs every stack.
  let dealt = 0;
  const perShard = Array.from({ length: N }, () => new Set<string>());
  targets.forEach((t, i) => {
    const job = plan.jobs.get(`k-${t}`)!;
    for (const k of [...job.closure, job.key]) perShard[i % N].add(k);
  });
  for (const s of perShard) dealt += s.size;
  assert.ok(
    dealt / plan.jobs.size > duplication + 0.5,
    `dealt in turn: ${(dealt / plan.jobs.size).toFixed(3)} against ${duplication.toFixed(3)}`,
  );
});

test('durations file: read back as written (keys sorted, same bytes); a bad one is named with what is wrong', () => {
  const d: Durations = {
    byPackage: new Map([
      ['b.1', 20],
      ['a.1', 10.4],
    ]),
    byKey: new Map([['ff', 3]]),
  };
  const text = formatDurations(d);
  const back = parseDurations(text, 'd.json');
  assert.deepEqual(
    [...back.byPackage],
    [
      ['a.1', 10],
      ['b.1', 20],
    ],
  );
  assert.equal(
    formatDurations(back),
    formatDurations(
      parseDurations(
        formatDurations({
          byPackage: new Map([
            ['a.1', 10],
            ['b.1', 20],
          ]),
          byKey: new Map([['ff', 3]]),
        }),
        'x',
      ),
    ),
  );
  assert.ok(text.indexOf('"a.1"') < text.indexOf('"b.1"'));
  const bad = (t: string, re: RegExp) =>
    assert.throws(
      () => parseDurations(t, 'd.json'),
      (e: unknown) => e instanceof PlanError && e.kind === 'input' && /^d\.json: /.test(e.message) && re.test(e.message),
    );
  bad('{', /not JSON/);
  bad('{"format":"other"}', /not a durations file/);
  bad('{"format":"ecocheck-durations","version":9}', /version 9/);
  bad('{"format":"ecocheck-durations","version":1,"byPackage":{"a.1":-1}}', /byPackage\.a\.1 .*-1/);
  bad('{"format":"ecocheck-durations","version":1,"byKey":[]}', /byKey must be an object/);
  assert.throws(
    () => readDurationsFile('/nonexistent/d.json'),
    (e: unknown) => e instanceof PlanError && /cannot read the durations file \/nonexistent\/d\.json: ENOENT/.test(e.message),
  );
});

test("prebuilt: the compiler and what at least a tenth of the targets need, closed under dependencies; free in every shard's split", () => {
  const deps: Record<string, string[]> = {
    'ocaml-base-compiler.5': [],
    'ocaml.5': ['ocaml-base-compiler.5'],
    'dune.3': ['ocaml.5'],
    'rare.1': ['dune.3'],
  };
  const targets: string[] = ['rare.1'];
  for (let i = 0; i < 30; i++) {
    deps[`p${i}.1`] = ['dune.3'];
    targets.push(`p${i}.1`);
  }
  deps['top.1'] = ['rare.1'];
  targets.push('top.1');
  const plan = graphPlan(deps, targets);
  assert.deepEqual([...prebuiltJobs(plan)].map((k) => k.slice(2)).sort(), ['dune.3', 'ocaml-base-compiler.5', 'ocaml.5']);
  assert.deepEqual(
    [...prebuiltJobs(plan, 2)].map((k) => k.slice(2)).sort(),
    ['ocaml-base-compiler.5', 'ocaml.5'],
    'above 1: the compiler alone',
  );
  // selectShard's identity is the one of the costs with the chosen prebuilt jobs free (checkPartition).
  const d = durations({ 'ocaml-base-compiler.5': 600_000, 'dune.3': 30_000 });
  const costs = jobCosts(plan, durationsLookup(d));
  const chosen = checkPartition(plan, 3, costs);
  const selected = selectShard(plan, { index: 1, count: 3, durations: d });
  assert.equal(selected.partition, partitionIdentity(plan, chosen.costs, 3));
  assert.deepEqual([...selected.prebuilt].sort(), [...chosen.prebuilt].sort());
  assert.notEqual(partitionIdentity(plan, costs, 3), partitionIdentity(plan, chosen.costs, 3));
});

test('the first job builds what pays: a job every shard needs, not a costly job two shards of four need (it would delay all four)', () => {
  // dune: every target needs it. heavy: a long build that more targets need than one shard holds.
  const deps: Record<string, string[]> = {
    'ocaml-base-compiler.5': [],
    'ocaml.5': ['ocaml-base-compiler.5'],
    'dune.3': ['ocaml.5'],
    'heavy.1': ['dune.3'],
  };
  // 8 targets on heavy (with it, more than a quarter of the work: two shards need it), 16 on dune alone.
  const targets: string[] = [];
  for (let i = 0; i < 24; i++) {
    const id = `t${i}.1`;
    deps[id] = i < 8 ? ['heavy.1'] : ['dune.3'];
    targets.push(id);
  }
  const plan = graphPlan(deps, targets);
  const ms: Record<string, number> = { 'ocaml-base-compiler.5': 600, 'ocaml.5': 30, 'dune.3': 60, 'heavy.1': 400 };
  const costs = jobCosts(plan, { byKey: (k) => ms[k.slice(2)] ?? 100 });
  const chosen = checkPartition(plan, 4, costs);
  const ids = [...chosen.prebuilt].map((k) => k.slice(2)).sort();
  assert.ok(ids.includes('dune.3'), `dune comes first: ${ids}`);
  assert.ok(!ids.includes('heavy.1'), `heavy is built where it is needed: ${ids}`);
  for (const k of chosen.prebuilt)
    for (const dep of plan.jobs.get(k)!.closure) assert.ok(chosen.prebuilt.has(dep), 'closed under dependencies');
  // Compared with a first job that builds heavy too: the chosen split is predicted faster.
  const withHeavy = predictMakespan(plan, 4, 4, costs, { prebuilt: new Set([...chosen.prebuilt, 'k-heavy.1']) });
  const mine = predictMakespan(plan, 4, 4, costs, { prebuilt: 'choose' });
  assert.deepEqual(mine.prebuiltKeys.sort(), [...chosen.prebuilt].sort());
  assert.ok(mine.makespanMs < withHeavy.makespanMs, `${mine.makespanMs} < ${withHeavy.makespanMs}`);
  assert.ok(mine.makespanMs >= mine.lowerBoundMs && mine.lowerBoundMs >= mine.criticalPathMs);
});

test('the lower bound: the compiler before anything that needs it, then the rest of the work over every core', () => {
  const deps: Record<string, string[]> = { 'ocaml-base-compiler.5': [] };
  const targets: string[] = [];
  for (let i = 0; i < 40; i++) {
    deps[`p${i}.1`] = ['ocaml-base-compiler.5'];
    targets.push(`p${i}.1`);
  }
  const plan = graphPlan(deps, targets);
  const costs = { byKey: (k: string) => (k === 'k-ocaml-base-compiler.5' ? 600 : 60) };
  // 2 runners of 4 cores: the critical path is 660, the work ÷ 8 is 375; nothing starts before the compiler's 600.
  const p = predictMakespan(plan, 2, 4, costs, { prebuilt: 'choose' });
  assert.equal(p.criticalPathMs, 660);
  assert.equal(
    lowerBound(plan, (k) => costs.byKey(k), 8),
    600 + (40 * 60) / 8,
  );
  assert.equal(p.lowerBoundMs, 900);
  // The compiler first, then each shard 20 jobs of 60 on 4 cores: exactly the bound, and the two stages' overheads.
  assert.equal(p.makespanMs, 900 + 2 * p.stageOverheadMs);
  assert.equal(p.stageOverheadMs, STAGE_OVERHEAD_MS);
  assert.deepEqual(p.prebuiltKeys, ['k-ocaml-base-compiler.5']);
});

/**
 * Twelve shared libraries of half an hour each (on the compiler alone), 64 leaves of ten minutes on
 * three of them each, 16 leaves on the compiler alone, 4 runners of 4 cores: the first job cannot build the libraries without holding
 * every runner for two hours, the shards cannot without each building most of them; a wave builds them
 * on the four runners in half an hour, with leaves that need only the compiler in its idle cores.
 */
function sharedLibraries(): { plan: Plan; costs: ReturnType<typeof jobCosts> } {
  const MIN = 60_000;
  const deps: Record<string, string[]> = { 'ocaml-base-compiler.5': [], 'ocaml.5': ['ocaml-base-compiler.5'] };
  const ms: Record<string, number> = { 'ocaml-base-compiler.5': 10 * MIN, 'ocaml.5': MIN };
  for (let l = 0; l < 12; l++) {
    deps[`lib${l}.1`] = ['ocaml.5'];
    ms[`lib${l}.1`] = 30 * MIN;
  }
  const targets: string[] = [];
  for (let i = 0; i < 64; i++) {
    deps[`leaf${i}.1`] = [...new Set([`lib${i % 12}.1`, `lib${(i * 5 + 3) % 12}.1`, `lib${(i * 7 + 11) % 12}.1`])];
    targets.push(`leaf${i}.1`);
  }
  for (let i = 0; i < 16; i++) {
    deps[`plain${i}.1`] = ['ocaml.5'];
    targets.push(`plain${i}.1`);
  }
  const plan = graphPlan(deps, targets);
  return { plan, costs: jobCosts(plan, { byKey: (k) => ms[k.slice(2)] ?? 10 * MIN }) };
}

test('waves: shared libraries built in parts on every runner beat both a first job that builds them and shards that each build them', () => {
  const { plan, costs } = sharedLibraries();
  const chosen = checkPartition(plan, 4, costs);
  assert.equal(chosen.waves.length >= 1, true, 'the check has a wave');
  const [wave] = chosen.waves;
  assert.equal(wave.parts.length, 4);
  // Each library once: in exactly one part (they depend on the first job's compiler only).
  for (let l = 0; l < 12; l++) assert.equal(wave.parts.filter((p) => p.includes(`k-lib${l}.1`)).length, 1, `lib${l}`);
  // A part is closed under dependencies, except for what the first job built.
  for (const part of wave.parts)
    for (const k of part)
      for (const d of plan.jobs.get(k)!.closure) assert.ok(part.includes(d) || chosen.firstJob.has(d), `${k} needs ${d}`);
  assert.deepEqual([...chosen.firstJob].sort(), ['k-ocaml-base-compiler.5', 'k-ocaml.5']);
  // Fillers: leaves that need only the compiler fill the wave's idle cores, so no shard builds them.
  assert.ok(
    [...wave.jobs].some((k) => k.startsWith('k-plain')),
    `fillers in the wave: ${[...wave.jobs].map((k) => k.slice(2))}`,
  );
  for (const k of wave.jobs) assert.ok(chosen.prebuilt.has(k), 'the shards take the wave from its layers');
  // Predicted: faster than the first job building the libraries, and than the shards building them.
  const libs = new Set([...chosen.firstJob, ...[...plan.jobs.keys()].filter((k) => k.startsWith('k-lib'))]);
  const firstBuildsThem = predictMakespan(plan, 4, 4, costs, { prebuilt: libs });
  const shardsBuildThem = predictMakespan(plan, 4, 4, costs, { prebuilt: chosen.firstJob });
  const mine = predictMakespan(plan, 4, 4, costs, { prebuilt: 'choose' });
  assert.equal(mine.waves.length, chosen.waves.length);
  assert.equal(mine.makespanMs, chosen.wallMs, 'the prediction is the choice');
  assert.ok(mine.makespanMs < firstBuildsThem.makespanMs, `${mine.makespanMs} < ${firstBuildsThem.makespanMs}`);
  assert.ok(mine.makespanMs < shardsBuildThem.makespanMs, `${mine.makespanMs} < ${shardsBuildThem.makespanMs}`);
  // Each stage's overhead is counted: first job, the waves, the shards.
  const stages =
    mine.prebuiltMakespanMs + mine.waves.reduce((s, w) => s + w.makespanMs, 0) + Math.max(...mine.shards.map((s) => s.makespanMs));
  assert.equal(mine.makespanMs, stages + (mine.waves.length + 2) * STAGE_OVERHEAD_MS);
  assert.ok(mine.makespanMs >= mine.lowerBoundMs);
});

test('waves: every runner computes the same waves; the shards count them built, and still hold every job their targets need', () => {
  const { plan } = sharedLibraries();
  const d = durations(Object.fromEntries([...plan.jobs.values()].map((j) => [j.id, j.id.startsWith('lib') ? 1_800_000 : 600_000])));
  const a = checkPartition(plan, 4, jobCosts(plan, { byKey: () => undefined, byPackage: (id) => d.byPackage.get(id) }));
  const b = checkPartition(plan, 4, jobCosts(plan, { byKey: () => undefined, byPackage: (id) => d.byPackage.get(id) }));
  assert.deepEqual(
    a.waves.map((w) => w.parts),
    b.waves.map((w) => w.parts),
  );
  assert.ok(a.waves.length >= 1);
  // The identity every shard records is the one of the costs with the waves' jobs free.
  const shards = [1, 2, 3, 4].map((index) => selectShard(plan, { index, count: 4, durations: d }));
  for (const s of shards) assert.equal(s.partition, partitionIdentity(plan, a.costs, 4));
  // Not the one of a split without the wave (only the compiler free).
  assert.notEqual(
    shards[0].partition,
    partitionIdentity(
      plan,
      withPrebuilt(jobCosts(plan, { byKey: () => undefined, byPackage: (id) => d.byPackage.get(id) }), a.firstJob),
      4,
    ),
  );
  // A wave's part that never arrived costs time, not targets: a shard's plan holds its targets' whole
  // closures (the waves' jobs included), built there when not imported.
  const seen = new Set<string>();
  for (const s of shards)
    for (const t of s.plan.targets) {
      seen.add(t.id);
      for (const k of plan.jobs.get(t.key)!.closure) assert.ok(s.plan.jobs.has(k), `${t.id} needs ${k}`);
    }
  assert.equal(seen.size, plan.targets.length);
});
