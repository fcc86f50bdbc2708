/**
 * Runs: one row per `check`, retry or rerun, with what it was asked (compiler, repositories and their
 * content hash, targets, typed options), the runs it is linked to (compared against, retry of: foreign
 * keys), when and how it ended. Listing and lookup are what `runs`, `log` and the comparison layer read.
 */
import type { Db } from './database.js';
import type { ShardSpec } from '../plan/shard.js';
import type { RunKind, RunStatus } from '../results/run-status.js';

// The run kinds and statuses are results/'s words (the merge of shards and the reports read them too).
export { isRunKind, RUN_KINDS, RUN_STATUSES, type RunKind, type RunStatus } from '../results/run-status.js';

/**
 * A CI shard's run: which shard of how many, and what every shard of one check must agree on for their
 * runs to be merged into the run one machine would have recorded (compare/shard-merge.ts).
 */
export interface ShardRecord extends ShardSpec {
  /**
   * The partition's identity (a hash of the plan, the durations it was balanced with and the number of
   * shards): shards merge only when theirs are equal. Null in a run recorded before it was.
   */
  partition: string | null;
  /**
   * Every target of the whole plan, not the shard's alone (`NAME.VERSION`, not-installable ones
   * included), sorted: the merged shards' targets must be exactly these. Null in a run recorded before.
   */
  planTargets: string[] | null;
}

/** What a run was asked besides its compiler, repositories and targets: recorded so a rerun can ask the same. */
export interface RunOptions {
  /** The compiler name the user typed (`next`, `baseline`); '' in rows older than names. */
  compilerName: string;
  /** The local compiler source tree the compiler was built from, or null. */
  compilerSourceTree: string | null;
  jobs: number;
  /** `VAR=VALUE` opam environment overrides. */
  env: string[];
  withTest: boolean;
  /**
   * `confined`, or `host` (`--no-sandbox`): the builder's sandbox mode. Rows written before the mode
   * had a name hold `sandbox: true|false` instead, read as `confined`/`host`.
   */
  sandboxMode: 'confined' | 'host';
  timeoutMs: number;
  memoryBytes: number;
  builderVersion: string;
  platform: Record<string, string>;
  /** The pins the run applied, as arguments (`NAME[.VERSION]=DIR|URL`, paths absolute), in order. */
  pins: string[];
  /** What each pin became: `NAME.VERSION=TARGET (opam file: …)`, with the directory's content hash. */
  pinned: string[];
  /**
   * A CI shard: this run built shard `index` of `count` of the plan (its targets and their closures).
   * Absent for a whole check, and for a run merged from shards.
   */
  shard?: ShardRecord;
  /** The folders named for local sources (`--allow-local-sources`, the config's), absolute; absent when none. */
  allowLocalSources?: string[];
}

/** What an old or damaged row reads as for a field it lacks: the CLI's defaults, nothing recorded. */
export const DEFAULT_RUN_OPTIONS: Readonly<RunOptions> = Object.freeze({
  compilerName: '',
  compilerSourceTree: null,
  jobs: 1,
  env: [],
  withTest: false,
  sandboxMode: 'confined',
  timeoutMs: 3_600_000,
  memoryBytes: 4 * 1024 ** 3,
  builderVersion: '',
  platform: {},
  pins: [],
  pinned: [],
});

/**
 * The one reading of a row's `options`: each field validated, a missing or mistyped one defaulted (rows
 * written by older versions lack fields); text that is not a JSON object reads as the defaults. Never throws.
 */
export function readRunOptions(text: string | null): RunOptions {
  let raw: unknown;
  try {
    raw = text === null ? null : JSON.parse(text);
  } catch {
    raw = null;
  }
  const o = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const d = DEFAULT_RUN_OPTIONS;
  const str = (v: unknown, dflt: string) => (typeof v === 'string' ? v : dflt);
  const bool = (v: unknown, dflt: boolean) => (typeof v === 'boolean' ? v : dflt);
  const count = (v: unknown, dflt: number, min: number) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? v : dflt);
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((e): e is string => typeof e === 'string') : []);
  const platform: Record<string, string> = {};
  if (typeof o.platform === 'object' && o.platform !== null && !Array.isArray(o.platform))
    for (const [k, v] of Object.entries(o.platform)) if (typeof v === 'string') platform[k] = v;
  const shard = readShardRecord(o.shard);
  return {
    compilerName: str(o.compilerName, d.compilerName),
    compilerSourceTree: typeof o.compilerSourceTree === 'string' ? o.compilerSourceTree : null,
    jobs: count(o.jobs, d.jobs, 1),
    env: strings(o.env),
    withTest: bool(o.withTest, d.withTest),
    sandboxMode:
      o.sandboxMode === 'confined' || o.sandboxMode === 'host'
        ? o.sandboxMode
        : typeof o.sandbox === 'boolean'
          ? o.sandbox
            ? 'confined'
            : 'host'
          : d.sandboxMode,
    timeoutMs: count(o.timeoutMs, d.timeoutMs, 1),
    memoryBytes: count(o.memoryBytes, d.memoryBytes, 1),
    builderVersion: str(o.builderVersion, d.builderVersion),
    platform,
    pins: strings(o.pins),
    pinned: strings(o.pinned),
    ...(shard !== null ? { shard } : {}),
    ...(strings(o.allowLocalSources).length > 0 ? { allowLocalSources: strings(o.allowLocalSources) } : {}),
  };
}

/**
 * A recorded `shard` field, when it is one (1 ≤ index ≤ count, whole numbers), else null; a partition or
 * plan target list that is missing or mistyped reads as not recorded (null).
 */
export function readShardRecord(v: unknown): ShardRecord | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const { index, count, partition, planTargets } = v as Record<string, unknown>;
  if (typeof index !== 'number' || typeof count !== 'number' || !Number.isSafeInteger(index) || !Number.isSafeInteger(count)) return null;
  if (index < 1 || index > count) return null;
  return {
    index,
    count,
    partition: typeof partition === 'string' && partition !== '' ? partition : null,
    planTargets: Array.isArray(planTargets) && planTargets.every((t) => typeof t === 'string') ? [...(planTargets as string[])] : null,
  };
}

export interface RunInfo {
  id: number;
  kind: RunKind;
  label: string | null;
  compilerSpec: string;
  repositories: string[];
  repositoryHash: string;
  targets: unknown;
  options: RunOptions;
  /** The run this one is compared with (a candidate's baseline), or null. */
  against: number | null;
  /** A retry's candidate (whose regressions it builds again); a rerun's run; else null. */
  retryOf: number | null;
  status: RunStatus;
  pid: number | null;
  startedAt: string;
  finishedAt: string | null;
  jobCount: number;
  targetCount: number;
}

export interface NewRun {
  /** 'check' when not given. */
  kind?: RunKind;
  label?: string | null;
  compilerSpec: string;
  repositories: string[];
  repositoryHash: string;
  targets: unknown;
  options: RunOptions;
  /** Must name an existing run (a foreign key). */
  against?: number | null;
  /** Must name an existing run (a foreign key). */
  retryOf?: number | null;
}

interface RunRow {
  id: number;
  kind: RunKind;
  label: string | null;
  compiler_spec: string;
  repositories: string;
  repository_hash: string;
  targets: string;
  options: string;
  against_run_id: number | null;
  retry_of_run_id: number | null;
  status: RunStatus;
  pid: number | null;
  started_at: string;
  finished_at: string | null;
  job_count: number;
  target_count: number;
}

function fromRow(r: RunRow): RunInfo {
  return {
    id: r.id,
    kind: r.kind,
    label: r.label,
    compilerSpec: r.compiler_spec,
    repositories: JSON.parse(r.repositories) as string[],
    repositoryHash: r.repository_hash,
    targets: JSON.parse(r.targets) as unknown,
    options: readRunOptions(r.options),
    against: r.against_run_id,
    retryOf: r.retry_of_run_id,
    status: r.status,
    pid: r.pid,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    jobCount: r.job_count,
    targetCount: r.target_count,
  };
}

/** Records a new run, 'running'. A link to a run that does not exist fails (SQLITE_CONSTRAINT_FOREIGNKEY). */
export function createRun(db: Db, run: NewRun): number {
  const o = run.options;
  const options: RunOptions = {
    compilerName: o.compilerName,
    compilerSourceTree: o.compilerSourceTree,
    jobs: o.jobs,
    env: o.env,
    withTest: o.withTest,
    sandboxMode: o.sandboxMode,
    timeoutMs: o.timeoutMs,
    memoryBytes: o.memoryBytes,
    builderVersion: o.builderVersion,
    platform: o.platform,
    pins: o.pins,
    pinned: o.pinned,
    ...(o.shard !== undefined
      ? { shard: { index: o.shard.index, count: o.shard.count, partition: o.shard.partition, planTargets: o.shard.planTargets } }
      : {}),
    ...(o.allowLocalSources !== undefined && o.allowLocalSources.length > 0 ? { allowLocalSources: [...o.allowLocalSources] } : {}),
  };
  const info = db
    .prepare(
      `INSERT INTO runs (kind, label, compiler_spec, repositories, repository_hash, targets, options, against_run_id, retry_of_run_id, status, pid, started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
    )
    .run(
      run.kind ?? 'check',
      run.label ?? null,
      run.compilerSpec,
      JSON.stringify(run.repositories),
      run.repositoryHash,
      JSON.stringify(run.targets),
      JSON.stringify(options),
      run.against ?? null,
      run.retryOf ?? null,
      process.pid,
      new Date().toISOString(),
    );
  return Number(info.lastInsertRowid);
}

export function finishRun(db: Db, runId: number, status: Exclude<RunStatus, 'running'>): void {
  db.prepare(`UPDATE runs SET status = ?, finished_at = ? WHERE id = ?`).run(status, new Date().toISOString(), runId);
}

/** Marks a run (e.g. 'baseline'), optionally with a label. */
export function setRunKind(db: Db, runId: number, kind: RunKind, label: string | null = null): void {
  db.prepare(`UPDATE runs SET kind = ?, label = COALESCE(?, label) WHERE id = ?`).run(kind, label, runId);
}

export function getRun(db: Db, runId: number): RunInfo | null {
  const r = db.prepare(`SELECT * FROM runs WHERE id = ?`).get(runId) as RunRow | undefined;
  return r ? fromRow(r) : null;
}

export interface RunFilter {
  kind?: RunKind;
  compilerSpec?: string;
  repositoryHash?: string;
  status?: RunStatus;
  /** Runs compared with this run. */
  against?: number;
  /** Retries of this candidate, reruns of this run. */
  retryOf?: number;
  limit?: number;
}

/** Runs, newest first. */
export function listRuns(db: Db, filter: RunFilter = {}): RunInfo[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (filter.kind !== undefined) {
    where.push('kind = ?');
    args.push(filter.kind);
  }
  if (filter.compilerSpec !== undefined) {
    where.push('compiler_spec = ?');
    args.push(filter.compilerSpec);
  }
  if (filter.repositoryHash !== undefined) {
    where.push('repository_hash = ?');
    args.push(filter.repositoryHash);
  }
  if (filter.status !== undefined) {
    where.push('status = ?');
    args.push(filter.status);
  }
  if (filter.against !== undefined) {
    where.push('against_run_id = ?');
    args.push(filter.against);
  }
  if (filter.retryOf !== undefined) {
    where.push('retry_of_run_id = ?');
    args.push(filter.retryOf);
  }
  const sql =
    `SELECT * FROM runs` +
    (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY id DESC` +
    (filter.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(filter.limit))}` : '');
  return (db.prepare(sql).all(...args) as RunRow[]).map(fromRow);
}

/** The newest run matching the filter, or null. */
export function latestRun(db: Db, filter: Omit<RunFilter, 'limit'> = {}): RunInfo | null {
  return listRuns(db, { ...filter, limit: 1 })[0] ?? null;
}

/** Runs left 'running' by a process that died (kill -9, power loss) become 'crashed'. Call with the run lock held. */
export function markAbandonedRuns(db: Db): number {
  return db.prepare(`UPDATE runs SET status = 'crashed' WHERE status = 'running' AND (pid IS NULL OR pid != ?)`).run(process.pid).changes;
}

/** Per-status counts of a run's job records and targets. */
export function runStatusCounts(
  db: Db,
  runId: number,
): { jobs: Record<string, number>; targets: Record<string, number>; cacheHits: number } {
  const jobs: Record<string, number> = {};
  let cacheHits = 0;
  for (const r of db.prepare(`SELECT status, cached, count(*) AS n FROM run_jobs WHERE run_id = ? GROUP BY status, cached`).all(runId) as {
    status: string;
    cached: number;
    n: number;
  }[]) {
    jobs[r.status] = (jobs[r.status] ?? 0) + r.n;
    if (r.cached) cacheHits += r.n;
  }
  const targets: Record<string, number> = {};
  for (const r of db
    .prepare(
      `SELECT CASE WHEN t.job_key IS NULL THEN 'not-installable' ELSE COALESCE(rj.status, 'unfinished') END AS status, count(*) AS n
       FROM run_targets t LEFT JOIN run_jobs rj ON rj.run_id = t.run_id AND rj.job_key = t.job_key
       WHERE t.run_id = ? GROUP BY 1`,
    )
    .all(runId) as { status: string; n: number }[])
    targets[r.status] = r.n;
  return { jobs, targets, cacheHits };
}
