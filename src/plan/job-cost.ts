/**
 * The predicted cost of each job of a plan, in milliseconds, for splitting it into shards and predicting
 * its makespan. A job's cost is its recorded duration: by its key when an earlier run built that very
 * job, else by its `NAME.VERSION` (the same package built against other dependencies, e.g. under another
 * compiler). A job with neither gets a stated estimate: the median of the durations known in this plan,
 * or a constant when none is known. A job whose key already has a final result costs nothing (it is
 * not rebuilt). The lookups are the store's; this layer only reads them.
 */
import type { Plan } from './job.js';
import { PlanError } from './plan-error.js';

/** When no duration is known in the plan at all: ten minutes. */
export const DEFAULT_ESTIMATE_MS = 600_000;

export interface CostLookup {
  /** The recorded duration of the job with this content key, if a run built it. */
  byKey: (key: string) => number | undefined;
  /** The recorded duration of a build of this `NAME.VERSION` (any key), if any. */
  byPackage?: (id: string) => number | undefined;
  /** Whether this key already has a final result (a cache hit: it costs nothing). */
  cached?: (key: string) => boolean;
  /** The estimate for a job with no recorded duration; default: the median of the known ones. */
  estimateMs?: number;
}

export type CostSource = 'key' | 'package' | 'estimate' | 'cached';

export interface JobCosts {
  /** Every job's cost in ms, by key. */
  cost: Map<string, number>;
  /** Where each job's cost came from. */
  source: Map<string, CostSource>;
  /** Keys of the jobs whose cost is the estimate, in plan order. */
  estimated: string[];
  /** The estimate used for them. */
  estimateMs: number;
  /** How the estimate was chosen, in words: `median of 12 recorded durations`, `given`, `default`. */
  estimateRule: string;
}

function duration(v: number | undefined): number | undefined {
  return v !== undefined && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** The cost of every job of the plan from the lookups (see the module comment). */
export function jobCosts(plan: Plan, lookup: CostLookup): JobCosts {
  if (lookup.estimateMs !== undefined && !(Number.isFinite(lookup.estimateMs) && lookup.estimateMs >= 0))
    throw new PlanError(
      `the estimate for a job with no recorded duration must be a duration of 0 ms or more, not ${lookup.estimateMs}`,
      'input',
    );
  const cost = new Map<string, number>();
  const source = new Map<string, CostSource>();
  const unknown: string[] = [];
  const known: number[] = [];
  for (const job of plan.jobs.values()) {
    if (lookup.cached?.(job.key) === true) {
      cost.set(job.key, 0);
      source.set(job.key, 'cached');
      continue;
    }
    const byKey = duration(lookup.byKey(job.key));
    const byPackage = byKey === undefined ? duration(lookup.byPackage?.(job.id)) : undefined;
    const d = byKey ?? byPackage;
    if (d === undefined) {
      unknown.push(job.key);
      continue;
    }
    cost.set(job.key, d);
    source.set(job.key, byKey !== undefined ? 'key' : 'package');
    known.push(d);
  }
  let estimateMs: number;
  let estimateRule: string;
  if (lookup.estimateMs !== undefined) {
    estimateMs = lookup.estimateMs;
    estimateRule = 'given';
  } else if (known.length > 0) {
    estimateMs = median(known);
    estimateRule = `median of ${known.length} recorded duration${known.length === 1 ? '' : 's'}`;
  } else {
    estimateMs = DEFAULT_ESTIMATE_MS;
    estimateRule = 'default (no recorded durations)';
  }
  for (const key of unknown) {
    cost.set(key, estimateMs);
    source.set(key, 'estimate');
  }
  // Back in plan order: the maps above were filled known-first.
  const ordered = new Map<string, number>();
  const orderedSource = new Map<string, CostSource>();
  for (const key of plan.jobs.keys()) {
    ordered.set(key, cost.get(key)!);
    orderedSource.set(key, source.get(key)!);
  }
  return { cost: ordered, source: orderedSource, estimated: unknown, estimateMs, estimateRule };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : Math.round((s[mid - 1] + s[mid]) / 2);
}

/** Either costs already computed or the lookups to compute them. */
export function resolveCosts(plan: Plan, costs: JobCosts | CostLookup): JobCosts {
  return 'cost' in costs && costs.cost instanceof Map ? costs : jobCosts(plan, costs as CostLookup);
}
