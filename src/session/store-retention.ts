/**
 * Which layers of the store `ecocheck gc` keeps: a pure decision over the recorded runs and what the
 * store holds, testable without disks.
 *
 * A run *needs* the layers of every job it found ok (built or taken from the cache) and the whole build
 * closure of those jobs: a rerun of a kept run is then all cache hits (cache-validity.ts reuses an ok
 * result only while its layer is complete, and its dependencies' layers are what its switch mounts).
 *
 * Kept runs:
 * - the newest finished baseline of each distinct comparison: the same repositories, targets and pins
 *   (what baseline-choice.ts matches a candidate with), so that every kind of candidate still finds its
 *   baseline whole;
 * - the newest run (of any kind or status), or the newest N with `keepNewest`;
 * - the runs named (`--keep-run`);
 * - the retries of a kept run (a retry belongs to its candidate: it is not counted among the newest).
 * Every other layer goes, and so do the leftovers of interrupted builds. The empty switch layers stay.
 *
 * With `maxBytes`, when what is kept is still larger, layers that only the newest-N runs need (not a
 * baseline kept above, not a named run) go too, least recently used first: the older the newest run
 * that recorded the key, the sooner; among equals, dependents before their dependencies (a larger
 * closure first), then the larger layer first. The layers of baselines and named runs never go: when
 * that is not enough, the decision says so.
 */
import type { RunInfo } from '../store/runs.js';
import { sameTargets } from './baseline-choice.js';

export interface RetentionPolicy {
  /** Runs whose layers are kept whatever the size (`--keep-run`). */
  keepRuns: readonly number[];
  /** The newest N runs are kept (1 by default; 0 keeps only the baselines and the named runs). */
  keepNewest: number;
  /** The store's bound (`--max-size`), or null. */
  maxBytes: number | null;
}

export interface RetentionInput {
  /** The recorded runs, any order. */
  runs: readonly Pick<RunInfo, 'id' | 'kind' | 'status' | 'repositories' | 'targets' | 'options' | 'retryOf'>[];
  /** Per run, the keys of its ok jobs. */
  okKeysByRun: ReadonlyMap<number, readonly string[]>;
  /** Per recorded job key, its dependencies' keys. */
  dependencies: ReadonlyMap<string, readonly string[]>;
  /** The complete layers in the store, with their size. */
  layers: readonly { name: string; bytes: number }[];
  /** Bytes the store holds besides the layers: base layers (always kept) and leftovers (always removed). */
  baseBytes: number;
  leftovers: readonly { name: string; bytes: number }[];
  /** For each key, the newest run that recorded it (for least-recently-used order). */
  lastRunOfKey: ReadonlyMap<string, number>;
}

export type KeepReason = 'newest baseline' | 'newest run' | 'named';

export interface KeptRun {
  id: number;
  why: KeepReason[];
  /** Layers of its closure present in the store / missing from it. */
  layers: number;
  missing: number;
}

export type RemovalReason = 'needed by no kept run' | 'over --max-size' | 'leftover';

export interface Removal {
  name: string;
  bytes: number;
  why: RemovalReason;
}

export interface RetentionDecision {
  keptRuns: KeptRun[];
  /** Layer keys kept (present in the store). */
  keep: Set<string>;
  remove: Removal[];
  /** The store's size now and after the removals. */
  totalBytes: number;
  keptBytes: number;
  /** False when `maxBytes` was given and what must be kept is larger. */
  maxSizeMet: boolean;
}

/** `keys` and every dependency of them, transitively (keys unknown to the records stand alone). */
export function buildClosure(keys: Iterable<string>, dependencies: ReadonlyMap<string, readonly string[]>): Set<string> {
  const closure = new Set<string>();
  const pending = [...keys];
  while (pending.length > 0) {
    const k = pending.pop() as string;
    if (closure.has(k)) continue;
    closure.add(k);
    for (const d of dependencies.get(k) ?? []) if (!closure.has(d)) pending.push(d);
  }
  return closure;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The newest finished baseline of each distinct (repositories, targets, pins). */
export function newestBaselines(runs: RetentionInput['runs']): number[] {
  const chosen: RetentionInput['runs'][number][] = [];
  const baselines = runs.filter((r) => r.kind === 'baseline' && r.status === 'finished').sort((a, b) => b.id - a.id);
  for (const b of baselines) {
    const shadowed = chosen.some(
      (c) => sameList(c.repositories, b.repositories) && sameTargets(c.targets, b.targets) && sameList(c.options.pins, b.options.pins),
    );
    if (!shadowed) chosen.push(b);
  }
  return chosen.map((r) => r.id);
}

/** The runs kept by the policy and why (no `maxBytes` part). */
export function keptRunReasons(
  runs: RetentionInput['runs'],
  policy: Pick<RetentionPolicy, 'keepRuns' | 'keepNewest'>,
): Map<number, KeepReason[]> {
  const reasons = new Map<number, KeepReason[]>();
  const addReason = (id: number, why: KeepReason) => {
    const list = reasons.get(id) ?? [];
    if (!list.includes(why)) list.push(why);
    reasons.set(id, list);
  };
  for (const id of newestBaselines(runs)) addReason(id, 'newest baseline');
  const newestFirst = [...runs].sort((a, b) => b.id - a.id);
  for (const r of newestFirst.filter((r) => r.kind !== 'retry').slice(0, Math.max(0, policy.keepNewest))) addReason(r.id, 'newest run');
  for (const id of policy.keepRuns) addReason(id, 'named');
  for (const r of runs) if (r.kind === 'retry' && r.retryOf !== null) for (const why of reasons.get(r.retryOf) ?? []) addReason(r.id, why);
  return reasons;
}

export function decideRetention(input: RetentionInput, policy: RetentionPolicy): RetentionDecision {
  const reasons = keptRunReasons(input.runs, policy);
  const present = new Map(input.layers.map((l) => [l.name, l.bytes]));
  const closureOfRun = (id: number) => buildClosure(input.okKeysByRun.get(id) ?? [], input.dependencies);
  const protectedKeys = new Set<string>();
  const yieldingKeys = new Set<string>();
  const keptRuns: KeptRun[] = [];
  for (const [id, why] of [...reasons].sort((a, b) => b[0] - a[0])) {
    const closure = closureOfRun(id);
    const isProtected = why.includes('newest baseline') || why.includes('named');
    let layers = 0;
    let missing = 0;
    for (const k of closure) {
      if (present.has(k)) layers++;
      else missing++;
      (isProtected ? protectedKeys : yieldingKeys).add(k);
    }
    keptRuns.push({ id, why, layers, missing });
  }

  const remove: Removal[] = input.leftovers.map((l) => ({ name: l.name, bytes: l.bytes, why: 'leftover' as const }));
  const keep = new Set<string>();
  for (const l of input.layers) {
    if (protectedKeys.has(l.name) || yieldingKeys.has(l.name)) keep.add(l.name);
    else remove.push({ name: l.name, bytes: l.bytes, why: 'needed by no kept run' });
  }
  const totalBytes = input.baseBytes + input.layers.reduce((n, l) => n + l.bytes, 0) + input.leftovers.reduce((n, l) => n + l.bytes, 0);
  let keptBytes = input.baseBytes + [...keep].reduce((n, k) => n + (present.get(k) ?? 0), 0);
  let maxSizeMet = true;
  if (policy.maxBytes !== null && keptBytes > policy.maxBytes) {
    const closureSize = new Map<string, number>();
    const candidates = [...keep].filter((k) => !protectedKeys.has(k));
    for (const k of candidates) closureSize.set(k, buildClosure([k], input.dependencies).size);
    candidates.sort(
      (a, b) =>
        (input.lastRunOfKey.get(a) ?? 0) - (input.lastRunOfKey.get(b) ?? 0) ||
        closureSize.get(b)! - closureSize.get(a)! ||
        present.get(b)! - present.get(a)! ||
        (a < b ? -1 : a > b ? 1 : 0),
    );
    for (const k of candidates) {
      if (keptBytes <= policy.maxBytes) break;
      keep.delete(k);
      keptBytes -= present.get(k)!;
      remove.push({ name: k, bytes: present.get(k)!, why: 'over --max-size' });
    }
    maxSizeMet = keptBytes <= policy.maxBytes;
  }
  return { keptRuns, keep, remove, totalBytes, keptBytes, maxSizeMet };
}
