/**
 * `plan --predict`: the predicted wall time of a prepared plan on R runners of C cores each, so a
 * maintainer can pick the number of CI shards. From a durations file when one is given (`--durations`:
 * then the shards are the ones `check --shard I/R --durations FILE` builds, and the partition's identity
 * is said), else from the build durations recorded in the state's database (none recorded: every job
 * is the stated estimate). The compiler and the shared jobs worth it are built once, by a first job,
 * before the shards (check-partition.ts), as the CI workflow does.
 */
import { predictMakespan, type MakespanPrediction } from '../plan/makespan.js';
import type { CostLookup } from '../plan/job-cost.js';
import { durationsLookup, type Durations } from '../plan/durations-file.js';
import { partitionIdentity, withPrebuilt } from '../plan/shard.js';
import { jobCosts } from '../plan/job-cost.js';
import { recordedDurations } from '../store/durations.js';
import type { CommandContext } from './command-context.js';
import type { PreparedPlan } from './plan-preparation.js';

/** `ctx` has the state's database open when there is one (`database: 'read'`); without one, every job is estimated. */
export function predictPlan(
  ctx: CommandContext,
  prepared: PreparedPlan,
  runners: number,
  cores: number,
  durations: Durations | null = null,
): MakespanPrediction & { partition?: string } {
  // The compiler and the shared jobs worth building once, by the check's first job, chosen as every
  // shard chooses them (check-partition.ts), as the CI workflow does.
  if (durations !== null) {
    const costs = jobCosts(prepared.plan, durationsLookup(durations));
    const p = predictMakespan(prepared.plan, runners, cores, costs, { prebuilt: 'choose' });
    return { ...p, partition: partitionIdentity(prepared.plan, withPrebuilt(costs, new Set(p.prebuiltKeys)), runners) };
  }
  const costs: CostLookup = ctx.hasDatabase ? recordedDurations(ctx.db, { withCache: true }) : { byKey: () => undefined };
  return predictMakespan(prepared.plan, runners, cores, costs, { prebuilt: 'choose' });
}
