/**
 * A plan split into N shards of balanced predicted cost, for N CI runners that share nothing: each shard
 * is closed under dependencies (a job two shards need is built in both: its cost is counted as
 * duplicated), so each runs alone. Targets are partitioned, not jobs: greedy longest-processing-time,
 * the costliest target closure first, each to the shard whose load would be smallest after taking it;
 * a shard already holding most of its closure adds little, so targets sharing dependencies gather
 * (affinity). Deterministic: the same plan and costs give the same shards.
 *
 * Not-installable targets have no job: every shard carries them (they cost nothing), so each shard's
 * run records them and a merge of any shards still has them.
 */
import type { Job, Plan } from './job.js';
import { resolveCosts, type CostLookup, type JobCosts } from './job-cost.js';
import { PlanError } from './plan-error.js';

/** Shard `index` (1-based) of `count`. */
export interface ShardSpec {
  index: number;
  count: number;
}

export interface Shard {
  index: number;
  /** The shard's targets, in plan order. */
  targets: Plan['targets'];
  /** The keys of its jobs (the targets' closures), in plan order. */
  jobs: string[];
  /** Sum of its jobs' costs, ms. */
  costMs: number;
}

export interface ShardPartition {
  count: number;
  /** Index i - 1 is shard i. */
  shards: Shard[];
  /** Every job once, ms. */
  totalCostMs: number;
  /** What the shards build more than once: the sum of the shards' costs minus the total. */
  duplicatedCostMs: number;
  /** Jobs built in more than one shard. */
  duplicatedJobs: number;
  /** The costs the split used (which jobs were estimated, and how). */
  costs: JobCosts;
}

/** Reads `I/N` (1 ≤ I ≤ N). */
export function parseShardSpec(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (m === null) throw new PlanError('expected a shard as I/N (shard I of N, counted from 1)', 'input', { setting: 'shard', value: text });
  const spec = { index: Number(m[1]), count: Number(m[2]) };
  checkShardSpec(spec.count, spec.index);
  return spec;
}

function checkShardSpec(count: number, index: number | null): void {
  if (!Number.isSafeInteger(count) || count < 1)
    throw new PlanError(`the number of shards must be a whole number of 1 or more, not ${count}`, 'input', { setting: 'shard', value: index === null ? String(count) : `${index}/${count}` });
  if (index !== null && (!Number.isSafeInteger(index) || index < 1 || index > count))
    throw new PlanError(`the shard index must be between 1 and ${count}`, 'input', { setting: 'shard', value: `${index}/${count}` });
}

/** The split of the plan into `count` shards (see the module comment). */
export function partitionPlan(plan: Plan, count: number, costs: JobCosts | CostLookup): ShardPartition {
  checkShardSpec(count, null);
  const c = resolveCosts(plan, costs);
  const position = new Map<string, number>();
  let i = 0;
  for (const key of plan.jobs.keys()) position.set(key, i++);
  const costOf = (key: string) => c.cost.get(key) ?? 0;

  // Targets with the same job are placed together (their closures are the same).
  const groups = new Map<string, { key: string; closure: string[]; costMs: number; first: number }>();
  plan.targets.forEach((t, n) => {
    if (groups.has(t.key)) return;
    const job = plan.jobs.get(t.key);
    if (job === undefined) throw new PlanError(`target ${t.id} names job ${t.key}, which is not in the plan`);
    const closure = [...job.closure, job.key];
    groups.set(t.key, { key: t.key, closure, costMs: closure.reduce((s, k) => s + costOf(k), 0), first: n });
  });
  const order = [...groups.values()].sort((a, b) => b.costMs - a.costMs || a.first - b.first);

  const members: Set<string>[] = Array.from({ length: count }, () => new Set<string>());
  const load: number[] = new Array<number>(count).fill(0);
  const targetKeys: Set<string>[] = Array.from({ length: count }, () => new Set<string>());
  for (const g of order) {
    let best = -1;
    let bestAfter = Infinity;
    let bestShared = -1;
    for (let s = 0; s < count; s++) {
      let added = 0;
      let shared = 0;
      for (const k of g.closure) {
        if (members[s].has(k)) shared += costOf(k);
        else added += costOf(k);
      }
      const after = load[s] + added;
      // Smallest load after; then the shard sharing most of the closure; then the lowest index.
      if (after < bestAfter || (after === bestAfter && shared > bestShared)) {
        best = s;
        bestAfter = after;
        bestShared = shared;
      }
    }
    for (const k of g.closure) members[best].add(k);
    load[best] = bestAfter;
    targetKeys[best].add(g.key);
  }

  const shards: Shard[] = members.map((set, s) => ({
    index: s + 1,
    targets: plan.targets.filter((t) => targetKeys[s].has(t.key)),
    jobs: [...set].sort((a, b) => position.get(a)! - position.get(b)!),
    costMs: load[s],
  }));
  const inShards = new Map<string, number>();
  for (const set of members) for (const k of set) inShards.set(k, (inShards.get(k) ?? 0) + 1);
  let totalCostMs = 0;
  let duplicatedCostMs = 0;
  let duplicatedJobs = 0;
  for (const [k, n] of inShards) {
    totalCostMs += costOf(k);
    if (n > 1) {
      duplicatedJobs++;
      duplicatedCostMs += (n - 1) * costOf(k);
    }
  }
  return { count, shards, totalCostMs, duplicatedCostMs, duplicatedJobs, costs: c };
}

/** The sub-plan of one shard of a partition, in the shape `buildPlan` returns. */
export function planOfShard(plan: Plan, shard: Shard): Plan {
  const jobs = new Map<string, Job>();
  for (const key of shard.jobs) jobs.set(key, plan.jobs.get(key)!);
  return { jobs, targets: shard.targets.map((t) => ({ ...t })), notInstallable: plan.notInstallable.map((t) => ({ ...t })) };
}

/**
 * The sub-plan of shard `index` (1-based) of `count`, in the shape `buildPlan` returns, so the scheduler
 * runs it unchanged: its targets and their closures, in plan order, and every not-installable target.
 */
export function shardPlan(plan: Plan, count: number, index: number, costs: JobCosts | CostLookup): Plan {
  checkShardSpec(count, index);
  return planOfShard(plan, partitionPlan(plan, count, costs).shards[index - 1]);
}
