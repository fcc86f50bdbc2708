/**
 * `plan --predict`: the predicted wall time of a prepared plan on R runners of C cores each, so a
 * maintainer can pick the number of CI shards. From a durations file when one is given (`--durations`:
 * then the shards are the ones `check --shard I/R --durations FILE` builds, and the partition's identity
 * is said), else from the build durations recorded in the state's database (none recorded: every job
 * is the stated estimate). The compiler and the jobs most targets need are built once, by a first job,
 * before the shards (shard.ts prebuiltJobs), as the CI workflow does.
 */
import { predictMakespan, type MakespanPrediction } from '../plan/makespan.js';
import type { CostLookup } from '../plan/job-cost.js';
import { durationsLookup, type Durations } from '../plan/durations-file.js';
import { partitionIdentity, prebuiltJobs, withPrebuilt } from '../plan/shard.js';
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
  // The compiler and the most shared jobs, built once by the check's first job (as the CI workflow does).
  const prebuilt = prebuiltJobs(prepared.plan);
  if (durations !== null) {
    const costs = jobCosts(prepared.plan, durationsLookup(durations));
    return {
      ...predictMakespan(prepared.plan, runners, cores, costs, { prebuilt }),
      partition: partitionIdentity(prepared.plan, withPrebuilt(costs, prebuilt), runners),
    };
  }
  const costs: CostLookup = ctx.hasDatabase ? recordedDurations(ctx.db, { withCache: true }) : { byKey: () => undefined };
  return predictMakespan(prepared.plan, runners, cores, costs, { prebuilt });
}
