/**
 * The predicted wall time of a plan on R runners of C cores each, so a maintainer can pick R: the plan
 * split into R shards (shard.ts), each shard's DAG list-scheduled on C parallel slots, the ready job
 * with the longest cost path to the top first (critical path first, as the scheduler orders ready jobs
 * by height), ties in plan order. Every job is assumed to succeed (a failure only shortens a run). The
 * prediction is the slowest shard, after the first job when there are prebuilt jobs (built once on C
 * cores before the shards, which take them from its layers: free in every shard); the totals say how
 * much work there is and how much of it the shards duplicate.
 */
import type { Plan } from './job.js';
import { resolveCosts, type CostLookup, type JobCosts } from './job-cost.js';
import { partitionPlan, withPrebuilt } from './shard.js';
import { checkPartition } from './check-partition.js';
import { checkCount, costHeights, simulateSchedule } from './makespan-schedule.js';

export { costHeights, simulateSchedule, type ScheduleSimulation } from './makespan-schedule.js';

export interface ShardPrediction {
  index: number;
  targets: number;
  jobs: number;
  workMs: number;
  makespanMs: number;
  criticalPathMs: number;
}

export interface MakespanPrediction {
  runners: number;
  cores: number;
  /** The first job's makespan (the prebuilt jobs) plus the slowest shard's: the predicted wall time of the whole check. */
  makespanMs: number;
  /** Jobs built once by the first job, before the shards, and their makespan and work (0 when none). */
  prebuiltJobs: number;
  prebuiltMakespanMs: number;
  prebuiltWorkMs: number;
  shards: ShardPrediction[];
  /** Every job once (the prebuilt ones included). */
  totalWorkMs: number;
  /** What the shards build more than once (a shared dependency is built in every shard needing it). */
  duplicatedWorkMs: number;
  duplicatedJobs: number;
  /** The plan's longest cost path: the makespan on any number of runners and cores is at least this. */
  criticalPathMs: number;
  /**
   * What no split on these runners beats, tighter than max(critical path, work ÷ (runners × cores)): for
   * any job, what depends on it cannot start before the longest path to it ends, and then takes at
   * least its work ÷ (runners × cores); the largest of these and the critical path (see lowerBound).
   */
  lowerBoundMs: number;
  /** The keys of the jobs built once by the first job (closed under dependencies). */
  prebuiltKeys: string[];
  jobCount: number;
  /** Jobs whose cost is the estimate, and the estimate (ms) with how it was chosen. */
  estimatedJobs: string[];
  estimateMs: number;
  estimateRule: string;
}

/** The predicted makespan of the plan on `runners` shards of `cores` slots each (see the module comment). */
export function predictMakespan(
  plan: Plan,
  runners: number,
  cores: number,
  costs: JobCosts | CostLookup,
  options: { prebuilt?: ReadonlySet<string> | 'choose' } = {},
): MakespanPrediction {
  checkCount('runners', runners);
  checkCount('cores', cores);
  const c = resolveCosts(plan, costs);
  // The prebuilt jobs: one first job builds them on `cores` slots; the shards take them from its layers.
  // 'choose': the check's own choice (check-partition.ts), the one `check --shard` makes.
  const chosen = options.prebuilt === 'choose' ? checkPartition(plan, runners, c) : null;
  const prebuilt: ReadonlySet<string> = chosen?.prebuilt ?? (options.prebuilt as ReadonlySet<string> | undefined) ?? new Set<string>();
  const first: Plan = { jobs: new Map([...plan.jobs].filter(([k]) => prebuilt.has(k))), targets: [], notInstallable: [] };
  const firstSim = simulateSchedule(first, cores, c);
  const inShards = chosen?.costs ?? withPrebuilt(c, prebuilt);
  const partition = chosen?.partition ?? partitionPlan(plan, runners, inShards);
  const shards: ShardPrediction[] = partition.shards.map((s) => {
    const sub: Plan = { jobs: new Map(s.jobs.map((k) => [k, plan.jobs.get(k)!])), targets: s.targets, notInstallable: [] };
    const sim = simulateSchedule(sub, cores, inShards);
    return {
      index: s.index,
      targets: s.targets.length,
      jobs: s.jobs.length,
      workMs: sim.workMs,
      makespanMs: sim.makespanMs,
      criticalPathMs: sim.criticalPathMs,
    };
  });
  let criticalPathMs = 0;
  for (const h of costHeights(plan, (k) => c.cost.get(k) ?? 0).values()) criticalPathMs = Math.max(criticalPathMs, h);
  const totalWorkMs = partition.totalCostMs + firstSim.workMs;
  return {
    runners,
    cores,
    makespanMs: firstSim.makespanMs + shards.reduce((m, s) => Math.max(m, s.makespanMs), 0),
    prebuiltJobs: first.jobs.size,
    prebuiltMakespanMs: firstSim.makespanMs,
    prebuiltWorkMs: firstSim.workMs,
    shards,
    totalWorkMs,
    duplicatedWorkMs: partition.duplicatedCostMs,
    duplicatedJobs: partition.duplicatedJobs,
    criticalPathMs,
    lowerBoundMs: lowerBound(plan, (k) => c.cost.get(k) ?? 0, runners * cores),
    prebuiltKeys: [...first.jobs.keys()],
    jobCount: plan.jobs.size,
    estimatedJobs: c.estimated,
    estimateMs: c.estimateMs,
    estimateRule: c.estimateRule,
  };
}

/**
 * A lower bound of the wall time of the plan on `slots` parallel slots, however it is split: the
 * critical path, the work ÷ slots, and for every job J, the longest path ending at J (nothing that
 * depends on J starts before) plus the work of everything that depends on J ÷ slots. On a repository
 * where nearly every job depends on the compiler, this is about the compiler's build plus the rest of
 * the work ÷ slots, above max(critical path, work ÷ slots) when the compiler is a large part of the path.
 */
export function lowerBound(plan: Plan, cost: (key: string) => number, slots: number): number {
  const keys = [...plan.jobs.keys()];
  // The longest path ending at each job, itself included (plan order: dependencies first).
  const head = new Map<string, number>();
  const below = new Map<string, number>();
  let work = 0;
  for (const k of keys) {
    const job = plan.jobs.get(k)!;
    let h = 0;
    for (const d of job.dependencies) h = Math.max(h, head.get(d) ?? 0);
    head.set(k, h + cost(k));
    work += cost(k);
    for (const d of job.closure) below.set(d, (below.get(d) ?? 0) + cost(k));
  }
  let bound = work / slots;
  for (const [k, h] of head) bound = Math.max(bound, h, h + (below.get(k) ?? 0) / slots);
  return bound;
}
