/**
 * `plan --predict`: the predicted wall time of a prepared plan on R runners of C cores each, so a
 * maintainer can pick the number of CI shards. From a durations file when one is given (`--durations`:
 * then the shards are the ones `check --shard I/R --durations FILE` builds, and the partition's identity
 * is said), else from the build durations recorded in the state's database (none recorded: every job
 * is the stated estimate). The compiler and the jobs most targets need are built once, by a first job,
 * before the shards (shard.ts prebuiltJobs), as the CI workflow does.
 */
import { existsSync } from 'node:fs';
import { predictMakespan, type MakespanPrediction } from '../plan/makespan.js';
import type { CostLookup } from '../plan/job-cost.js';
import { durationsLookup, type Durations } from '../plan/durations-file.js';
import { partitionIdentity, prebuiltJobs, withPrebuilt } from '../plan/shard.js';
import { jobCosts } from '../plan/job-cost.js';
import { databaseFailure, openDatabase } from '../store/database.js';
import { recordedDurations } from '../store/durations.js';
import type { PreparedPlan } from './plan-preparation.js';
import type { StatePaths } from './state-paths.js';

export function predictPlan(prepared: PreparedPlan, runners: number, cores: number, paths: StatePaths, durations: Durations | null = null): MakespanPrediction & { partition?: string } {
  // The compiler and the most shared jobs, built once by the check's first job (as the CI workflow does).
  const prebuilt = prebuiltJobs(prepared.plan);
  if (durations !== null) {
    const costs = jobCosts(prepared.plan, durationsLookup(durations));
    return { ...predictMakespan(prepared.plan, runners, cores, costs, { prebuilt }), partition: partitionIdentity(prepared.plan, withPrebuilt(costs, prebuilt), runners) };
  }
  let costs: CostLookup = { byKey: () => undefined };
  if (existsSync(paths.database)) {
    const db = openDatabase(paths.database, { readonly: true });
    try {
      costs = recordedDurations(db, { withCache: true });
    } catch (err) {
      throw databaseFailure(err, paths.database);
    } finally {
      db.close();
    }
  }
  return predictMakespan(prepared.plan, runners, cores, costs, { prebuilt });
}
