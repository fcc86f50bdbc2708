/**
 * Shape of a plan's DAG: reverse edges, each job's critical path to the top (the longest chain of jobs
 * that must wait for it, itself included) and fan-out. The scheduler orders ready jobs by these; `plan`
 * prints them.
 */
import type { Job, Plan } from './job.js';

export interface PlanGraph {
  /** Jobs that depend directly on each job. */
  dependents: Map<string, string[]>;
  /** Longest chain, in jobs, from this job up to a job nothing depends on (itself included). */
  height: Map<string, number>;
  /** Number of jobs that depend directly on this one. */
  fanOut: Map<string, number>;
  edgeCount: number;
  /** The longest chain of the DAG, in build order (dependencies first), as keys. */
  criticalPath: string[];
}

export function analysePlan(plan: Plan): PlanGraph {
  const dependents = new Map<string, string[]>();
  let edgeCount = 0;
  for (const job of plan.jobs.values()) dependents.set(job.key, []);
  for (const job of plan.jobs.values()) {
    for (const d of job.dependencies) {
      dependents.get(d)!.push(job.key);
      edgeCount++;
    }
  }
  const jobsInOrder = [...plan.jobs.values()];
  // Height: reverse build order, so every dependent is done before its dependency.
  const height = new Map<string, number>();
  const next = new Map<string, string | null>();
  for (let i = jobsInOrder.length - 1; i >= 0; i--) {
    const job = jobsInOrder[i];
    let best = 0;
    let bestKey: string | null = null;
    for (const d of dependents.get(job.key)!) {
      const h = height.get(d)!;
      if (h > best || (h === best && bestKey !== null && d < bestKey)) {
        best = h;
        bestKey = d;
      }
    }
    height.set(job.key, best + 1);
    next.set(job.key, bestKey);
  }
  const fanOut = new Map<string, number>();
  for (const [k, ds] of dependents) fanOut.set(k, ds.length);
  // Longest path starts at the job with the greatest height.
  let start: Job | null = null;
  for (const job of jobsInOrder) if (start === null || height.get(job.key)! > height.get(start.key)!) start = job;
  const criticalPath: string[] = [];
  for (let k: string | null = start?.key ?? null; k !== null; k = next.get(k) ?? null) criticalPath.push(k);
  return { dependents, height, fanOut, edgeCount, criticalPath };
}

/** The plan as JSON-ready data: every job with its dependencies, the targets, the critical path. */
export function planToJson(plan: Plan, graph: PlanGraph = analysePlan(plan)) {
  const jobs = [...plan.jobs.values()].map((j) => ({
    key: j.key,
    id: j.id,
    name: j.package.name,
    version: j.package.version,
    dependencies: j.dependencies,
    height: graph.height.get(j.key)!,
    fanOut: graph.fanOut.get(j.key)!,
  }));
  return {
    jobCount: plan.jobs.size,
    edgeCount: graph.edgeCount,
    criticalPathLength: graph.criticalPath.length,
    criticalPath: graph.criticalPath.map((k) => ({ key: k, id: plan.jobs.get(k)!.id })),
    targets: plan.targets,
    notInstallable: plan.notInstallable,
    jobs,
  };
}
