/**
 * A plan's DAG list-scheduled on C parallel slots, as the builder's scheduler runs it: the ready job
 * with the longest cost path to the top first (critical path first, as the scheduler orders ready jobs
 * by height), ties in plan order. Every job is assumed to succeed (a failure only shortens a run).
 */
import type { Plan } from './job.js';
import { resolveCosts, type CostLookup, type JobCosts } from './job-cost.js';
import { PlanError } from './plan-error.js';

export interface ScheduleSimulation {
  /** When the last job finishes, ms from the start. */
  makespanMs: number;
  /** Sum of the jobs' costs. */
  workMs: number;
  /** The longest cost path of the DAG: no number of cores finishes sooner. */
  criticalPathMs: number;
  /** Each job's start and finish, ms, by key. */
  schedule: Map<string, { startMs: number; finishMs: number; slot: number }>;
}

export function checkCount(what: 'runners' | 'cores', n: number): void {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new PlanError(`the number of ${what} must be a whole number of 1 or more`, 'input', { setting: what, value: String(n) });
}

/** Each job's longest cost path up to a job nothing depends on, itself included (reverse plan order). */
export function costHeights(plan: Plan, cost: (key: string) => number): Map<string, number> {
  const dependents = new Map<string, string[]>();
  for (const key of plan.jobs.keys()) dependents.set(key, []);
  for (const job of plan.jobs.values()) for (const d of job.dependencies) dependents.get(d)?.push(job.key);
  const keys = [...plan.jobs.keys()];
  const height = new Map<string, number>();
  for (let i = keys.length - 1; i >= 0; i--) {
    let best = 0;
    for (const d of dependents.get(keys[i])!) best = Math.max(best, height.get(d)!);
    height.set(keys[i], best + cost(keys[i]));
  }
  return height;
}

/**
 * List scheduling of the plan's DAG on `cores` slots: whenever a slot is free, the ready job with the
 * greatest cost height starts (ties: plan order); a job is ready when its dependencies have finished.
 */
export function simulateSchedule(plan: Plan, cores: number, costs: JobCosts | CostLookup): ScheduleSimulation {
  checkCount('cores', cores);
  const c = resolveCosts(plan, costs);
  const costOf = (k: string) => c.cost.get(k) ?? 0;
  const height = costHeights(plan, costOf);
  const position = new Map<string, number>();
  const waiting = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  let i = 0;
  for (const job of plan.jobs.values()) {
    position.set(job.key, i++);
    dependents.set(job.key, []);
  }
  for (const job of plan.jobs.values()) {
    let n = 0;
    for (const d of job.dependencies) {
      const list = dependents.get(d);
      if (list === undefined) throw new PlanError(`job ${job.id} depends on ${d}, which is not in the plan`);
      list.push(job.key);
      n++;
    }
    waiting.set(job.key, n);
  }
  const before = (a: string, b: string) => height.get(b)! - height.get(a)! || position.get(a)! - position.get(b)!;
  const ready: string[] = [...plan.jobs.keys()].filter((k) => waiting.get(k) === 0);
  const free: number[] = Array.from({ length: Math.min(cores, Math.max(1, plan.jobs.size)) }, (_, s) => s);
  // Running jobs, earliest finish last (popped first); same finish: lowest slot first.
  const running: { key: string; finishMs: number; slot: number }[] = [];
  const schedule = new Map<string, { startMs: number; finishMs: number; slot: number }>();
  let now = 0;
  let workMs = 0;
  while (ready.length > 0 || running.length > 0) {
    ready.sort(before);
    free.sort((a, b) => a - b);
    while (ready.length > 0 && free.length > 0) {
      const key = ready.shift()!;
      const slot = free.shift()!;
      const finishMs = now + costOf(key);
      workMs += costOf(key);
      schedule.set(key, { startMs: now, finishMs, slot });
      running.push({ key, finishMs, slot });
    }
    running.sort((a, b) => b.finishMs - a.finishMs || b.slot - a.slot);
    if (running.length === 0) break;
    // Every job finishing at the next instant frees its slot before the next choice.
    now = running[running.length - 1].finishMs;
    while (running.length > 0 && running[running.length - 1].finishMs === now) {
      const done = running.pop()!;
      free.push(done.slot);
      for (const d of dependents.get(done.key)!) {
        const left = waiting.get(d)! - 1;
        waiting.set(d, left);
        if (left === 0) ready.push(d);
      }
    }
  }
  if (schedule.size < plan.jobs.size)
    throw new PlanError(`the plan's jobs do not form a DAG: ${plan.jobs.size - schedule.size} never become ready`);
  let criticalPathMs = 0;
  for (const h of height.values()) criticalPathMs = Math.max(criticalPathMs, h);
  return { makespanMs: now, workMs, criticalPathMs, schedule };
}
