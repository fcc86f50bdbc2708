/**
 * `plan --predict`: the predicted wall time of a prepared plan on R runners of C cores each, from the
 * build durations recorded in the state's database (none recorded: every job is the stated estimate),
 * so a maintainer can pick the number of CI shards.
 */
import { existsSync } from 'node:fs';
import { predictMakespan, type MakespanPrediction } from '../plan/makespan.js';
import type { CostLookup } from '../plan/job-cost.js';
import { databaseFailure, openDatabase } from '../store/database.js';
import { recordedDurations } from '../store/durations.js';
import type { PreparedPlan } from './plan-preparation.js';
import type { StatePaths } from './state-paths.js';

export function predictPlan(prepared: PreparedPlan, runners: number, cores: number, paths: StatePaths): MakespanPrediction {
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
  return predictMakespan(prepared.plan, runners, cores, costs);
}
