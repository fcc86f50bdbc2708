/**
 * A CI shard's part of the plan, and what its run records so that `merge` can tell that every shard
 * split the same plan the same way: the partition's identity and the whole plan's target list
 * (store/runs.ts ShardRecord; the merge rule is compare/shard-merge.ts).
 *
 * The identity is a hash of what the split is computed from: the plan (its jobs with their dependencies,
 * its targets), the cost of every job it was balanced with, and the number of shards. Shards whose
 * states recorded different durations split differently, and their identities differ: the merge refuses
 * them instead of losing targets. (plan/shard.ts's partitionIdentity, when it lands, replaces
 * `partitionIdentityOf` here: the same inputs.)
 */
import { createHash } from 'node:crypto';
import type { Plan } from '../plan/job.js';
import type { CostLookup } from '../plan/job-cost.js';
import { partitionPlan, planOfShard, type ShardPartition, type ShardSpec } from '../plan/shard.js';
import type { ShardRecord } from '../store/runs.js';

/** Every target of the plan, not-installable ones included, sorted: what the shards' targets must add up to. */
export function planTargetIds(plan: Plan): string[] {
  return [...new Set([...plan.targets.map((t) => t.id), ...plan.notInstallable.map((t) => t.id)])].sort();
}

/** The identity of a split of `plan` into `partition.count` shards with the costs it used. */
export function partitionIdentityOf(plan: Plan, partition: ShardPartition): string {
  const h = createHash('sha256');
  h.update(`ecocheck-partition-v1\0${partition.count}\0`);
  for (const job of plan.jobs.values()) h.update(`${job.key}\0${job.dependencies.join(',')}\0${partition.costs.cost.get(job.key) ?? 0}\n`);
  for (const id of planTargetIds(plan)) h.update(`${id}\0`);
  return h.digest('hex');
}

/** Shard `spec` of the whole plan split with `costs`: its sub-plan and what its run records. */
export function shardOfPlan(whole: Plan, spec: ShardSpec, costs: CostLookup): { plan: Plan; record: ShardRecord } {
  const partition = partitionPlan(whole, spec.count, costs);
  const shard = partition.shards[spec.index - 1];
  if (shard === undefined) throw new RangeError(`shard ${spec.index} of ${spec.count}`);
  return {
    plan: planOfShard(whole, shard),
    record: { index: spec.index, count: spec.count, partition: partitionIdentityOf(whole, partition), planTargets: planTargetIds(whole) },
  };
}
