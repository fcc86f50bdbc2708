/**
 * The whole split of a sharded check: which jobs are built before the shards and how (the check's
 * first job, on one runner; then up to MAX_WAVES waves, each on the N runners, see check-waves.ts),
 * handed to every later stage as layers, and the partition of the targets into N shards with those
 * jobs free. Chosen by predicted wall time, not by a fixed share of the targets:
 *
 * - a first partition with the compiler alone prebuilt says, for each job, how many shards would build
 *   it (a shard is closed under dependencies, so a job's dependencies are in at least as many shards:
 *   every set "the jobs at least t shards build" is closed under dependencies);
 * - candidates: the compiler alone; the compiler with the jobs at least t shards build on the first
 *   job, for a few t from N down to a quarter of N; and the compiler, then waves of the jobs at least
 *   t shards build (WAVE_SHARES; each wave's set recounted on the partition with the earlier waves
 *   free). Each is partitioned again (what comes before the shards free) and its wall time predicted
 *   as the workflow runs it: the stages one after the other (a stage starts when every runner of the
 *   one before has ended), each the slowest runner's list schedule on PARTITION_CORES slots plus
 *   STAGE_OVERHEAD_MS;
 * - the candidate with the least predicted wall time wins, unless one within PREBUILT_SLACK of its
 *   builds' time builds less in total (duplicates less): then the one that builds least among those.
 *
 * Building a job before the shards saves the shards that need it but delays every shard by the time it
 * adds to the stages before; which wins depends on the costs (a job every shard needs costs the shards
 * as much as it delays them; on one runner a long list of shared jobs delays the shards by its work ÷
 * its cores, in a wave by its work ÷ every core, but at least by its longest chain and a stage's
 * overhead). The choice reads only the plan, the costs and N (the runners' cores are assumed,
 * PARTITION_CORES), so every runner of a check computes it alike; the costs with the jobs built
 * before the shards free are what the partition's identity hashes.
 */
import type { Plan } from './job.js';
import { resolveCosts, type CostLookup, type JobCosts } from './job-cost.js';
import { PlanError } from './plan-error.js';
import { simulateSchedule } from './makespan-schedule.js';
import { durationsLookup, NO_DURATIONS } from './durations-file.js';
import { partitionIdentity, partitionPlan, planOfShard, prebuiltJobs, withPrebuilt, type ShardPartition, type ShardSpec } from './shard.js';
import { planWave, sharedJobs, type Wave } from './check-waves.js';

/** The cores each runner is assumed to have when the split is chosen (GitHub's hosted Linux runners: 4). */
export const PARTITION_CORES = 4;

/**
 * What each stage (the first job, a wave, the shards) costs besides its builds, ms: a runner's start,
 * the checkouts, ecocheck's install, bubblewrap's, and the download and import of the earlier stages'
 * layers. Stated, not measured on GitHub: three minutes. The stages run one after the other (a stage
 * starts when every runner of the one before has ended), so each adds this to the wall time.
 */
export const STAGE_OVERHEAD_MS = 180_000;

/** The most waves between the first job and the shards (the workflow has this many wave jobs). */
export const MAX_WAVES = 3;

/** A candidate within this share of the least predicted wall time that duplicates less is preferred. */
export const PREBUILT_SLACK = 0.01;

/** The shares of N: the jobs at least ceil(share × N) shards would build are a candidate prebuilt set. */
const SHARD_SHARES = [1, 0.8, 0.6, 0.4, 0.25];

/**
 * The waves tried, as the shares of N above which a job goes into each wave (at least 2 shards: a job
 * one shard builds is built once anyway): one wave, two or three (the widely shared jobs first, then
 * those shared by fewer shards, each recounted once the earlier waves' jobs are free).
 */
const WAVE_SHARES: number[][] = [[0.4], [0], [0.6, 0], [0.4, 0], [0.6, 0.15, 0], [0.4, 0.15, 0]];

export interface CheckPartition {
  /** The jobs the first job builds (the compiler and its closure at least), closed under dependencies. */
  firstJob: Set<string>;
  /** The waves after it, in order, each on N runners (none: the shards come right after the first job). */
  waves: Wave[];
  /** Every job built before the shards (the first job's and the waves'): free in the shards' split. */
  prebuilt: Set<string>;
  /** The costs the shards were split with: the prebuilt jobs free. */
  costs: JobCosts;
  partition: ShardPartition;
  /** The predicted wall time on PARTITION_CORES cores a runner: the first job's, each wave's, and the slowest shard's after them. */
  firstMakespanMs: number;
  shardsMakespanMs: number;
  /** The whole check's predicted wall time: the stages' makespans, each with STAGE_OVERHEAD_MS. */
  wallMs: number;
}

/** The first job, the waves and the partition of a check of `plan` over `count` shards (see the module comment). */
export function checkPartition(plan: Plan, count: number, costs: JobCosts | CostLookup): CheckPartition {
  const c = resolveCosts(plan, costs);
  const compilerOnly = prebuiltJobs(plan, 2);
  const firstOf = (firstJob: Set<string>) =>
    simulateSchedule(
      { jobs: new Map([...plan.jobs].filter(([k]) => firstJob.has(k))), targets: [], notInstallable: [] },
      PARTITION_CORES,
      c,
    ).makespanMs;
  const evaluate = (firstJob: Set<string>, waves: Wave[], firstMakespanMs = firstOf(firstJob)): CheckPartition => {
    const prebuilt = new Set(firstJob);
    for (const w of waves) for (const k of w.jobs) prebuilt.add(k);
    const free = withPrebuilt(c, prebuilt);
    const p = partitionPlan(plan, count, free);
    let shardsMakespanMs = 0;
    for (const s of p.shards) {
      const sub: Plan = { jobs: new Map(s.jobs.map((k) => [k, plan.jobs.get(k)!])), targets: [], notInstallable: [] };
      shardsMakespanMs = Math.max(shardsMakespanMs, simulateSchedule(sub, PARTITION_CORES, free).makespanMs);
    }
    const stages = [firstMakespanMs, ...waves.map((w) => w.makespanMs), shardsMakespanMs];
    return {
      firstJob,
      waves,
      prebuilt,
      costs: free,
      partition: p,
      firstMakespanMs,
      shardsMakespanMs,
      wallMs: stages.reduce((s, x) => s + x + STAGE_OVERHEAD_MS, 0),
    };
  };
  const base = evaluate(compilerOnly, []);
  if (count < 2) return base;
  // How many shards build each job when only the compiler comes first.
  const shardsOf = new Map<string, number>();
  for (const s of base.partition.shards) for (const k of s.jobs) shardsOf.set(k, (shardsOf.get(k) ?? 0) + 1);
  const candidates = [base];
  const seen = new Set<number>();
  for (const share of SHARD_SHARES) {
    const t = Math.max(2, Math.ceil(share * count));
    if (seen.has(t)) continue;
    seen.add(t);
    const prebuilt = new Set(compilerOnly);
    // Jobs that cost nothing gain nothing by coming first.
    for (const [k, n] of shardsOf) if (n >= t && (c.cost.get(k) ?? 0) > 0) prebuilt.add(k);
    for (const k of [...prebuilt]) for (const d of plan.jobs.get(k)!.closure) prebuilt.add(d);
    if (prebuilt.size === candidates[candidates.length - 1].firstJob.size) continue;
    candidates.push(evaluate(prebuilt, []));
  }
  // Waves: the compiler first, then N runners build the shared jobs (and fillers), then the shards.
  // A sequence of waves shares its first waves with the sequences it starts (computed once).
  const done = new Map<string, CheckPartition>();
  for (const shares of WAVE_SHARES) {
    let at = base;
    for (let n = 0; n < shares.length; n++) {
      const id = shares.slice(0, n + 1).join(',');
      const known = done.get(id);
      if (known !== undefined) {
        at = known;
        continue;
      }
      const set = sharedJobs(plan, at.partition, c, at.prebuilt, Math.max(2, Math.ceil(shares[n] * count)));
      if (set.size === 0) break;
      const wave = planWave(plan, set, at.prebuilt, count, PARTITION_CORES, c);
      at = evaluate(compilerOnly, [...at.waves, wave], base.firstMakespanMs);
      done.set(id, at);
      candidates.push(at);
    }
  }
  const prebuiltWork = (x: CheckPartition) =>
    [...x.firstJob].reduce((s, k) => s + (c.cost.get(k) ?? 0), 0) + x.waves.reduce((s, w) => s + w.workMs, 0);
  // What the first job, the waves and the shards build together (each runner its own jobs).
  const built = (x: CheckPartition) => prebuiltWork(x) + x.partition.totalCostMs + x.partition.duplicatedCostMs;
  // The slack is a share of the builds' wall time (the stages' overheads are the same share of every candidate's).
  const buildsWall = (x: CheckPartition) => x.wallMs - (x.waves.length + 2) * STAGE_OVERHEAD_MS;
  const best = candidates.reduce((b, x) => (x.wallMs < b.wallMs ? x : b));
  const limit = best.wallMs + PREBUILT_SLACK * buildsWall(best);
  // Ties: the first (the fewer jobs first, no waves before waves).
  let chosen: CheckPartition | null = null;
  for (const x of candidates) if (x.wallMs <= limit && (chosen === null || built(x) < built(chosen))) chosen = x;
  return chosen!;
}

/** One shard's part of a plan, and the identity of the partition it was taken from. */
export interface SelectedShard {
  plan: Plan;
  /** partitionIdentity of the whole plan, the shared durations (the prebuilt jobs free) and N: equal in every shard of one check. */
  partition: string;
  /** The jobs the check's first job builds (this shard takes them from its layers). */
  prebuilt: Set<string>;
}

/**
 * The shard `spec` of the plan, from the inputs every shard of a check shares (the plan and the
 * durations given with the spec, else the stated estimate; the jobs the check's first job builds are
 * free: checkPartition), with the partition's identity.
 */
export function selectShard(plan: Plan, spec: ShardSpec): SelectedShard {
  const chosen = checkPartition(plan, spec.count, durationsLookup(spec.durations ?? NO_DURATIONS));
  const shard = chosen.partition.shards[spec.index - 1];
  if (shard === undefined)
    throw new PlanError(`the shard index must be between 1 and ${spec.count}`, 'input', {
      setting: 'shard',
      value: `${spec.index}/${spec.count}`,
    });
  return { plan: planOfShard(plan, shard), partition: partitionIdentity(plan, chosen.costs, spec.count), prebuilt: chosen.prebuilt };
}
