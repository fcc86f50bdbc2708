/**
 * The shard-merge rule, as a pure function: the exports of a check's CI shards (each built its part of
 * the plan on a runner that shares nothing) become the run one machine would have recorded — the union
 * of the targets, one record per job, root causes intact, the results cache filled — or are refused
 * with one message naming the shards and targets that disagree or are missing. Never a merged run that
 * lacks a target.
 *
 * Refused, unless:
 * - every export is a part of the same check (compiler, repositories and their hash, target selection,
 *   builder, platform, environment, tests, number of shards);
 * - each shard is given once (the same export twice counts once);
 * - every shard used the same plan (the whole plan's target list each carries) and the same partition
 *   (the identity recorded with each shard's run: plan, durations, number of shards), so that each
 *   computed its part of one split;
 * - every shard is there, and their targets together are exactly the plan's targets.
 * A shard whose run did not finish (interrupted, crashed) is merged and reported: the merged run is not
 * 'finished' then.
 *
 * A job two shards both built (a shared dependency) has two records: one is kept, chosen job by job in
 * dependency order: a record consistent with the records kept for its dependencies first (a build
 * needs ok dependencies; a dependency failure needs its root to have failed), then a final result over
 * a spurious one (a timeout, a fetch failure, or a dependency failure rooted in one), then a build over
 * a cache hit, then the lowest shard. Every case where the records differed is said in the result.
 */
import { createHash } from 'node:crypto';
import type { RunStatus } from '../results/run-status.js';
import { isSpurious, type JobStatus } from '../results/taxonomy.js';

/**
 * What the merge reads of a shard's export (the store's RunExport is one: store/run-export-format.ts);
 * the records it keeps are given back as they came, of the caller's own types.
 */
export interface ShardExportView {
  /** Which shard, with its partition's identity and the whole plan's targets; null for a whole check. */
  shard: { index: number; count: number; partition: string | null; planTargets: readonly string[] | null } | null;
  run: {
    kind: string;
    compilerSpec: string;
    repositoryHash: string;
    repositories: readonly string[];
    targets: unknown;
    options: { builderVersion: string; platform: unknown; env: readonly string[]; withTest: boolean };
    status: RunStatus;
    startedAt: string;
    finishedAt: string | null;
  };
  targets: readonly { packageId: string }[];
  jobs: readonly { key: string; name: string; version: string; dependencies: readonly string[] }[];
  runJobs: readonly { jobKey: string; status: JobStatus; rootCauseKey: string | null; rootCause: string | null; cached: boolean }[];
  results: readonly { jobKey: string; status: JobStatus }[];
  logs: Readonly<Record<string, string>> | null;
}

/** An export with the name it is reported under (its file). */
export interface ShardExport<E extends ShardExportView = ShardExportView> {
  source: string;
  export: E;
}

/** A job recorded by several shards whose records differed, and which was kept. */
export interface DuplicateResolution {
  jobKey: string;
  id: string;
  /** The shard whose record was kept. */
  kept: number;
  records: { shard: number; status: JobStatus; cached: boolean }[];
  /** Why that one: consistent with its dependencies' kept records, final over spurious, built over cached, lowest shard. */
  rule: 'consistent' | 'final' | 'built' | 'lowest-shard';
}

/** A kept record that disagrees with the records kept for its dependencies (only one shard had it). */
export interface InconsistentRecord {
  jobKey: string;
  id: string;
  shard: number;
  status: JobStatus;
  note: string;
}

type TargetOf<E extends ShardExportView> = E['targets'][number];
type JobOf<E extends ShardExportView> = E['jobs'][number];
type RunJobOf<E extends ShardExportView> = E['runJobs'][number];
type ResultOf<E extends ShardExportView> = E['results'][number];

export interface MergedShards<E extends ShardExportView = ShardExportView> {
  /** The content hash of the exports merged (whatever their order): the same exports, the same hash. */
  importHash: string;
  /** The lowest shard's run record: what the merged run was asked (its options still name that shard). */
  base: E['run'];
  status: Exclude<RunStatus, 'running'>;
  startedAt: string;
  finishedAt: string | null;
  /** The union of the shards' targets, by `NAME.VERSION`: exactly the plan's. */
  targets: TargetOf<E>[];
  jobs: JobOf<E>[];
  /** One record per job, by key. */
  runJobs: RunJobOf<E>[];
  /** One cached result per job, by key, agreeing with its kept record first. */
  results: ResultOf<E>[];
  /** The carried log files' contents by their recorded path (the first shard's copy of each). */
  logs: Map<string, string>;
  shardCount: number;
  /** The shards merged, sorted. */
  shards: number[];
  /** Shards whose run did not finish (interrupted, crashed, failed): their unfinished jobs are missing. */
  failedShards: { index: number; status: RunStatus; source: string }[];
  /** Jobs recorded by more than one shard (shared dependencies), each kept once. */
  duplicatedJobs: number;
  /** Those whose records differed, and which was kept. */
  resolved: DuplicateResolution[];
  inconsistent: InconsistentRecord[];
}

export type ShardMergeOutcome<E extends ShardExportView = ShardExportView> =
  { merged: MergedShards<E>; refused?: undefined } | { refused: string; merged?: undefined };

/** At most this many targets are named in a refusal (then how many more). */
const NAMED_TARGETS = 20;

/** JSON with sorted keys: equal values, equal text. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function namedTargets(ids: readonly string[]): string {
  const shown = ids.slice(0, NAMED_TARGETS).join(', ');
  return ids.length > NAMED_TARGETS ? `${shown} and ${ids.length - NAMED_TARGETS} more` : shown;
}

function shardList(parts: readonly { index: number; source: string }[]): string {
  return `${parts.length === 1 ? 'shard' : 'shards'} ${parts.map((p) => `${p.index} (${p.source})`).join(', ')}`;
}

/** What must be equal for shard exports to be parts of one check. */
function checkIdentity(e: ShardExportView): [string, unknown][] {
  const o = e.run.options;
  return [
    ['run.kind', e.run.kind],
    ['run.compilerSpec', e.run.compilerSpec],
    ['run.repositoryHash', e.run.repositoryHash],
    ['run.repositories', e.run.repositories],
    ['run.targets', e.run.targets],
    ['run.options.builderVersion', o.builderVersion],
    ['run.options.platform', o.platform],
    ['run.options.env', o.env],
    ['run.options.withTest', o.withTest],
    ['shard.count', e.shard?.count ?? null],
  ];
}

const STATUS_WEIGHT: Record<RunStatus, number> = { finished: 0, running: 1, interrupted: 2, crashed: 3, failed: 4 };

interface Part<E extends ShardExportView> {
  index: number;
  source: string;
  e: E;
  hash: string;
}

interface Candidate<R> {
  shard: number;
  record: R;
}

/**
 * Why the shards cannot make one machine's run, or null when they can: the same plan, the same
 * partition, every shard there, and their targets together exactly the plan's.
 */
function refusalOf(parts: readonly Part<ShardExportView>[], shardCount: number): string | null {
  if (parts.every((p) => p.e.shard === null)) return null;
  const unrecorded = parts.filter((p) => p.e.shard!.partition === null || p.e.shard!.planTargets === null);
  if (unrecorded.length > 0)
    return `${shardList(unrecorded)} recorded no partition and plan (an older ecocheck): check ${unrecorded.length === 1 ? 'it' : 'them'} again with this version, so that the merge can tell that the shards split one plan the same way`;
  const problems: string[] = [];
  // The same plan: the whole plan's targets, as each shard planned them.
  const plans = new Map<string, Part<ShardExportView>[]>();
  for (const p of parts) {
    const k = canonicalJson([...p.e.shard!.planTargets!].sort());
    plans.set(k, [...(plans.get(k) ?? []), p]);
  }
  if (plans.size > 1) {
    // Each other plan said against the first group's.
    const groups = [...plans.values()];
    const reference = groups[0][0].e.shard!.planTargets!;
    const inReference = new Set(reference);
    const described = groups.map((g, i) => {
      const list = g[0].e.shard!.planTargets!;
      if (i === 0) return `${shardList(g)} planned ${list.length} targets`;
      const inList = new Set(list);
      const added = list.filter((t) => !inReference.has(t)).sort();
      const lacks = reference.filter((t) => !inList.has(t)).sort();
      const diff = [added.length > 0 ? `also ${namedTargets(added)}` : '', lacks.length > 0 ? `not ${namedTargets(lacks)}` : '']
        .filter((x) => x !== '')
        .join('; ');
      return `${shardList(g)} planned ${list.length}${diff !== '' ? ` (${diff})` : ''}`;
    });
    problems.push(`the shards planned different targets: ${described.join('; ')}`);
  }
  // The same partition: the shards' parts are of one split.
  const partitions = new Map<string, Part<ShardExportView>[]>();
  for (const p of parts) partitions.set(p.e.shard!.partition!, [...(partitions.get(p.e.shard!.partition!) ?? []), p]);
  if (partitions.size > 1)
    problems.push(
      `the shards used different partitions: ${[...partitions].map(([id, g]) => `${shardList(g)} partition ${id.slice(0, 12)}`).join('; ')} (each shard splits the plan by the durations it was given: give every shard the same)`,
    );
  if (problems.length === 0) {
    // Every shard, and exactly the plan's targets.
    const plan = parts[0].e.shard!.planTargets!;
    const planned = new Set(plan);
    const have = new Set(parts.flatMap((p) => p.e.targets.map((t) => t.packageId)));
    const lacking = plan.filter((t) => !have.has(t)).sort();
    const present = new Set(parts.map((p) => p.index));
    const missingShards: number[] = [];
    for (let i = 1; i <= shardCount; i++) if (!present.has(i)) missingShards.push(i);
    if (missingShards.length > 0)
      problems.push(
        `${missingShards.length === 1 ? 'shard' : 'shards'} ${missingShards.join(', ')} of ${shardCount} ${missingShards.length === 1 ? 'is' : 'are'} missing` +
          (lacking.length > 0 ? `: ${lacking.length} target(s) of the plan are in no export given: ${namedTargets(lacking)}` : ''),
      );
    else if (lacking.length > 0) problems.push(`${lacking.length} target(s) of the plan are in no shard: ${namedTargets(lacking)}`);
    for (const p of parts) {
      const extra = p.e.targets
        .map((t) => t.packageId)
        .filter((t) => !planned.has(t))
        .sort();
      if (extra.length > 0) problems.push(`shard ${p.index} (${p.source}) has target(s) the plan does not: ${namedTargets(extra)}`);
    }
  }
  return problems.length === 0 ? null : `cannot merge: ${problems.join('; ')}`;
}

/** Merges the exports of one check's shards (see the module comment). Pure: the same exports, the same answer. */
export function mergeShards<E extends ShardExportView>(inputs: readonly ShardExport<E>[]): ShardMergeOutcome<E> {
  if (inputs.length === 0) return { refused: 'nothing to merge' };
  const exports = inputs.map((i) => ({ source: i.source, e: i.export, hash: sha256(canonicalJson(i.export)) }));

  // One check: the same compiler, repositories, targets, options, shard count.
  const first = exports[0];
  const firstIdentity = checkIdentity(first.e);
  for (const x of exports.slice(1)) {
    const identity = checkIdentity(x.e);
    for (let i = 0; i < identity.length; i++) {
      const [field, value] = identity[i];
      if (canonicalJson(value) !== canonicalJson(firstIdentity[i][1]))
        return {
          refused: `${x.source}: ${field}: is not a part of the same check as ${first.source} (${canonicalJson(value)} here, ${canonicalJson(firstIdentity[i][1])} there)`,
        };
    }
  }
  // Each shard once: the same export given twice counts once; two different exports of one shard are refused.
  const shardCount = first.e.shard?.count ?? 1;
  const byShard = new Map<number, Part<E>>();
  for (const x of exports) {
    const index = x.e.shard?.index ?? 1;
    const seen = byShard.get(index);
    if (seen === undefined) byShard.set(index, { index, ...x });
    else if (seen.hash !== x.hash)
      return {
        refused: `${x.source}: shard: is shard ${index} of ${shardCount} again, with other records than ${seen.source}: give one export per shard`,
      };
  }
  const parts = [...byShard.values()].sort((a, b) => a.index - b.index);
  const refusal = refusalOf(parts, shardCount);
  if (refusal !== null) return { refused: refusal };

  const importHash = sha256(`ecocheck-merge-v1\0${parts.map((p) => p.hash).join('\0')}`);
  const failedShards = parts
    .filter((p) => p.e.run.status !== 'finished')
    .map((p) => ({ index: p.index, status: p.e.run.status, source: p.source }));

  // Targets and jobs: the union.
  const targets = new Map<string, TargetOf<E>>();
  for (const p of parts) for (const t of p.e.targets) if (!targets.has(t.packageId)) targets.set(t.packageId, t);
  const jobs = new Map<string, JobOf<E>>();
  for (const p of parts) for (const j of p.e.jobs) if (!jobs.has(j.key)) jobs.set(j.key, j);
  const idOf = (key: string) => {
    const j = jobs.get(key);
    return j === undefined ? key : `${j.name}.${j.version}`;
  };

  // Job records: one per key, chosen in dependency order.
  const candidates = new Map<string, Candidate<RunJobOf<E>>[]>();
  for (const p of parts)
    for (const r of p.e.runJobs) {
      const list = candidates.get(r.jobKey);
      if (list === undefined) candidates.set(r.jobKey, [{ shard: p.index, record: r }]);
      else list.push({ shard: p.index, record: r });
    }
  const kept = new Map<string, Candidate<RunJobOf<E>>>();
  const resolved: DuplicateResolution[] = [];
  const inconsistent: InconsistentRecord[] = [];
  let duplicatedJobs = 0;
  const judge = (c: Candidate<RunJobOf<E>>): { consistent: boolean; final: boolean; note: string } => {
    const r = c.record;
    if (r.status === 'dependency-failed') {
      const root = r.rootCauseKey === null ? undefined : kept.get(r.rootCauseKey);
      if (root === undefined) return { consistent: false, final: false, note: `its root ${r.rootCause ?? '?'} has no record` };
      const rootFinal = !isSpurious(root.record.status);
      if (root.record.status === 'ok')
        return {
          consistent: false,
          final: rootFinal,
          note: `its root ${r.rootCause ?? idOf(r.rootCauseKey!)} is ok in the record kept (shard ${root.shard})`,
        };
      return { consistent: true, final: rootFinal, note: '' };
    }
    const final = !isSpurious(r.status);
    if (r.cached) return { consistent: true, final, note: '' };
    for (const d of jobs.get(r.jobKey)?.dependencies ?? []) {
      const dep = kept.get(d);
      if (dep !== undefined && dep.record.status !== 'ok')
        return {
          consistent: false,
          final,
          note: `it was built, but the record kept for its dependency ${idOf(d)} (shard ${dep.shard}) is ${dep.record.status}`,
        };
    }
    return { consistent: true, final, note: '' };
  };
  // Dependencies first, without recursion (a plan's depth is unbounded): 0 unseen, 1 on the path, 2 done.
  const state = new Map<string, 0 | 1 | 2>();
  const decide = (key: string) => {
    const list = candidates.get(key);
    if (list === undefined) return;
    const judged = list.map((c) => ({ c, ...judge(c) }));
    const score = (j: (typeof judged)[number]) => [j.consistent ? 0 : 1, j.final ? 0 : 1, j.c.record.cached ? 1 : 0, j.c.shard];
    judged.sort((a, b) => {
      const sa = score(a);
      const sb = score(b);
      for (let i = 0; i < sa.length; i++) if (sa[i] !== sb[i]) return sa[i] - sb[i];
      return 0;
    });
    const best = judged[0];
    kept.set(key, best.c);
    if (!best.consistent)
      inconsistent.push({ jobKey: key, id: idOf(key), shard: best.c.shard, status: best.c.record.status, note: best.note });
    if (list.length > 1) {
      duplicatedJobs++;
      if (new Set(list.map((c) => c.record.status)).size > 1) {
        const second = judged[1];
        const rule: DuplicateResolution['rule'] =
          best.consistent !== second.consistent
            ? 'consistent'
            : best.final !== second.final
              ? 'final'
              : best.c.record.cached !== second.c.record.cached
                ? 'built'
                : 'lowest-shard';
        resolved.push({
          jobKey: key,
          id: idOf(key),
          kept: best.c.shard,
          records: list.map((c) => ({ shard: c.shard, status: c.record.status, cached: c.record.cached })),
          rule,
        });
      }
    }
  };
  for (const root of [...candidates.keys()].sort()) {
    if ((state.get(root) ?? 0) !== 0) continue;
    const stack: { key: string; deps: string[]; next: number }[] = [];
    const enter = (key: string) => {
      state.set(key, 1);
      stack.push({ key, deps: (jobs.get(key)?.dependencies ?? []).filter((d) => candidates.has(d)), next: 0 });
    };
    enter(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.next < top.deps.length) {
        const d = top.deps[top.next++];
        const s = state.get(d) ?? 0;
        if (s === 1) return { refused: `${first.source}: jobs: the exported jobs depend on each other in a cycle through ${idOf(d)}` };
        if (s === 0) enter(d);
        continue;
      }
      stack.pop();
      state.set(top.key, 2);
      decide(top.key);
    }
  }

  // The cache: one result per key, the one agreeing with the kept record first.
  const results = new Map<string, { shard: number; result: ResultOf<E> }>();
  for (const p of parts)
    for (const r of p.e.results) {
      const have = results.get(r.jobKey);
      const keptRecord = kept.get(r.jobKey);
      const better =
        have === undefined ||
        (keptRecord !== undefined && have.result.status !== keptRecord.record.status && r.status === keptRecord.record.status) ||
        (keptRecord !== undefined &&
          have.shard !== keptRecord.shard &&
          p.index === keptRecord.shard &&
          r.status === keptRecord.record.status);
      if (better) results.set(r.jobKey, { shard: p.index, result: r });
    }

  const statusWeight = Math.max(...parts.map((p) => STATUS_WEIGHT[p.e.run.status]));
  const status = (Object.keys(STATUS_WEIGHT) as RunStatus[]).find((s) => STATUS_WEIGHT[s] === statusWeight)!;
  const logs = new Map<string, string>();
  for (const p of parts) for (const [path, text] of Object.entries(p.e.logs ?? {})) if (!logs.has(path)) logs.set(path, text);

  const byKey = <T>(entries: Iterable<[string, T]>) => [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  return {
    merged: {
      importHash,
      base: parts[0].e.run,
      status: status === 'running' ? 'interrupted' : status,
      startedAt: parts.map((p) => p.e.run.startedAt).sort()[0],
      finishedAt: parts.some((p) => p.e.run.finishedAt === null)
        ? null
        : parts
            .map((p) => p.e.run.finishedAt!)
            .sort()
            .at(-1)!,
      targets: byKey(targets.entries()),
      jobs: [...jobs.values()],
      runJobs: byKey([...kept.entries()].map(([k, c]) => [k, c.record] as [string, RunJobOf<E>])),
      results: byKey([...results.entries()].map(([k, r]) => [k, r.result] as [string, ResultOf<E>])),
      logs,
      shardCount,
      shards: parts.map((p) => p.index),
      failedShards,
      duplicatedJobs,
      resolved,
      inconsistent,
    },
  };
}
