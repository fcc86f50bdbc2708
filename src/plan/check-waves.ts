/**
 * A wave of a sharded check: between the first job (the compiler) and the shards, N runners build in
 * parallel disjoint parts of the jobs many shards would otherwise each build, and hand them to every
 * later stage as layers (check-partition.ts chooses how many waves, and which jobs, by predicted wall
 * time). A wave's part is closed under dependencies except for what earlier stages built (a job two
 * parts need is built in both, counted as duplicated); its runners' idle cores take jobs whose
 * dependencies earlier stages built (fillers: built once, no shard builds them again).
 *
 * A function of the plan, the costs and the jobs built before the wave, so every runner computes the
 * same parts.
 */
import type { Plan } from './job.js';
import type { JobCosts } from './job-cost.js';
import { simulateSchedule } from './makespan-schedule.js';
import { partitionPlan, withPrebuilt, type ShardPartition } from './shard.js';

export interface Wave {
  /** parts[i]: the keys runner i + 1 builds, in plan order (none of the jobs built before the wave). */
  parts: string[][];
  /** Every job the wave builds (the union of its parts). */
  jobs: Set<string>;
  /** The slowest part's list schedule on the runners' cores, ms. */
  makespanMs: number;
  /** The parts' costs summed (a job in two parts counted twice), ms. */
  workMs: number;
}

/** How many times a wave's idle cores are offered jobs whose dependencies are done (each round: one level deeper). */
const FILLER_ROUNDS = 6;

/** Each job's cost. */
function costOf(costs: JobCosts): (key: string) => number {
  return (k) => costs.cost.get(k) ?? 0;
}

/**
 * The jobs at least `atLeast` shards of `partition` build (not built before, not free), with their
 * dependencies not built before: a set closed under dependencies modulo `before`.
 */
export function sharedJobs(
  plan: Plan,
  partition: ShardPartition,
  costs: JobCosts,
  before: ReadonlySet<string>,
  atLeast: number,
): Set<string> {
  const cost = costOf(costs);
  const shardsOf = new Map<string, number>();
  for (const s of partition.shards) for (const k of s.jobs) shardsOf.set(k, (shardsOf.get(k) ?? 0) + 1);
  const out = new Set<string>();
  for (const [k, n] of shardsOf) if (n >= atLeast && !before.has(k) && cost(k) > 0) out.add(k);
  for (const k of [...out]) for (const d of plan.jobs.get(k)!.closure) if (!before.has(d)) out.add(d);
  return out;
}

/** The list schedule of each part (dependencies outside it are built before: free), on `cores` slots. */
export function partSchedules(
  plan: Plan,
  parts: string[][],
  cores: number,
  costs: JobCosts,
): { makespanMs: number; workMs: number; finishMs: Map<string, number> }[] {
  return parts.map((part) => {
    if (part.length === 0) return { makespanMs: 0, workMs: 0, finishMs: new Map<string, number>() };
    const inPart = new Set(part);
    const sub: Plan = {
      jobs: new Map(
        part.map((k) => {
          const job = plan.jobs.get(k)!;
          return [k, { ...job, dependencies: job.dependencies.filter((d) => inPart.has(d)) }];
        }),
      ),
      targets: [],
      notInstallable: [],
    };
    const sim = simulateSchedule(sub, cores, costs);
    const finishMs = new Map<string, number>();
    for (const [k, x] of sim.schedule) finishMs.set(k, x.finishMs);
    return { makespanMs: sim.makespanMs, workMs: sim.workMs, finishMs };
  });
}

/**
 * The wave that builds `set` (closed under dependencies modulo `before`) on `count` runners of `cores`
 * cores: the set split by partitionPlan (each of its jobs a target, what was built before free), then
 * each part's idle time (the slowest part's makespan × cores, less its own work) filled with jobs
 * whose dependencies were all built before: the costliest first (ties: plan order), each to the part
 * with the most idle time that can take it.
 */
export function planWave(
  plan: Plan,
  set: ReadonlySet<string>,
  before: ReadonlySet<string>,
  count: number,
  cores: number,
  costs: JobCosts,
): Wave {
  const free = withPrebuilt(costs, before);
  const cost = costOf(costs);
  const keep = new Set<string>();
  for (const k of set) {
    keep.add(k);
    for (const d of plan.jobs.get(k)!.closure) keep.add(d);
  }
  const order = [...plan.jobs.keys()].filter((k) => keep.has(k));
  const sub: Plan = {
    jobs: new Map(order.map((k) => [k, plan.jobs.get(k)!])),
    targets: order.filter((k) => set.has(k)).map((k) => ({ id: plan.jobs.get(k)!.id, key: k })),
    notInstallable: [],
  };
  const split = partitionPlan(sub, count, free);
  const parts = split.shards.map((s) => s.jobs.filter((k) => !before.has(k)));
  const position = new Map<string, number>();
  [...plan.jobs.keys()].forEach((k, i) => position.set(k, i));
  const inPlanOrder = (list: Iterable<string>) => [...list].sort((a, b) => position.get(a)! - position.get(b)!);
  let sims = partSchedules(plan, parts, cores, free);
  const wall = Math.max(0, ...sims.map((s) => s.makespanMs));
  // Fillers, in rounds: a job not yet placed whose dependencies were built before, or by one part whose
  // schedule has them done early enough for the job to end by the wave's end.
  let filled = parts.map((p) => new Set(p));
  for (let round = 0; round < FILLER_ROUNDS; round++) {
    const partOf = new Map<string, number>();
    filled.forEach((p, i) => {
      for (const k of p) if (!partOf.has(k)) partOf.set(k, i);
    });
    // Idle core time of each part until the slowest part ends.
    const idle = sims.map((s) => wall * cores - s.workMs);
    const candidates: { key: string; part: number; ready: number }[] = [];
    for (const job of plan.jobs.values()) {
      const c = cost(job.key);
      if (before.has(job.key) || partOf.has(job.key) || c <= 0 || c > wall) continue;
      let part = -1;
      let ready = 0;
      let ok = true;
      for (const d of job.dependencies) {
        if (before.has(d)) continue;
        const i = partOf.get(d);
        const f = i === undefined ? undefined : sims[i].finishMs.get(d);
        if (i === undefined || f === undefined || (part >= 0 && i !== part)) {
          ok = false;
          break;
        }
        part = i;
        ready = Math.max(ready, f);
      }
      if (ok && ready + c <= wall) candidates.push({ key: job.key, part, ready });
    }
    candidates.sort((a, b) => cost(b.key) - cost(a.key) || position.get(a.key)! - position.get(b.key)!);
    const next = filled.map((p) => new Set(p));
    let added = 0;
    for (const { key, part } of candidates) {
      const c = cost(key);
      let best = part;
      if (best < 0) for (let i = 0; i < next.length; i++) if (idle[i] >= c && (best < 0 || idle[i] > idle[best])) best = i;
      if (best < 0 || idle[best] < c) continue;
      next[best].add(key);
      idle[best] -= c;
      added++;
    }
    if (added === 0) break;
    const nextSims = partSchedules(plan, next.map(inPlanOrder), cores, free);
    // Fillers must not make the wave longer (the list schedule may not fit them where counted).
    if (Math.max(0, ...nextSims.map((s) => s.makespanMs)) > wall) break;
    filled = next;
    sims = nextSims;
  }
  filled = pullFillers(plan, filled, sims, before, wall, cores, free, position);
  const parts2 = filled.map(inPlanOrder);
  const jobs = new Set<string>();
  for (const p of parts2) for (const k of p) jobs.add(k);
  return {
    parts: parts2,
    jobs,
    makespanMs: Math.max(0, ...sims.map((s) => s.makespanMs)),
    workMs: sims.reduce((s, x) => s + x.workMs, 0),
  };
}

/**
 * Fillers that bring their missing dependencies along: a job not yet in the wave, whose dependencies
 * neither earlier stages nor one part hold, goes to the part missing the least of its closure (its
 * missing dependencies built there too, a second time when another part has them: counted as
 * duplicated), when that part's idle time takes them all and the chain ends by the wave's end. The idle
 * cores cost nothing; what they build, no shard builds. Kept in each part whose schedule still ends by the wave's end.
 */
export function pullFillers(
  plan: Plan,
  filled: Set<string>[],
  sims: { makespanMs: number; workMs: number; finishMs: Map<string, number> }[],
  before: ReadonlySet<string>,
  wall: number,
  cores: number,
  costs: JobCosts,
  position: Map<string, number>,
): Set<string>[] {
  const cost = costOf(costs);
  const inWave = new Set<string>();
  for (const p of filled) for (const k of p) inWave.add(k);
  const next = filled.map((p) => new Set(p));
  const idle = sims.map((s) => PULL_SHARE * (wall * cores - s.workMs));
  const order = [...plan.jobs.values()].filter((j) => !before.has(j.key) && !inWave.has(j.key) && cost(j.key) > 0 && cost(j.key) <= wall);
  // The costliest first (ties: plan order).
  order.sort((a, b) => cost(b.key) - cost(a.key) || position.get(a.key)! - position.get(b.key)!);
  // When each pulled job would end in its part (its chain alone: the list schedule checks the rest).
  const pulledEnd = next.map(() => new Map<string, number>());
  let added = 0;
  for (const job of order) {
    if (inWave.has(job.key)) continue;
    let best = -1;
    let bestMissing: string[] = [];
    let bestCost = Infinity;
    for (let i = 0; i < next.length; i++) {
      const missing = job.closure.filter((d) => !before.has(d) && !next[i].has(d));
      const c = missing.reduce((s, d) => s + cost(d), 0) + cost(job.key);
      if (c < bestCost || (c === bestCost && best >= 0 && idle[i] > idle[best])) {
        best = i;
        bestCost = c;
        bestMissing = missing;
      }
    }
    if (best < 0 || idle[best] < bestCost) continue;
    // The chain's end: each missing job after its dependencies (those the part holds at their finish, else at the wave's end: unknown).
    const head = new Map<string, number>();
    const endOf = (k: string): number => {
      if (before.has(k)) return 0;
      const known = sims[best].finishMs.get(k) ?? head.get(k) ?? pulledEnd[best].get(k);
      if (known !== undefined) return known;
      return next[best].has(k) ? wall : Infinity;
    };
    let ok = true;
    for (const k of [...bestMissing, job.key]) {
      let start = 0;
      for (const d of plan.jobs.get(k)!.dependencies) start = Math.max(start, endOf(d));
      head.set(k, start + cost(k));
      if (start + cost(k) > wall) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    for (const k of [...bestMissing, job.key]) {
      next[best].add(k);
      inWave.add(k);
      pulledEnd[best].set(k, head.get(k)!);
    }
    idle[best] -= bestCost;
    added++;
  }
  if (added === 0) return filled;
  const nextSims = partSchedules(
    plan,
    next.map((p) => [...p].sort((a, b) => position.get(a)! - position.get(b)!)),
    cores,
    costs,
  );
  // Parts are scheduled apart: a part whose schedule got longer than the wave keeps what it had.
  return next.map((p, i) => (nextSims[i].makespanMs > wall ? filled[i] : p));
}

/** The share of a part's idle time offered to fillers that bring their dependencies (list schedules do not pack perfectly). */
const PULL_SHARE = 0.9;
