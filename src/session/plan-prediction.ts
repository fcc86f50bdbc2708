/**
 * `plan --predict`: the predicted wall time of a prepared plan on R runners of C cores each, from the
 * build durations recorded in the state's database (none recorded: every job is the stated estimate),
 * so a maintainer can pick the number of CI shards.
 */
import { predictMakespan, type MakespanPrediction } from '../plan/makespan.js';
import type { CostLookup } from '../plan/job-cost.js';
import { recordedDurations } from '../store/durations.js';
import type { CommandContext } from './command-context.js';
import type { PreparedPlan } from './plan-preparation.js';

/** `ctx` has the state's database open when there is one (`database: 'read'`); without one, every job is estimated. */
export function predictPlan(ctx: CommandContext, prepared: PreparedPlan, runners: number, cores: number): MakespanPrediction {
  const costs: CostLookup = ctx.hasDatabase ? recordedDurations(ctx.db, { withCache: true }) : { byKey: () => undefined };
  return predictMakespan(prepared.plan, runners, cores, costs);
}
