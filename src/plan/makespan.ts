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
import { checkPartition, STAGE_OVERHEAD_MS } from './check-partition.js';
import { partSchedules } from './check-waves.js';
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

export interface WavePrediction {
  /** Jobs built in the wave (each once) and their parts' summed work (a job in two parts counted twice). */
  jobs: number;
  workMs: number;
  /** The slowest part's list schedule. */
  makespanMs: number;
  /** parts[i]: the keys runner i + 1 builds. */
  parts: string[][];
}

export interface MakespanPrediction {
  runners: number;
  cores: number;
  /** The first job's makespan (the prebuilt jobs) plus the slowest shard's: the predicted wall time of the whole check. */
  makespanMs: number;
  /** Jobs built once by the first job, before the waves and the shards, and their makespan and work (0 when none). */
  prebuiltJobs: number;
  prebuiltMakespanMs: number;
  prebuiltWorkMs: number;
  /** The waves between the first job and the shards (none: the shards follow the first job), each on all runners. */
  waves: WavePrediction[];
  /** What each stage (first job, wave, shards) adds besides its builds: a runner's start, installs, the earlier stages' layers (0 when not modelled). */
  stageOverheadMs: number;
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
  /** The keys of every job built before the shards (the first job's and the waves'; closed under dependencies). */
  prebuiltKeys: string[];
  /** The keys of the jobs the first job builds (the compiler and its closure at least). */
  firstJobKeys: string[];
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
  options: { prebuilt?: ReadonlySet<string> | 'choose'; stageOverheadMs?: number } = {},
): MakespanPrediction {
  checkCount('runners', runners);
  checkCount('cores', cores);
  const c = resolveCosts(plan, costs);
  // The prebuilt jobs: one first job builds them on `cores` slots; the shards take them from its layers.
  // 'choose': the check's own choice (check-partition.ts), the one `check --shard` makes.
  const chosen = options.prebuilt === 'choose' ? checkPartition(plan, runners, c) : null;
  const firstKeys: ReadonlySet<string> = chosen?.firstJob ?? (options.prebuilt as ReadonlySet<string> | undefined) ?? new Set<string>();
  const waves = chosen?.waves ?? [];
  const first: Plan = { jobs: new Map([...plan.jobs].filter(([k]) => firstKeys.has(k))), targets: [], notInstallable: [] };
  const firstSim = simulateSchedule(first, cores, c);
  const prebuilt = chosen?.prebuilt ?? firstKeys;
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
  // Each wave on these cores (the choice assumed PARTITION_CORES), what earlier stages built free.
  const before = new Set(firstKeys);
  const wavePredictions: WavePrediction[] = waves.map((w) => {
    const sims = partSchedules(plan, w.parts, cores, withPrebuilt(c, before));
    for (const k of w.jobs) before.add(k);
    return {
      jobs: w.jobs.size,
      workMs: sims.reduce((s, x) => s + x.workMs, 0),
      makespanMs: Math.max(0, ...sims.map((x) => x.makespanMs)),
      parts: w.parts,
    };
  });
  let criticalPathMs = 0;
  for (const h of costHeights(plan, (k) => c.cost.get(k) ?? 0).values()) criticalPathMs = Math.max(criticalPathMs, h);
  const waveWork = wavePredictions.reduce((s, w) => s + w.workMs, 0);
  const waveJobs = new Set<string>();
  for (const w of waves) for (const k of w.jobs) waveJobs.add(k);
  const waveOnce = [...waveJobs].reduce((s, k) => s + (c.cost.get(k) ?? 0), 0);
  const totalWorkMs = partition.totalCostMs + firstSim.workMs + waveOnce;
  // Each stage (the first job when it builds anything, each wave, the shards) waits for the one before and adds its overhead.
  const stageOverheadMs = options.stageOverheadMs ?? STAGE_OVERHEAD_MS;
  const stages = [
    ...(first.jobs.size > 0 ? [firstSim.makespanMs] : []),
    ...wavePredictions.map((w) => w.makespanMs),
    shards.reduce((m, s) => Math.max(m, s.makespanMs), 0),
  ];
  return {
    runners,
    cores,
    makespanMs: stages.reduce((s, x) => s + x + stageOverheadMs, 0),
    prebuiltJobs: first.jobs.size,
    prebuiltMakespanMs: firstSim.makespanMs,
    prebuiltWorkMs: firstSim.workMs,
    waves: wavePredictions,
    stageOverheadMs,
    shards,
    totalWorkMs,
    // The waves' parts may share a dependency: built in each part that needs it.
    duplicatedWorkMs: partition.duplicatedCostMs + (waveWork - waveOnce),
    duplicatedJobs: partition.duplicatedJobs,
    criticalPathMs,
    lowerBoundMs: lowerBound(plan, (k) => c.cost.get(k) ?? 0, runners * cores),
    prebuiltKeys: [...plan.jobs.keys()].filter((k) => prebuilt.has(k)),
    firstJobKeys: [...first.jobs.keys()],
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
