/**
 * A CI shard's part of the plan, and what its run records so that `merge` can tell that every shard
 * split the same plan the same way: the partition's identity and the whole plan's target list
 * (store/runs.ts ShardRecord; the merge rule is compare/shard-merge.ts).
 *
 * The split and its identity are plan/shard.ts's: a function of the plan, the durations file that
 * travels with the check (absent: the stated estimate) and N, never of what this state recorded, so
 * shards on runners whose states differ split alike; shards that were given different inputs have
 * different identities, and the merge refuses them instead of losing targets.
 */
import type { Plan } from '../plan/job.js';
import type { ShardSpec } from '../plan/shard.js';
import { selectShard } from '../plan/check-partition.js';
import type { ShardRecord } from '../store/runs.js';

/** Every target of the plan, not-installable ones included, sorted: what the shards' targets must add up to. */
export function planTargetIds(plan: Plan): string[] {
  return [...new Set([...plan.targets.map((t) => t.id), ...plan.notInstallable.map((t) => t.id)])].sort();
}

/** Shard `spec` of the whole plan: its sub-plan and what its run records. */
export function shardOfPlan(whole: Plan, spec: ShardSpec): { plan: Plan; record: ShardRecord } {
  const selected = selectShard(whole, spec);
  return {
    plan: selected.plan,
    record: { index: spec.index, count: spec.count, partition: selected.partition, planTargets: planTargetIds(whole) },
  };
}
