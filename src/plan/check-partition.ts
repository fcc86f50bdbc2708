/**
 * The whole split of a sharded check: which jobs the check's first job builds once, before the shards
 * (the prebuilt jobs, handed to every shard as layers), and the partition of the targets into N shards
 * with those jobs free. Chosen by predicted wall time, not by a fixed share of the targets:
 *
 * - a first partition with the compiler alone prebuilt says, for each job, how many shards would build
 *   it (a shard is closed under dependencies, so a job's dependencies are in at least as many shards:
 *   every set "the jobs at least t shards build" is closed under dependencies);
 * - candidates: the compiler alone, and the compiler with the jobs at least t shards build, for a few
 *   t from N down to a quarter of N; each is partitioned again (those jobs free) and its wall time
 *   predicted: the first job's list schedule on PARTITION_CORES slots, then the slowest shard's;
 * - the candidate with the least predicted wall time wins, unless one within PREBUILT_SLACK of it
 *   builds less in total (duplicates less): then the one that builds least among those.
 *
 * Building a job once first saves the shards that need it but delays every shard by the time it adds
 * to the first job; which wins depends on the costs (a job every shard needs costs the shards as much
 * as it delays them; a long chain of shared jobs delays the first job by its length). The choice reads
 * only the plan, the costs and N (the runners' cores are assumed, PARTITION_CORES), so every shard of a
 * check computes it alike; the costs with the chosen jobs free are what the partition's identity hashes.
 */
import type { Plan } from './job.js';
import { resolveCosts, type CostLookup, type JobCosts } from './job-cost.js';
import { PlanError } from './plan-error.js';
import { simulateSchedule } from './makespan-schedule.js';
import { durationsLookup, NO_DURATIONS } from './durations-file.js';
import { partitionIdentity, partitionPlan, planOfShard, prebuiltJobs, withPrebuilt, type ShardPartition, type ShardSpec } from './shard.js';

/** The cores each runner is assumed to have when the split is chosen (GitHub's hosted Linux runners: 4). */
export const PARTITION_CORES = 4;

/** A candidate within this share of the least predicted wall time that duplicates less is preferred. */
export const PREBUILT_SLACK = 0.03;

/** The shares of N: the jobs at least ceil(share × N) shards would build are a candidate prebuilt set. */
const SHARD_SHARES = [1, 0.8, 0.6, 0.4, 0.25];

export interface CheckPartition {
  /** The jobs the first job builds (the compiler and its closure at least), closed under dependencies. */
  prebuilt: Set<string>;
  /** The costs the shards were split with: the prebuilt jobs free. */
  costs: JobCosts;
  partition: ShardPartition;
  /** The predicted wall time on PARTITION_CORES cores a runner: the first job's, and the slowest shard's after it. */
  firstMakespanMs: number;
  shardsMakespanMs: number;
}

/** The first job and the partition of a check of `plan` over `count` shards (see the module comment). */
export function checkPartition(plan: Plan, count: number, costs: JobCosts | CostLookup): CheckPartition {
  const c = resolveCosts(plan, costs);
  const compilerOnly = prebuiltJobs(plan, 2);
  const evaluate = (prebuilt: Set<string>): CheckPartition => {
    const free = withPrebuilt(c, prebuilt);
    const p = partitionPlan(plan, count, free);
    const first: Plan = { jobs: new Map([...plan.jobs].filter(([k]) => prebuilt.has(k))), targets: [], notInstallable: [] };
    let shardsMakespanMs = 0;
    for (const s of p.shards) {
      const sub: Plan = { jobs: new Map(s.jobs.map((k) => [k, plan.jobs.get(k)!])), targets: [], notInstallable: [] };
      shardsMakespanMs = Math.max(shardsMakespanMs, simulateSchedule(sub, PARTITION_CORES, free).makespanMs);
    }
    return {
      prebuilt,
      costs: free,
      partition: p,
      firstMakespanMs: simulateSchedule(first, PARTITION_CORES, c).makespanMs,
      shardsMakespanMs,
    };
  };
  const base = evaluate(compilerOnly);
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
    if (prebuilt.size === candidates[candidates.length - 1].prebuilt.size) continue;
    candidates.push(evaluate(prebuilt));
  }
  const wall = (x: CheckPartition) => x.firstMakespanMs + x.shardsMakespanMs;
  const prebuiltWork = (x: CheckPartition) => [...x.prebuilt].reduce((s, k) => s + (c.cost.get(k) ?? 0), 0);
  // What the first job and the shards build together (each shard its own jobs).
  const built = (x: CheckPartition) => prebuiltWork(x) + x.partition.totalCostMs + x.partition.duplicatedCostMs;
  const best = Math.min(...candidates.map(wall));
  // Ties: the first (the fewer jobs first).
  let chosen: CheckPartition | null = null;
  for (const x of candidates) if (wall(x) <= best * (1 + PREBUILT_SLACK) && (chosen === null || built(x) < built(chosen))) chosen = x;
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
