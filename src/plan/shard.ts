/**
 * A plan split into N shards of balanced predicted cost, for N CI runners that share nothing: each shard
 * is closed under dependencies (a job two shards need is built in both: its cost is counted as
 * duplicated), so each runs alone. Targets are partitioned, not jobs, by dependency cones (targets that
 * share costly dependencies go together, see partitionPlan), balanced by predicted cost.
 *
 * Every shard of a check must compute the same partition, so the split is a function of inputs they
 * share only: the plan, the costs (a durations file that travels with the check, else the stated
 * estimate: never what one runner's state recorded) and N. partitionIdentity hashes these; each shard's
 * run records it, and a merge refuses shards whose identities differ. Deterministic: the same plan and
 * costs give the same shards.
 *
 * Not-installable targets have no job: every shard carries them (they cost nothing), so each shard's
 * run records them and a merge of any shards still has them.
 */
import { createHash } from 'node:crypto';
import type { Job, Plan } from './job.js';
import { resolveCosts, type CostLookup, type JobCosts } from './job-cost.js';
import type { Durations } from './durations-file.js';
import { PlanError } from './plan-error.js';

/** Shard `index` (1-based) of `count`. */
export interface ShardSpec {
  index: number;
  count: number;
  /**
   * The durations every shard of the check splits the plan with (`--durations FILE`); none: every job
   * is the stated estimate. Never a runner's own recorded durations: they differ between runners.
   */
  durations?: Durations | null;
}

export interface Shard {
  index: number;
  /** The shard's targets, in plan order. */
  targets: Plan['targets'];
  /** The keys of its jobs (the targets' closures), in plan order. */
  jobs: string[];
  /** Sum of its jobs' costs, ms. */
  costMs: number;
}

export interface ShardPartition {
  count: number;
  /** Index i - 1 is shard i. */
  shards: Shard[];
  /** Every job once, ms. */
  totalCostMs: number;
  /** What the shards build more than once: the sum of the shards' costs minus the total. */
  duplicatedCostMs: number;
  /** Jobs built in more than one shard. */
  duplicatedJobs: number;
  /** The costs the split used (which jobs were estimated, and how). */
  costs: JobCosts;
}

/** Reads `I/N` (1 ≤ I ≤ N). */
export function parseShardSpec(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (m === null) throw new PlanError('expected a shard as I/N (shard I of N, counted from 1)', 'input', { setting: 'shard', value: text });
  const spec = { index: Number(m[1]), count: Number(m[2]) };
  checkShardSpec(spec.count, spec.index);
  return spec;
}

function checkShardSpec(count: number, index: number | null): void {
  if (!Number.isSafeInteger(count) || count < 1)
    throw new PlanError(`the number of shards must be a whole number of 1 or more, not ${count}`, 'input', {
      setting: 'shard',
      value: index === null ? String(count) : `${index}/${count}`,
    });
  if (index !== null && (!Number.isSafeInteger(index) || index < 1 || index > count))
    throw new PlanError(`the shard index must be between 1 and ${count}`, 'input', { setting: 'shard', value: `${index}/${count}` });
}

/** The name of the splitting rule (the cones, and the waves' choice of what comes before the shards), part of a partition's identity: a new rule is a new partition. */
export const PARTITION_RULE = 'cones-3-waves-1';

/** A target group: the targets built by one job, and that job's closure (indices into the plan's jobs). */
interface Group {
  key: string;
  closure: number[];
  costMs: number;
  first: number;
}

/**
 * The split of the plan into `count` shards (see the module comment): the best of several candidates
 * (the two best refined by single moves, see refine), compared by the largest shard's cost, then by
 * the total:
 *
 * - by dependency cones: every job hangs under its costliest dependency (the one with the costliest
 *   closure), which makes a tree whose subtrees are the cones of shared dependencies; the targets in
 *   that tree's depth-first order are cut into `count` consecutive runs, each as large as the
 *   smallest budget allows (a binary search on the largest shard's cost), so a cone stays in one
 *   shard unless it is larger than a shard;
 * - the same tree cut into units of a given size, packed by longest processing time (unitPartition);
 * - shards grown one at a time around a seed, by the targets whose closures they already hold most of
 *   (growPartition);
 * - greedy longest processing time: the costliest target closure first, each to the shard whose load
 *   would be smallest after taking it (ties: the shard already holding most of it). Better when the
 *   targets are few and share little.
 */
export function partitionPlan(plan: Plan, count: number, costs: JobCosts | CostLookup): ShardPartition {
  checkShardSpec(count, null);
  const c = resolveCosts(plan, costs);
  const keys = [...plan.jobs.keys()];
  const index = new Map<string, number>();
  keys.forEach((k, i) => index.set(k, i));
  const cost = keys.map((k) => c.cost.get(k) ?? 0);

  // Targets with the same job are placed together (their closures are the same).
  const groups = new Map<string, Group>();
  plan.targets.forEach((t, n) => {
    if (groups.has(t.key)) return;
    const job = plan.jobs.get(t.key);
    if (job === undefined) throw new PlanError(`target ${t.id} names job ${t.key}, which is not in the plan`);
    const closure = [...job.closure, job.key].map((k) => index.get(k)!);
    groups.set(t.key, { key: t.key, closure, costMs: closure.reduce((s, i) => s + cost[i], 0), first: n });
  });
  const list = [...groups.values()];

  const tree = coneTree(plan, keys, index, cost);
  const total = cost.reduce((s, x) => s + x, 0);
  const candidates: Assignment[] = [
    conePartition(tree, index, cost, list, count),
    lptPartition(list, cost, count),
    grownPartition(list, cost, count),
  ];
  for (const share of [1, 2, 4, 8]) candidates.push(unitPartition(tree, index, cost, list, count, total / (count * share)));
  // Smallest largest shard, then least total; the first on a tie.
  const score = (a: Assignment) => [Math.max(0, ...a.load), a.load.reduce((s, x) => s + x, 0)];
  const better = (a: Assignment, b: Assignment) => {
    const [x, y] = [score(a), score(b)];
    return x[0] < y[0] || (x[0] === y[0] && x[1] < y[1]);
  };
  // The best two refined (refining costs more than the candidates).
  const ranked = [...candidates].sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0)).slice(0, 2);
  const refined = ranked.map((a) => refine(a, list, cost, count));
  return describe(plan, keys, cost, better(refined[1], refined[0]) ? refined[1] : refined[0], count, c);
}

/** Which shard takes each group (by job key), and each shard's load (its jobs' costs, each job once). */
interface Assignment {
  shardOf: Map<string, number>;
  load: number[];
}

/** Greedy longest processing time, with affinity on ties (see partitionPlan). */
function lptPartition(groups: Group[], cost: number[], count: number): Assignment {
  const order = [...groups].sort((a, b) => b.costMs - a.costMs || a.first - b.first);
  const owner: Uint8Array[] = Array.from({ length: count }, () => new Uint8Array(cost.length));
  const load: number[] = new Array<number>(count).fill(0);
  const shardOf = new Map<string, number>();
  for (const g of order) {
    let best = -1;
    let bestAfter = Infinity;
    let bestShared = -1;
    for (let s = 0; s < count; s++) {
      let added = 0;
      let shared = 0;
      for (const k of g.closure) {
        if (owner[s][k] === 1) shared += cost[k];
        else added += cost[k];
      }
      const after = load[s] + added;
      // Smallest load after; then the shard sharing most of the closure; then the lowest index.
      if (after < bestAfter || (after === bestAfter && shared > bestShared)) {
        best = s;
        bestAfter = after;
        bestShared = shared;
      }
    }
    for (const k of g.closure) owner[best][k] = 1;
    load[best] = bestAfter;
    shardOf.set(g.key, best);
  }
  return { shardOf, load };
}

/** The tree of costliest dependencies: each job under the dependency with the costliest closure (see partitionPlan). */
interface ConeTree {
  children: number[][];
  roots: number[];
}

function coneTree(plan: Plan, keys: string[], index: Map<string, number>, cost: number[]): ConeTree {
  // Each job's closure cost (itself included): its weight as a parent.
  const weight = keys.map((k) => {
    const job = plan.jobs.get(k)!;
    return job.closure.reduce((s, d) => s + cost[index.get(d)!], cost[index.get(k)!]);
  });
  const children: number[][] = keys.map(() => []);
  const roots: number[] = [];
  keys.forEach((k, i) => {
    let parent = -1;
    for (const d of plan.jobs.get(k)!.dependencies) {
      const j = index.get(d);
      if (j === undefined) continue;
      // The costliest closure; ties: the later in plan order (the more specific dependency).
      if (parent < 0 || weight[j] > weight[parent] || (weight[j] === weight[parent] && j > parent)) parent = j;
    }
    if (parent < 0) roots.push(i);
    else children[parent].push(i);
  });
  return { children, roots };
}

/** The targets in the depth-first order of the cone tree. */
function coneOrder(tree: ConeTree, index: Map<string, number>, groups: Group[]): Group[] {
  const groupOf = new Map<number, Group>();
  for (const g of groups) groupOf.set(index.get(g.key)!, g);
  const order: Group[] = [];
  const stack = [...tree.roots].reverse();
  while (stack.length > 0) {
    const i = stack.pop()!;
    const g = groupOf.get(i);
    if (g !== undefined) order.push(g);
    for (let n = tree.children[i].length - 1; n >= 0; n--) stack.push(tree.children[i][n]);
  }
  return order;
}

/**
 * Cones packed whole: the cone tree cut top-down into units, a subtree whose own jobs cost at most
 * `unit` being one unit (its targets together), a larger one leaving its root's targets as a unit and
 * cut further below; the units then placed by longest processing time (each unit's closure, the union
 * of its targets', to the shard whose load would be smallest after taking it).
 */
function unitPartition(
  tree: ConeTree,
  index: Map<string, number>,
  cost: number[],
  groups: Group[],
  count: number,
  unit: number,
): Assignment {
  const groupOf = new Map<number, Group>();
  for (const g of groups) groupOf.set(index.get(g.key)!, g);
  // Each subtree's own cost (every job is in exactly one subtree of its ancestors): children after parents in plan order.
  const size = new Float64Array(cost.length);
  const post: number[] = [];
  const stack: [number, boolean][] = tree.roots.map((r) => [r, false] as [number, boolean]).reverse();
  while (stack.length > 0) {
    const [i, done] = stack.pop()!;
    if (done) {
      post.push(i);
      continue;
    }
    stack.push([i, true]);
    for (let n = tree.children[i].length - 1; n >= 0; n--) stack.push([tree.children[i][n], false]);
  }
  for (const i of post) size[i] = tree.children[i].reduce((s, c) => s + size[c], cost[i]);
  const units: Group[][] = [];
  const collect = (root: number): Group[] => {
    const out: Group[] = [];
    const st = [root];
    while (st.length > 0) {
      const i = st.pop()!;
      const g = groupOf.get(i);
      if (g !== undefined) out.push(g);
      for (let n = tree.children[i].length - 1; n >= 0; n--) st.push(tree.children[i][n]);
    }
    return out;
  };
  const visit: number[] = [...tree.roots].reverse();
  while (visit.length > 0) {
    const i = visit.pop()!;
    if (size[i] <= unit) {
      const members = collect(i);
      if (members.length > 0) units.push(members);
      continue;
    }
    const g = groupOf.get(i);
    if (g !== undefined) units.push([g]);
    for (let n = tree.children[i].length - 1; n >= 0; n--) visit.push(tree.children[i][n]);
  }
  const seen = new Uint8Array(cost.length);
  const unitGroups: Group[] = units.map((members, n) => {
    const closure: number[] = [];
    for (const g of members)
      for (const k of g.closure)
        if (seen[k] !== 1) {
          seen[k] = 1;
          closure.push(k);
        }
    for (const k of closure) seen[k] = 0;
    return { key: String(n), closure, costMs: closure.reduce((s, k) => s + cost[k], 0), first: Math.min(...members.map((g) => g.first)) };
  });
  const placed = lptPartition(unitGroups, cost, count);
  const shardOf = new Map<string, number>();
  units.forEach((members, n) => {
    for (const g of members) shardOf.set(g.key, placed.shardOf.get(String(n))!);
  });
  return { shardOf, load: placed.load };
}

/** A binary heap of [priority, tie, group], smallest first. */
class GroupHeap {
  private items: [number, number, number][] = [];
  get size(): number {
    return this.items.length;
  }
  push(item: [number, number, number]): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!GroupHeap.less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): [number, number, number] {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && GroupHeap.less(a[l], a[m])) m = l;
        if (r < a.length && GroupHeap.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
  private static less(x: [number, number, number], y: [number, number, number]): boolean {
    return x[0] < y[0] || (x[0] === y[0] && (x[1] < y[1] || (x[1] === y[1] && x[2] < y[2])));
  }
}

/**
 * Shards grown one after the other, each from a seed (the costliest closure left), by taking next the
 * target whose closure the shard already holds the largest part of (the smallest share of its cost
 * still missing; ties: the costliest closure), until the shard's load reaches `budget`; the last shard
 * takes what is left. Grows cones the way a shard would want them, whatever the tree says.
 */
function growPartition(groups: Group[], cost: number[], count: number, budget: number): Assignment {
  const J = cost.length;
  const users: number[][] = Array.from({ length: J }, () => []);
  groups.forEach((g, n) => {
    for (const j of g.closure) users[j].push(n);
  });
  const assigned = new Int32Array(groups.length).fill(-1);
  const shardOf = new Map<string, number>();
  const load: number[] = new Array<number>(count).fill(0);
  const bySize = groups.map((_, n) => n).sort((a, b) => groups[b].costMs - groups[a].costMs || groups[a].first - groups[b].first);
  let nextSeed = 0;
  const missing = new Float64Array(groups.length);
  const inShard = new Int32Array(J).fill(-1);
  let left = groups.length;
  for (let s = 0; s < count && left > 0; s++) {
    const last = s === count - 1;
    for (let n = 0; n < groups.length; n++) missing[n] = groups[n].costMs;
    const heap = new GroupHeap();
    const ratio = (n: number) => (groups[n].costMs > 0 ? missing[n] / groups[n].costMs : 0);
    const take = (n: number) => {
      assigned[n] = s;
      left--;
      shardOf.set(groups[n].key, s);
      for (const j of groups[n].closure) {
        if (inShard[j] === s) continue;
        inShard[j] = s;
        load[s] += cost[j];
        for (const u of users[j]) {
          if (assigned[u] >= 0) continue;
          missing[u] -= cost[j];
          heap.push([ratio(u), -groups[u].costMs, u]);
        }
      }
    };
    while (nextSeed < bySize.length && assigned[bySize[nextSeed]] >= 0) nextSeed++;
    if (nextSeed >= bySize.length) break;
    take(bySize[nextSeed]);
    while (left > 0) {
      let n = -1;
      while (heap.size > 0) {
        const [r, , u] = heap.pop();
        if (assigned[u] < 0 && r === ratio(u)) {
          n = u;
          break;
        }
      }
      if (n < 0) {
        // Nothing shares a job with the shard: the next seed.
        while (nextSeed < bySize.length && assigned[bySize[nextSeed]] >= 0) nextSeed++;
        if (nextSeed >= bySize.length) break;
        n = bySize[nextSeed];
      }
      if (!last && load[s] + missing[n] > budget && load[s] > 0) {
        break;
      }
      take(n);
    }
  }
  // Anything left (when every shard filled before the last) goes to the least loaded shard.
  for (let n = 0; n < groups.length; n++)
    if (assigned[n] < 0) {
      let s = 0;
      for (let x = 1; x < count; x++) if (load[x] < load[s]) s = x;
      assigned[n] = s;
      shardOf.set(groups[n].key, s);
      load[s] += groups[n].costMs;
    }
  return recount(groups, cost, count, shardOf);
}

/** The loads of an assignment, each job once per shard. */
function recount(groups: Group[], cost: number[], count: number, shardOf: Map<string, number>): Assignment {
  const mark = new Int32Array(cost.length).fill(-1);
  const load: number[] = new Array<number>(count).fill(0);
  const byShard: Group[][] = Array.from({ length: count }, () => []);
  for (const g of groups) byShard[shardOf.get(g.key)!].push(g);
  byShard.forEach((list, s) => {
    for (const g of list)
      for (const j of g.closure)
        if (mark[j] !== s) {
          mark[j] = s;
          load[s] += cost[j];
        }
  });
  return { shardOf, load };
}

/** growPartition with the smallest budget (a binary search) whose last shard is no larger than the others. */
function grownPartition(groups: Group[], cost: number[], count: number): Assignment {
  const total = cost.reduce((a, b) => a + b, 0);
  let lo = total / count;
  let hi = total;
  let best = growPartition(groups, cost, count, hi);
  const worst = (a: Assignment) => Math.max(0, ...a.load);
  for (let step = 0; step < 12; step++) {
    const mid = (lo + hi) / 2;
    const a = growPartition(groups, cost, count, mid);
    if (worst(a) < worst(best)) best = a;
    // The last shard larger than the budget: the budget was too small.
    if (a.load[count - 1] > mid) lo = mid;
    else hi = mid;
  }
  return best;
}

/** Consecutive runs of the cone order, the largest as small as a binary search on its budget finds. */
function conePartition(tree: ConeTree, index: Map<string, number>, cost: number[], groups: Group[], count: number): Assignment {
  const order = coneOrder(tree, index, groups);
  const stamp = new Int32Array(cost.length).fill(-1);
  // Cuts the order into runs of at most `budget` each (a group larger than the budget alone); null when
  // more than `count` runs are needed.
  const cut = (budget: number): Assignment | null => {
    stamp.fill(-1);
    const shardOf = new Map<string, number>();
    const load: number[] = [0];
    let s = 0;
    for (const g of order) {
      let added = 0;
      for (const k of g.closure) if (stamp[k] !== s) added += cost[k];
      if (load[s] > 0 && load[s] + added > budget) {
        s++;
        if (s >= count) return null;
        load.push(0);
        added = g.costMs;
      }
      for (const k of g.closure) stamp[k] = s;
      load[s] += added;
      shardOf.set(g.key, s);
    }
    while (load.length < count) load.push(0);
    return { shardOf, load };
  };
  let lo = groups.reduce((m, g) => Math.max(m, g.costMs), 0);
  let hi = cost.reduce((s, x) => s + x, 0);
  let best = cut(hi)!;
  if (lo >= hi) return best;
  // The smallest budget (to a part in a thousand of the total) that needs no more than `count` runs.
  const step = Math.max(1, Math.floor(hi / 1000));
  while (hi - lo > step) {
    const mid = Math.floor((lo + hi) / 2);
    const a = cut(mid);
    if (a === null) lo = mid;
    else {
      best = a;
      hi = mid;
    }
  }
  return best;
}

/**
 * Moves of single target groups between shards, in passes over the groups in a fixed order, while they
 * help: a move that saves more than it adds (the jobs only this group needed in its shard, against the
 * jobs its closure lacks in the other), or saves as much while joining a shard that already holds more
 * of its closure (so a cone split between shards gathers, until one side no longer needs its shared
 * dependencies); never past the largest shard's load. Then moves off the largest shard that make it
 * smaller without making another as large.
 */
function refine(start: Assignment, groups: Group[], cost: number[], count: number): Assignment {
  if (count < 2 || groups.length === 0) return start;
  const J = cost.length;
  // How many of a shard's groups need each job: cnt[s * J + j].
  const cnt = new Int32Array(count * J);
  const load = [...start.load];
  const at = groups.map((g) => start.shardOf.get(g.key)!);
  groups.forEach((g, n) => {
    for (const j of g.closure) cnt[at[n] * J + j]++;
  });
  const saving = (n: number): number => {
    let x = 0;
    const base = at[n] * J;
    for (const j of groups[n].closure) if (cnt[base + j] === 1) x += cost[j];
    return x;
  };
  const added = (n: number, t: number): number => {
    let x = 0;
    const base = t * J;
    for (const j of groups[n].closure) if (cnt[base + j] === 0) x += cost[j];
    return x;
  };
  /** The cost of the group's closure other groups of shard `t` also need. */
  const shared = (n: number, t: number): number => {
    let x = 0;
    const base = t * J;
    const own = t === at[n] ? 1 : 0;
    for (const j of groups[n].closure) if (cnt[base + j] > own) x += cost[j];
    return x;
  };
  const move = (n: number, t: number, save: number, add: number) => {
    const s = at[n];
    for (const j of groups[n].closure) {
      cnt[s * J + j]--;
      cnt[t * J + j]++;
    }
    load[s] -= save;
    load[t] += add;
    at[n] = t;
  };
  const MAX_PASSES = 30;
  for (let round = 0; round < 4; round++) {
    let changed = false;
    // Gather: moves that lower the total, or keep it while joining more of the closure.
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const cap = Math.max(...load);
      let moved = 0;
      for (let n = 0; n < groups.length; n++) {
        const s = at[n];
        const save = saving(n);
        const here = shared(n, s);
        let best = -1;
        let bestGain = 0;
        let bestShared = here;
        let bestAdd = 0;
        for (let t = 0; t < count; t++) {
          if (t === s) continue;
          const add = added(n, t);
          if (load[t] + add > cap) continue;
          const gain = save - add;
          if (gain < 0 || (gain === 0 && save === 0)) continue;
          const sh = gain === 0 ? shared(n, t) : 0;
          if (gain > bestGain || (gain === bestGain && gain === 0 && sh > bestShared)) {
            best = t;
            bestGain = gain;
            bestShared = sh;
            bestAdd = add;
          }
        }
        if (best >= 0) {
          move(n, best, save, bestAdd);
          moved++;
        }
      }
      if (moved === 0) break;
      changed = true;
    }
    // Balance: moves off the largest shard that leave both sides below its load.
    for (let step = 0; step < groups.length; step++) {
      let s = 0;
      for (let x = 1; x < count; x++) if (load[x] > load[s]) s = x;
      let bestN = -1;
      let bestT = -1;
      let bestAfter = load[s];
      let bestSave = 0;
      let bestAdd = 0;
      for (let n = 0; n < groups.length; n++) {
        if (at[n] !== s) continue;
        const save = saving(n);
        if (save === 0) continue;
        for (let t = 0; t < count; t++) {
          if (t === s) continue;
          const add = added(n, t);
          const after = Math.max(load[s] - save, load[t] + add);
          if (after < bestAfter || (after === bestAfter && bestN >= 0 && add - save < bestAdd - bestSave)) {
            bestN = n;
            bestT = t;
            bestAfter = after;
            bestSave = save;
            bestAdd = add;
          }
        }
      }
      if (bestN < 0) break;
      move(bestN, bestT, bestSave, bestAdd);
      changed = true;
    }
    if (!changed) break;
  }
  const shardOf = new Map<string, number>();
  groups.forEach((g, n) => shardOf.set(g.key, at[n]));
  return { shardOf, load };
}

function describe(plan: Plan, keys: string[], cost: number[], a: Assignment, count: number, c: JobCosts): ShardPartition {
  const index = new Map<string, number>();
  keys.forEach((k, i) => index.set(k, i));
  const members: Uint8Array[] = Array.from({ length: count }, () => new Uint8Array(keys.length));
  const targetKeys: Set<string>[] = Array.from({ length: count }, () => new Set<string>());
  for (const [key, s] of a.shardOf) {
    targetKeys[s].add(key);
    const job = plan.jobs.get(key)!;
    members[s][index.get(key)!] = 1;
    for (const d of job.closure) members[s][index.get(d)!] = 1;
  }
  const inShards = new Int32Array(keys.length);
  const shards: Shard[] = members.map((m, s) => {
    const jobs: string[] = [];
    let costMs = 0;
    for (let i = 0; i < keys.length; i++)
      if (m[i] === 1) {
        jobs.push(keys[i]);
        costMs += cost[i];
        inShards[i]++;
      }
    return { index: s + 1, targets: plan.targets.filter((t) => targetKeys[s].has(t.key)), jobs, costMs };
  });
  let totalCostMs = 0;
  let duplicatedCostMs = 0;
  let duplicatedJobs = 0;
  for (let i = 0; i < keys.length; i++) {
    if (inShards[i] === 0) continue;
    totalCostMs += cost[i];
    if (inShards[i] > 1) {
      duplicatedJobs++;
      duplicatedCostMs += (inShards[i] - 1) * cost[i];
    }
  }
  return { count, shards, totalCostMs, duplicatedCostMs, duplicatedJobs, costs: c };
}

/**
 * The identity of the partition of `plan` into `count` shards with these costs: a hash of the splitting
 * rule, N, the plan's targets (installable with their jobs, and not installable), its jobs in order and
 * the cost each was given. Shards that computed the same identity split the same plan the same way, so
 * their targets together are exactly the plan's; a merge refuses shards whose identities differ.
 */
export function partitionIdentity(plan: Plan, costs: JobCosts | CostLookup, count: number): string {
  checkShardSpec(count, null);
  const c = resolveCosts(plan, costs);
  const h = createHash('sha256');
  h.update(`${PARTITION_RULE}\n${count}\n`);
  for (const t of plan.targets) h.update(`target ${t.id} ${t.key}\n`);
  for (const t of plan.notInstallable) h.update(`not-installable ${t.id}\n`);
  for (const [k, job] of plan.jobs) h.update(`job ${k} ${c.cost.get(k) ?? 0} ${job.dependencies.join(',')}\n`);
  return h.digest('hex');
}

/** The sub-plan of one shard of a partition, in the shape `buildPlan` returns. */
export function planOfShard(plan: Plan, shard: Shard): Plan {
  const jobs = new Map<string, Job>();
  for (const key of shard.jobs) jobs.set(key, plan.jobs.get(key)!);
  return { jobs, targets: shard.targets.map((t) => ({ ...t })), notInstallable: plan.notInstallable.map((t) => ({ ...t })) };
}

/**
 * The sub-plan of shard `index` (1-based) of `count`, in the shape `buildPlan` returns, so the scheduler
 * runs it unchanged: its targets and their closures, in plan order, and every not-installable target.
 */
export function shardPlan(plan: Plan, count: number, index: number, costs: JobCosts | CostLookup): Plan {
  checkShardSpec(count, index);
  return planOfShard(plan, partitionPlan(plan, count, costs).shards[index - 1]);
}

/**
 * The share of the targets above which a job is built once, before the shards, by the check's first job
 * (with the compiler), and handed to every shard as layers: a job that many shards would all need.
 */
export const PREBUILT_SHARE = 0.1;

/**
 * The jobs a check's first job builds before the shards: the compiler (the jobs of the `ocaml`
 * package and their closures) and every job that at least `share` of the targets need (a set closed
 * under dependencies: a job's dependencies are needed wherever it is). A function of the plan alone.
 */
export function prebuiltJobs(plan: Plan, share: number = PREBUILT_SHARE): Set<string> {
  const out = new Set<string>();
  for (const job of plan.jobs.values())
    if (job.package.name === 'ocaml') {
      out.add(job.key);
      for (const k of job.closure) out.add(k);
    }
  const groups = new Map<string, Job>();
  for (const t of plan.targets) {
    const job = plan.jobs.get(t.key);
    if (job !== undefined) groups.set(t.key, job);
  }
  if (share > 1 || groups.size === 0) return out;
  const need = new Map<string, number>();
  for (const job of groups.values()) for (const k of [...job.closure, job.key]) need.set(k, (need.get(k) ?? 0) + 1);
  const threshold = Math.max(2, Math.ceil(share * groups.size));
  for (const [k, n] of need) if (n >= threshold) out.add(k);
  return out;
}

/** The costs with the prebuilt jobs free (every shard takes them from the first job's layers). */
export function withPrebuilt(costs: JobCosts, prebuilt: ReadonlySet<string>): JobCosts {
  const cost = new Map(costs.cost);
  const source = new Map(costs.source);
  for (const k of prebuilt)
    if (cost.has(k)) {
      cost.set(k, 0);
      source.set(k, 'cached');
    }
  return { ...costs, cost, source };
}
