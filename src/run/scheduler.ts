/**
 * Runs a plan: a job starts when every dependency succeeded, up to `concurrency` at once (p-queue), ready
 * jobs ordered by critical path then fan-out. A job whose key has a cached final result is not built. A
 * failed job marks its dependents `dependency-failed`, naming the root that failed, without running them.
 * Results leave through `onJobFinished` as soon as each job is final, so a crash loses only in-flight
 * jobs. On abort, running builds are told through the signal; their outcomes are dropped (the resume
 * rebuilds them) and nothing new starts.
 */
import PQueue from 'p-queue';
import type { Job, Plan } from '../plan/job.js';
import { analysePlan, type PlanGraph } from '../plan/plan-graph.js';
import type { Builder, BuildOutcome, BuiltDependency } from '../builder/builder.js';
import type { JobStatus } from '../results/taxonomy.js';
import type { CachedResult, JobRecord } from '../results/job-record.js';

export interface SchedulerOptions {
  concurrency: number;
  signal?: AbortSignal;
  /** A final result recorded for this job's key by an earlier run, or null to build it. */
  lookupCached?: (job: Job) => CachedResult | null;
  onJobStarted?: (job: Job) => void;
  /** Called once per job as soon as its result is final in this run. An exception stops the run. */
  onJobFinished?: (record: JobRecord<Job>) => void;
  graph?: PlanGraph;
  /**
   * Keep every record in the outcome's `records` (default: true). A caller whose `onJobFinished` stores
   * them (the run's database) passes false: a run of thousands of jobs does not hold each job's log
   * tail and reason in memory until it ends.
   */
  keepRecords?: boolean;
}

export interface RunOutcome {
  /** Every job's record (empty when `keepRecords` is false). */
  records: Map<string, JobRecord<Job>>;
  /** True when the signal aborted the run before every job was final. */
  interrupted: boolean;
  built: number;
  cacheHits: number;
  wallMs: number;
}

export async function runPlan(plan: Plan, builder: Builder, options: SchedulerOptions): Promise<RunOutcome> {
  const t0 = performance.now();
  const graph = options.graph ?? analysePlan(plan);
  const signal = options.signal ?? new AbortController().signal;
  const queue = new PQueue({ concurrency: Math.max(1, options.concurrency) });
  const records = new Map<string, JobRecord<Job>>();
  const keepRecords = options.keepRecords !== false;
  let finished = 0;
  const order = new Map<string, number>();
  const waitingOn = new Map<string, number>();
  const failedRoots = new Map<string, string[]>();
  let built = 0;
  let cacheHits = 0;
  let sinkError: unknown = null;
  const stop = new AbortController();
  const buildSignal = AbortSignal.any([signal, stop.signal]);

  let i = 0;
  for (const job of plan.jobs.values()) {
    order.set(job.key, i++);
    waitingOn.set(job.key, job.dependencies.length);
  }
  const worklist: Job[] = [];
  for (const job of plan.jobs.values()) if (job.dependencies.length === 0) worklist.push(job);

  const finish = (record: JobRecord<Job>) => {
    finished++;
    if (keepRecords) records.set(record.job.key, record);
    if (sinkError === null) {
      try {
        options.onJobFinished?.(record);
      } catch (err) {
        sinkError = err;
        queue.clear();
        stop.abort();
      }
    }
    const own =
      record.status === 'ok'
        ? []
        : record.status === 'dependency-failed'
          ? (record.rootCauseKeys ?? [record.rootCauseKey!])
          : [record.job.key];
    for (const d of graph.dependents.get(record.job.key)!) {
      if (own.length > 0) {
        const roots = failedRoots.get(d);
        if (roots) roots.push(...own);
        else failedRoots.set(d, [...own]);
      }
      const left = waitingOn.get(d)! - 1;
      waitingOn.set(d, left);
      if (left === 0) worklist.push(plan.jobs.get(d)!);
    }
  };

  const startReady = () => {
    const toBuild: Job[] = [];
    while (worklist.length > 0 && !buildSignal.aborted) {
      const job = worklist.pop()!;
      const roots = failedRoots.get(job.key);
      if (roots !== undefined) {
        // Every root, once, in plan order: the first is the one a single-root reader sees.
        const all = [...new Set(roots)].sort((a, b) => order.get(a)! - order.get(b)!);
        const ids = all.map((k) => plan.jobs.get(k)!.id);
        finish({
          job,
          status: 'dependency-failed',
          reason: ids.length === 1 ? `dependency ${ids[0]} failed` : `dependencies ${ids.join(', ')} failed`,
          rootCauseKey: all[0],
          rootCause: ids[0],
          rootCauseKeys: all,
          rootCauses: ids,
          exitCode: null,
          durationMs: null,
          logPath: null,
          logTail: '',
          firstError: null,
          missingSystemPackages: [],
          cached: false,
        });
        continue;
      }
      const hit = options.lookupCached?.(job) ?? null;
      if (hit !== null) {
        cacheHits++;
        finish({ ...hit, job, rootCauseKey: null, rootCause: null, cached: true });
        continue;
      }
      toBuild.push(job);
    }
    // Highest priority first: the first ones added start at once, before the queue can order them.
    const priority = (job: Job) => graph.height.get(job.key)! * 1_000_000 + Math.min(graph.fanOut.get(job.key)!, 999_999);
    toBuild.sort((a, b) => priority(b) - priority(a) || order.get(a.key)! - order.get(b.key)!);
    for (const job of toBuild) void queue.add(() => build(job), { priority: priority(job) }).catch(() => {});
  };

  const build = async (job: Job) => {
    if (buildSignal.aborted) return;
    options.onJobStarted?.(job);
    const closure: BuiltDependency[] = job.closure.map((k) => ({ job: plan.jobs.get(k)! }));
    let outcome: BuildOutcome;
    try {
      outcome = await builder.build(job, closure, buildSignal);
    } catch (err) {
      outcome = internalError(err);
    }
    // An outcome cut short by the interrupt says nothing: the job stays unfinished and the resume rebuilds it.
    if (buildSignal.aborted && outcome.status !== 'ok') return;
    built++;
    // Where the layer lies stays with the builder: the record names it by the job's key.
    const { prefix: _layerPath, ...result } = outcome;
    finish({ ...result, job, rootCauseKey: null, rootCause: null, cached: false });
    startReady();
  };

  startReady();
  await queue.onIdle();
  if (sinkError !== null) throw sinkError;
  return {
    records,
    interrupted: finished < plan.jobs.size,
    built,
    cacheHits,
    wallMs: performance.now() - t0,
  };
}

function internalError(err: unknown): BuildOutcome {
  const message = err instanceof Error ? err.message : String(err);
  return {
    status: 'internal-error' as JobStatus,
    reason: `builder error: ${message.split('\n')[0]}`,
    exitCode: null,
    durationMs: 0,
    logPath: null,
    logTail: message,
    firstError: null,
    missingSystemPackages: [],
    prefix: null,
  };
}
