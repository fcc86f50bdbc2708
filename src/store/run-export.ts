/**
 * Portable runs, for a check split over CI runners that share nothing: each runner exports its shard's
 * run (a versioned JSON object: the run with its typed options and shard, its targets, its job records,
 * the jobs they name, the cached results of those jobs, and optionally the log files), and one machine
 * imports the shards' exports as ONE run, the run one machine would have recorded: the union of the
 * targets, one record per job, root causes intact, the results cache filled.
 *
 * A job two shards both built (a shared dependency) has two records: one is kept, chosen job by job in
 * dependency order: a record consistent with the records kept for its dependencies first (a build
 * needs ok dependencies; a dependency failure needs its root to have failed), then a final result over
 * a spurious one (a timeout, a fetch failure, or a dependency failure rooted in one), then a build over
 * a cache hit, then the lowest shard. Every case where the records differed is said in the result.
 *
 * Importing is idempotent: the merged run keeps the content hash of the exports it was made from
 * (schema migration 5), and importing the same set again returns that run. A shard missing from the set
 * (each export says it is shard I of N) or one whose run did not finish is reported, never dropped in
 * silence, and the merged run is not 'finished' then.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ErrorKind } from '../errors/ecocheck-error.js';
import type { ShardSpec } from '../plan/shard.js';
import { readLogCapped } from '../builder/build-log.js';
import { isJobStatus, isSpurious, type JobStatus } from '../results/taxonomy.js';
import type { Db } from './database.js';
import { getRun, isRunKind, readRunOptions, readShardSpec, RUN_STATUSES, type RunInfo, type RunKind, type RunOptions, type RunStatus } from './runs.js';
import { StoreError } from './store-error.js';

export const RUN_EXPORT_FORMAT = 'ecocheck-run-export';
export const RUN_EXPORT_VERSION = 1;

/** A column value carried as is (columns this version does not know, e.g. added by a later migration). */
export type Scalar = string | number | null;

/** Another run a run is linked to, by what identifies it in any database that holds it. */
export interface RunRef {
  id: number;
  kind: RunKind;
  compilerSpec: string;
  repositoryHash: string;
  startedAt: string;
}

/** A run as exported: its record, with the links to other runs named so another database can find them. */
export interface ExportedRun extends Omit<RunInfo, 'pid' | 'against' | 'retryOf'> {
  against: RunRef | null;
  retryOf: RunRef | null;
}

export interface ExportedTarget {
  packageId: string;
  name: string;
  version: string;
  jobKey: string | null;
  reason: string | null;
}

export interface ExportedJob {
  key: string;
  name: string;
  version: string;
  dependencies: string[];
}

export interface ExportedRunJob {
  jobKey: string;
  status: JobStatus;
  reason: string;
  rootCauseKey: string | null;
  rootCause: string | null;
  /** Every root's `NAME.VERSION` when there are several (the schema's space-separated list), else null. */
  rootCauses: string[] | null;
  durationMs: number | null;
  exitCode: number | null;
  logPath: string | null;
  logTail: string | null;
  cached: boolean;
  finishedAt: string;
  extra: Record<string, Scalar>;
}

export interface ExportedResult {
  jobKey: string;
  status: JobStatus;
  reason: string;
  durationMs: number | null;
  exitCode: number | null;
  logPath: string | null;
  logTail: string;
  finishedAt: string;
  extra: Record<string, Scalar>;
}

export interface RunExport {
  format: typeof RUN_EXPORT_FORMAT;
  version: typeof RUN_EXPORT_VERSION;
  /** Which shard of the check this run is; null for a whole check. */
  shard: ShardSpec | null;
  run: ExportedRun;
  targets: ExportedTarget[];
  jobs: ExportedJob[];
  runJobs: ExportedRunJob[];
  /** The cache: the final results recorded for the run's jobs (by this run or an earlier one). */
  results: ExportedResult[];
  /** The log files' contents by their recorded path, when asked for; null when not. */
  logs: Record<string, string> | null;
  /** Recorded log paths whose file was gone when exporting (with logs asked for). */
  missingLogs: string[];
}

/** A file given to import that is not a run export, or not of the same check as the others: an input error. */
export class RunExportError extends StoreError {
  override readonly kind: ErrorKind = 'input';
  constructor(
    message: string,
    readonly file: string,
    readonly field: string | null = null,
  ) {
    super(field === null ? `${file}: ${message}` : `${file}: ${field}: ${message}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Export

const RUN_JOB_COLUMNS = new Set(['run_id', 'job_key', 'status', 'reason', 'root_cause_key', 'root_cause', 'root_causes', 'duration_ms', 'exit_code', 'log_path', 'log_tail', 'cached', 'finished_at']);
const RESULT_COLUMNS = new Set(['job_key', 'status', 'reason', 'duration_ms', 'exit_code', 'log_path', 'log_tail', 'run_id', 'finished_at']);

function extraColumns(row: Record<string, unknown>, known: Set<string>): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  for (const [k, v] of Object.entries(row)) {
    if (known.has(k)) continue;
    out[k] = typeof v === 'string' || typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null;
  }
  return out;
}

function refOf(run: RunInfo | null): RunRef | null {
  return run === null ? null : { id: run.id, kind: run.kind, compilerSpec: run.compilerSpec, repositoryHash: run.repositoryHash, startedAt: run.startedAt };
}

export interface ExportOptions {
  /** Include the log files' contents. */
  logs: boolean;
  /** The shard this run is, when its record does not say (a run recorded before shards were recorded). */
  shard?: ShardSpec;
}

/** The run as a RunExport (see the module comment). A run that does not exist is a StoreError. */
export function exportRun(db: Db, runId: number, options: ExportOptions): RunExport {
  const run = getRun(db, runId);
  if (run === null) throw new RunExportError(`no run ${runId} in this database`, 'the database');
  const shard = options.shard ?? run.options.shard ?? null;
  const targets = (
    db.prepare(`SELECT package_id, name, version, job_key, reason FROM run_targets WHERE run_id = ? ORDER BY package_id`).all(runId) as {
      package_id: string;
      name: string;
      version: string;
      job_key: string | null;
      reason: string | null;
    }[]
  ).map((t) => ({ packageId: t.package_id, name: t.name, version: t.version, jobKey: t.job_key, reason: t.reason }));
  const runJobRows = db.prepare(`SELECT * FROM run_jobs WHERE run_id = ? ORDER BY job_key`).all(runId) as Record<string, unknown>[];
  const runJobs: ExportedRunJob[] = [];
  for (const r of runJobRows) {
    if (!isJobStatus(String(r.status))) continue;
    runJobs.push({
      jobKey: r.job_key as string,
      status: r.status as JobStatus,
      reason: r.reason as string,
      rootCauseKey: (r.root_cause_key as string | null) ?? null,
      rootCause: (r.root_cause as string | null) ?? null,
      rootCauses: typeof r.root_causes === 'string' && r.root_causes !== '' ? r.root_causes.split(' ') : null,
      durationMs: (r.duration_ms as number | null) ?? null,
      exitCode: (r.exit_code as number | null) ?? null,
      logPath: (r.log_path as string | null) ?? null,
      logTail: (r.log_tail as string | null) ?? null,
      cached: r.cached === 1,
      finishedAt: r.finished_at as string,
      extra: extraColumns(r, RUN_JOB_COLUMNS),
    });
  }
  // Every job the run planned (its records and targets name them), and what they depend on.
  const jobs = (
    db
      .prepare(
        `SELECT key, name, version, dependencies FROM jobs
         WHERE key IN (SELECT job_key FROM run_jobs WHERE run_id = ? UNION SELECT job_key FROM run_targets WHERE run_id = ? AND job_key IS NOT NULL)
         ORDER BY key`,
      )
      .all(runId, runId) as { key: string; name: string; version: string; dependencies: string }[]
  ).map((j) => ({ key: j.key, name: j.name, version: j.version, dependencies: JSON.parse(j.dependencies) as string[] }));
  const results: ExportedResult[] = [];
  for (const r of db.prepare(`SELECT * FROM results WHERE job_key IN (SELECT job_key FROM run_jobs WHERE run_id = ?) ORDER BY job_key`).all(runId) as Record<string, unknown>[]) {
    if (!isJobStatus(String(r.status))) continue;
    results.push({
      jobKey: r.job_key as string,
      status: r.status as JobStatus,
      reason: r.reason as string,
      durationMs: (r.duration_ms as number | null) ?? null,
      exitCode: (r.exit_code as number | null) ?? null,
      logPath: (r.log_path as string | null) ?? null,
      logTail: (r.log_tail as string | null) ?? '',
      finishedAt: r.finished_at as string,
      extra: extraColumns(r, RESULT_COLUMNS),
    });
  }
  let logs: Record<string, string> | null = null;
  const missingLogs: string[] = [];
  if (options.logs) {
    logs = {};
    for (const p of recordedLogPaths(runJobs, results)) {
      if (existsSync(p)) logs[p] = readLogCapped(p);
      else missingLogs.push(p);
    }
  }
  const { shard: _omitted, ...options_ } = run.options;
  return {
    format: RUN_EXPORT_FORMAT,
    version: RUN_EXPORT_VERSION,
    shard,
    run: {
      id: run.id,
      kind: run.kind,
      label: run.label,
      compilerSpec: run.compilerSpec,
      repositories: run.repositories,
      repositoryHash: run.repositoryHash,
      targets: run.targets,
      options: shard !== null ? { ...options_, shard } : options_,
      status: run.status,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      jobCount: run.jobCount,
      targetCount: run.targetCount,
      against: refOf(run.against === null ? null : getRun(db, run.against)),
      retryOf: refOf(run.retryOf === null ? null : getRun(db, run.retryOf)),
    },
    targets,
    jobs,
    runJobs,
    results,
    logs,
    missingLogs,
  };
}

// ---------------------------------------------------------------------------------------------------
// Validation

type Obj = Record<string, unknown>;

class Checker {
  constructor(readonly file: string) {}

  fail(field: string, expected: string): never {
    throw new RunExportError(`expected ${expected}`, this.file, field);
  }
  obj(v: unknown, field: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'an object');
    return v as Obj;
  }
  arr(v: unknown, field: string): unknown[] {
    if (!Array.isArray(v)) this.fail(field, 'an array');
    return v;
  }
  str(v: unknown, field: string): string {
    if (typeof v !== 'string') this.fail(field, 'a string');
    return v;
  }
  strOrNull(v: unknown, field: string): string | null {
    if (v !== null && typeof v !== 'string') this.fail(field, 'a string or null');
    return v;
  }
  int(v: unknown, field: string, min = 0): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) this.fail(field, `a whole number of ${min} or more`);
    return v;
  }
  intOrNull(v: unknown, field: string): number | null {
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(field, 'a whole number or null');
    return v;
  }
  bool(v: unknown, field: string): boolean {
    if (typeof v !== 'boolean') this.fail(field, 'true or false');
    return v;
  }
  status(v: unknown, field: string): JobStatus {
    if (typeof v !== 'string' || !isJobStatus(v)) this.fail(field, 'a job status');
    return v;
  }
  strings(v: unknown, field: string): string[] {
    return this.arr(v, field).map((x, i) => this.str(x, `${field}[${i}]`));
  }
  extra(v: unknown, field: string): Record<string, Scalar> {
    if (v === undefined) return {};
    const o = this.obj(v, field);
    for (const [k, x] of Object.entries(o)) if (x !== null && typeof x !== 'string' && typeof x !== 'number') this.fail(`${field}.${k}`, 'a string, a number or null');
    return o as Record<string, Scalar>;
  }
  shard(v: unknown, field: string): ShardSpec | null {
    if (v === null || v === undefined) return null;
    const o = this.obj(v, field);
    const count = this.int(o.count, `${field}.count`, 1);
    const index = this.int(o.index, `${field}.index`, 1);
    if (index > count) this.fail(`${field}.index`, `a shard index between 1 and ${count}`);
    return { index, count };
  }
  ref(v: unknown, field: string): RunRef | null {
    if (v === null || v === undefined) return null;
    const o = this.obj(v, field);
    if (!isRunKind(o.kind)) this.fail(`${field}.kind`, 'a run kind');
    return {
      id: this.int(o.id, `${field}.id`, 1),
      kind: o.kind,
      compilerSpec: this.str(o.compilerSpec, `${field}.compilerSpec`),
      repositoryHash: this.str(o.repositoryHash, `${field}.repositoryHash`),
      startedAt: this.str(o.startedAt, `${field}.startedAt`),
    };
  }
}

/**
 * Checks that `data` (parsed JSON) is a RunExport, field by field; the first bad field is a
 * RunExportError naming `file` and the field (`runJobs[3].status: expected a job status`).
 */
export function validateRunExport(data: unknown, file: string): RunExport {
  const c = new Checker(file);
  const o = c.obj(data, '(top level)');
  if (o.format !== RUN_EXPORT_FORMAT) c.fail('format', `"${RUN_EXPORT_FORMAT}" (this is not an ecocheck run export)`);
  if (o.version !== RUN_EXPORT_VERSION)
    throw new RunExportError(`export version ${JSON.stringify(o.version)} is not one this ecocheck reads (${RUN_EXPORT_VERSION}); export it again with this version`, file, 'version');
  const shard = c.shard(o.shard, 'shard');
  const r = c.obj(o.run, 'run');
  if (!isRunKind(r.kind)) c.fail('run.kind', 'a run kind');
  if (typeof r.status !== 'string' || !(RUN_STATUSES as readonly string[]).includes(r.status)) c.fail('run.status', 'a run status');
  c.obj(r.options, 'run.options');
  const options = readRunOptions(JSON.stringify(r.options));
  const run: ExportedRun = {
    id: c.int(r.id, 'run.id', 1),
    kind: r.kind as RunKind,
    label: c.strOrNull(r.label ?? null, 'run.label'),
    compilerSpec: c.str(r.compilerSpec, 'run.compilerSpec'),
    repositories: c.strings(r.repositories, 'run.repositories'),
    repositoryHash: c.str(r.repositoryHash, 'run.repositoryHash'),
    targets: r.targets ?? null,
    options,
    status: r.status as RunStatus,
    startedAt: c.str(r.startedAt, 'run.startedAt'),
    finishedAt: c.strOrNull(r.finishedAt ?? null, 'run.finishedAt'),
    jobCount: c.int(r.jobCount, 'run.jobCount'),
    targetCount: c.int(r.targetCount, 'run.targetCount'),
    against: c.ref(r.against, 'run.against'),
    retryOf: c.ref(r.retryOf, 'run.retryOf'),
  };
  const optionShard = readShardSpec((r.options as Obj).shard);
  if ((optionShard === null) !== (shard === null) || (shard !== null && (optionShard!.index !== shard.index || optionShard!.count !== shard.count)))
    c.fail('shard', 'the shard the run records (run.options.shard)');
  const targets = c.arr(o.targets, 'targets').map((v, i) => {
    const f = `targets[${i}]`;
    const t = c.obj(v, f);
    return {
      packageId: c.str(t.packageId, `${f}.packageId`),
      name: c.str(t.name, `${f}.name`),
      version: c.str(t.version, `${f}.version`),
      jobKey: c.strOrNull(t.jobKey, `${f}.jobKey`),
      reason: c.strOrNull(t.reason ?? null, `${f}.reason`),
    };
  });
  const jobs = c.arr(o.jobs, 'jobs').map((v, i) => {
    const f = `jobs[${i}]`;
    const j = c.obj(v, f);
    return { key: c.str(j.key, `${f}.key`), name: c.str(j.name, `${f}.name`), version: c.str(j.version, `${f}.version`), dependencies: c.strings(j.dependencies, `${f}.dependencies`) };
  });
  const runJobs = c.arr(o.runJobs, 'runJobs').map((v, i): ExportedRunJob => {
    const f = `runJobs[${i}]`;
    const j = c.obj(v, f);
    return {
      jobKey: c.str(j.jobKey, `${f}.jobKey`),
      status: c.status(j.status, `${f}.status`),
      reason: c.str(j.reason, `${f}.reason`),
      rootCauseKey: c.strOrNull(j.rootCauseKey ?? null, `${f}.rootCauseKey`),
      rootCause: c.strOrNull(j.rootCause ?? null, `${f}.rootCause`),
      rootCauses: j.rootCauses === null || j.rootCauses === undefined ? null : c.strings(j.rootCauses, `${f}.rootCauses`),
      durationMs: c.intOrNull(j.durationMs ?? null, `${f}.durationMs`),
      exitCode: c.intOrNull(j.exitCode ?? null, `${f}.exitCode`),
      logPath: c.strOrNull(j.logPath ?? null, `${f}.logPath`),
      logTail: c.strOrNull(j.logTail ?? null, `${f}.logTail`),
      cached: c.bool(j.cached, `${f}.cached`),
      finishedAt: c.str(j.finishedAt, `${f}.finishedAt`),
      extra: c.extra(j.extra, `${f}.extra`),
    };
  });
  const results = c.arr(o.results, 'results').map((v, i): ExportedResult => {
    const f = `results[${i}]`;
    const j = c.obj(v, f);
    return {
      jobKey: c.str(j.jobKey, `${f}.jobKey`),
      status: c.status(j.status, `${f}.status`),
      reason: c.str(j.reason, `${f}.reason`),
      durationMs: c.intOrNull(j.durationMs ?? null, `${f}.durationMs`),
      exitCode: c.intOrNull(j.exitCode ?? null, `${f}.exitCode`),
      logPath: c.strOrNull(j.logPath ?? null, `${f}.logPath`),
      logTail: c.str(j.logTail, `${f}.logTail`),
      finishedAt: c.str(j.finishedAt, `${f}.finishedAt`),
      extra: c.extra(j.extra, `${f}.extra`),
    };
  });
  let logs: Record<string, string> | null = null;
  if (o.logs !== null && o.logs !== undefined) {
    const l = c.obj(o.logs, 'logs');
    logs = {};
    for (const [p, text] of Object.entries(l)) logs[p] = c.str(text, `logs[${JSON.stringify(p)}]`);
  }
  const missingLogs = o.missingLogs === undefined ? [] : c.strings(o.missingLogs, 'missingLogs');
  // References inside the export: every record names a job of it.
  const jobKeys = new Set(jobs.map((j) => j.key));
  runJobs.forEach((j, i) => jobKeys.has(j.jobKey) || c.fail(`runJobs[${i}].jobKey`, 'the key of one of the exported jobs'));
  targets.forEach((t, i) => t.jobKey === null || jobKeys.has(t.jobKey) || c.fail(`targets[${i}].jobKey`, 'null or the key of one of the exported jobs'));
  return { format: RUN_EXPORT_FORMAT, version: RUN_EXPORT_VERSION, shard, run, targets, jobs, runJobs, results, logs, missingLogs };
}

/** Reads and validates one export file: unreadable, not JSON or not an export is a RunExportError naming it. */
export function readRunExportFile(file: string): RunExport {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RunExportError(`cannot read it: ${(err as Error).message.split('\n')[0]}`, file);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new RunExportError(`not JSON: ${(err as Error).message.split('\n')[0]}`, file);
  }
  return validateRunExport(data, file);
}

/** The log paths the records of an export name, each once, sorted. */
export function recordedLogPaths(runJobs: readonly ExportedRunJob[], results: readonly ExportedResult[]): string[] {
  const paths = new Set<string>();
  for (const r of runJobs) if (r.logPath !== null) paths.add(r.logPath);
  for (const r of results) if (r.logPath !== null) paths.add(r.logPath);
  return [...paths].sort();
}

/**
 * Writes an export as JSON (one file per shard, what the CI uploads). With `logsFrom`, the export's
 * logs are those files, read one at a time as they are written (each capped as the builder caps a
 * log: a huge log an older version kept whole is its head and tail), so that memory holds one log at
 * most, whatever the run's size; a file that is gone is listed in `missingLogs`.
 */
export function writeRunExportFile(file: string, exported: RunExport, options: { logsFrom?: readonly string[] } = {}): void {
  if (options.logsFrom === undefined) {
    writeFileSync(file, `${JSON.stringify(exported)}\n`);
    return;
  }
  const present = options.logsFrom.filter((p) => existsSync(p));
  const missing = options.logsFrom.filter((p) => !present.includes(p));
  const { logs: _logs, missingLogs: _missing, ...rest } = exported;
  const fd = openSync(file, 'w');
  try {
    const put = (text: string) => {
      const buf = Buffer.from(text);
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    };
    put(`${JSON.stringify(rest).slice(0, -1)},"missingLogs":${JSON.stringify(missing)},"logs":{`);
    present.forEach((p, i) => {
      let text: string;
      try {
        text = readLogCapped(p);
      } catch (err) {
        text = `(ecocheck export: the log could not be read: ${(err as Error).message.split('\n')[0]})\n`;
      }
      put(`${i > 0 ? ',' : ''}${JSON.stringify(p)}:${JSON.stringify(text)}`);
    });
    put('}}\n');
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------------
// Import

/** An export with the name it is reported under (its file). */
export interface ExportInput {
  source: string;
  data: RunExport | unknown;
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

export interface ImportResult {
  runId: number;
  /** False when this very set of exports was imported before: `runId` is that run, nothing new was written. */
  created: boolean;
  importHash: string;
  status: RunStatus;
  shardCount: number;
  /** The shards present, sorted. */
  shards: number[];
  missingShards: number[];
  /** Shards whose run did not finish (interrupted, crashed, failed): their unfinished jobs are missing. */
  failedShards: { index: number; status: RunStatus; source: string }[];
  /** Jobs recorded by more than one shard (shared dependencies), each kept once. */
  duplicatedJobs: number;
  /** Those whose records differed, and which was kept. */
  resolved: DuplicateResolution[];
  inconsistent: InconsistentRecord[];
  targetCount: number;
  jobCount: number;
  logsWritten: number;
  /** Links to other runs (against, retryOf) that name no run of this database: left unset. */
  unlinked: ('against' | 'retryOf')[];
  /** Columns of the exports that this database's tables do not have (an export of a newer schema). */
  droppedColumns: string[];
}

export interface ImportOptions {
  /** Where to write the exports' log files; the records then point there. Without it, the recorded paths are kept. */
  logDir?: string;
}

function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Obj;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** What must be equal for shard exports to be parts of one check. */
function checkIdentity(e: RunExport): [string, unknown][] {
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

interface Candidate {
  shard: number;
  record: ExportedRunJob;
}

/**
 * Imports shard exports of one check as one run (see the module comment). The exports are validated
 * first (a bad one is a RunExportError naming its source and field), then checked to be parts of the
 * same check, and written in one transaction.
 */
export function importRuns(db: Db, inputs: readonly ExportInput[], options: ImportOptions = {}): ImportResult {
  if (inputs.length === 0) throw new RunExportError('nothing to import', 'the exports');
  const exports = inputs.map((i) => ({ source: i.source, e: validateRunExport(i.data, i.source), hash: '' }));
  for (const x of exports) x.hash = sha256(canonical(x.e));

  // One check: the same compiler, repositories, targets, options, shard count.
  const first = exports[0];
  const firstIdentity = checkIdentity(first.e);
  for (const x of exports.slice(1)) {
    checkIdentity(x.e).forEach(([field, value], i) => {
      if (canonical(value) !== canonical(firstIdentity[i][1]))
        throw new RunExportError(`is not a part of the same check as ${first.source} (${canonical(value)} here, ${canonical(firstIdentity[i][1])} there)`, x.source, field);
    });
  }
  // Each shard once: the same export given twice counts once; two different exports of one shard are refused.
  const shardCount = first.e.shard?.count ?? 1;
  const byShard = new Map<number, (typeof exports)[number]>();
  for (const x of exports) {
    const index = x.e.shard?.index ?? 1;
    const seen = byShard.get(index);
    if (seen === undefined) byShard.set(index, x);
    else if (seen.hash !== x.hash) throw new RunExportError(`is shard ${index} of ${shardCount} again, with other records than ${seen.source}: give one export per shard`, x.source, 'shard');
  }
  const shards = [...byShard.keys()].sort((a, b) => a - b);
  const parts = shards.map((index) => ({ index, ...byShard.get(index)! }));
  const importHash = sha256(`ecocheck-merge-v1\0${parts.map((p) => p.hash).join('\0')}`);
  const missingShards: number[] = [];
  for (let i = 1; i <= shardCount; i++) if (!byShard.has(i)) missingShards.push(i);
  const failedShards = parts.filter((p) => p.e.run.status !== 'finished').map((p) => ({ index: p.index, status: p.e.run.status, source: p.source }));

  // Targets and jobs: the union.
  const targets = new Map<string, ExportedTarget>();
  for (const p of parts) for (const t of p.e.targets) if (!targets.has(t.packageId)) targets.set(t.packageId, t);
  const jobs = new Map<string, ExportedJob>();
  for (const p of parts) for (const j of p.e.jobs) if (!jobs.has(j.key)) jobs.set(j.key, j);
  const idOf = (key: string) => {
    const j = jobs.get(key);
    return j === undefined ? key : `${j.name}.${j.version}`;
  };

  // Job records: one per key, chosen in dependency order.
  const candidates = new Map<string, Candidate[]>();
  for (const p of parts) for (const r of p.e.runJobs) {
    const list = candidates.get(r.jobKey);
    if (list === undefined) candidates.set(r.jobKey, [{ shard: p.index, record: r }]);
    else list.push({ shard: p.index, record: r });
  }
  const kept = new Map<string, Candidate>();
  const resolved: DuplicateResolution[] = [];
  const inconsistent: InconsistentRecord[] = [];
  let duplicatedJobs = 0;
  const state = new Map<string, 0 | 1 | 2>();
  const judge = (c: Candidate): { consistent: boolean; final: boolean; note: string } => {
    const r = c.record;
    if (r.status === 'dependency-failed') {
      const root = r.rootCauseKey === null ? undefined : kept.get(r.rootCauseKey);
      if (root === undefined) return { consistent: false, final: false, note: `its root ${r.rootCause ?? '?'} has no record` };
      const rootFinal = !isSpurious(root.record.status);
      if (root.record.status === 'ok') return { consistent: false, final: rootFinal, note: `its root ${r.rootCause ?? idOf(r.rootCauseKey!)} is ok in the record kept (shard ${root.shard})` };
      return { consistent: true, final: rootFinal, note: '' };
    }
    const final = !isSpurious(r.status);
    if (r.cached) return { consistent: true, final, note: '' };
    for (const d of jobs.get(r.jobKey)?.dependencies ?? []) {
      const dep = kept.get(d);
      if (dep !== undefined && dep.record.status !== 'ok')
        return { consistent: false, final, note: `it was built, but the record kept for its dependency ${idOf(d)} (shard ${dep.shard}) is ${dep.record.status}` };
    }
    return { consistent: true, final, note: '' };
  };
  const choose = (key: string) => {
    const s = state.get(key);
    if (s === 2) return;
    if (s === 1) throw new RunExportError(`the exported jobs depend on each other in a cycle through ${idOf(key)}`, first.source, 'jobs');
    state.set(key, 1);
    for (const d of jobs.get(key)?.dependencies ?? []) if (candidates.has(d)) choose(d);
    state.set(key, 2);
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
    if (!best.consistent) inconsistent.push({ jobKey: key, id: idOf(key), shard: best.c.shard, status: best.c.record.status, note: best.note });
    if (list.length > 1) {
      duplicatedJobs++;
      if (new Set(list.map((c) => c.record.status)).size > 1) {
        const second = judged[1];
        const rule: DuplicateResolution['rule'] =
          best.consistent !== second.consistent ? 'consistent' : best.final !== second.final ? 'final' : best.c.record.cached !== second.c.record.cached ? 'built' : 'lowest-shard';
        resolved.push({ jobKey: key, id: idOf(key), kept: best.c.shard, records: list.map((c) => ({ shard: c.shard, status: c.record.status, cached: c.record.cached })), rule });
      }
    }
  };
  for (const key of [...candidates.keys()].sort()) choose(key);

  // The cache: one result per key, the one agreeing with the kept record first.
  const results = new Map<string, { shard: number; result: ExportedResult }>();
  for (const p of parts) for (const r of p.e.results) {
    const have = results.get(r.jobKey);
    const keptRecord = kept.get(r.jobKey);
    const better =
      have === undefined ||
      (keptRecord !== undefined && have.result.status !== keptRecord.record.status && r.status === keptRecord.record.status) ||
      (keptRecord !== undefined && have.shard !== keptRecord.shard && p.index === keptRecord.shard && r.status === keptRecord.record.status);
    if (better) results.set(r.jobKey, { shard: p.index, result: r });
  }

  const statusWeight = Math.max(...parts.map((p) => STATUS_WEIGHT[p.e.run.status]), missingShards.length > 0 ? STATUS_WEIGHT.interrupted : 0);
  const status = (Object.keys(STATUS_WEIGHT) as RunStatus[]).find((s) => STATUS_WEIGHT[s] === statusWeight)!;
  const mergedStatus: Exclude<RunStatus, 'running'> = status === 'running' ? 'interrupted' : status;

  const summary = {
    importHash,
    shardCount,
    shards,
    missingShards,
    failedShards,
    duplicatedJobs,
    resolved,
    inconsistent,
    targetCount: targets.size,
    jobCount: jobs.size,
  };
  const existing = db.prepare(`SELECT id, status FROM runs WHERE import_hash = ?`).get(importHash) as { id: number; status: RunStatus } | undefined;
  if (existing !== undefined) return { ...summary, runId: existing.id, created: false, status: existing.status, logsWritten: 0, unlinked: [], droppedColumns: [] };

  // Logs: written under logDir (named as the builder names them), the records pointing there.
  const logPathMap = new Map<string, string>();
  const logTexts = new Map<string, string>();
  if (options.logDir !== undefined) {
    for (const p of parts) for (const [path, text] of Object.entries(p.e.logs ?? {})) {
      if (logPathMap.has(path)) continue;
      const target = join(options.logDir, basename(path));
      logPathMap.set(path, target);
      logTexts.set(target, text);
    }
  }
  const mapLog = (p: string | null) => (p === null ? null : (logPathMap.get(p) ?? p));

  const columnsOf = (table: string) => new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
  const runJobColumns = columnsOf('run_jobs');
  const resultColumns = columnsOf('results');
  const dropped = new Set<string>();
  const extraFor = (extra: Record<string, Scalar>, table: string, have: Set<string>): [string[], Scalar[]] => {
    const names: string[] = [];
    const values: Scalar[] = [];
    for (const [k, v] of Object.entries(extra)) {
      if (!/^[a-z_][a-z0-9_]*$/.test(k) || !have.has(k)) {
        dropped.add(`${table}.${k}`);
        continue;
      }
      names.push(k);
      values.push(v);
    }
    return [names, values];
  };
  const unlinked: ('against' | 'retryOf')[] = [];
  const resolveRef = (ref: RunRef | null, which: 'against' | 'retryOf'): number | null => {
    if (ref === null) return null;
    const same = db
      .prepare(`SELECT id FROM runs WHERE compiler_spec = ? AND repository_hash = ? AND started_at = ? AND kind = ? ORDER BY (id = ?) DESC, id LIMIT 1`)
      .get(ref.compilerSpec, ref.repositoryHash, ref.startedAt, ref.kind, ref.id) as { id: number } | undefined;
    if (same === undefined) unlinked.push(which);
    return same?.id ?? null;
  };
  const base = parts[0].e.run;
  const { shard: _shard, ...mergedOptions } = base.options;
  const startedAt = parts.map((p) => p.e.run.startedAt).sort()[0];
  const finishedAt = parts.some((p) => p.e.run.finishedAt === null) ? null : parts.map((p) => p.e.run.finishedAt!).sort().at(-1)!;

  const write = db.transaction(() => {
    const against = resolveRef(base.against, 'against');
    const retryOf = resolveRef(base.retryOf, 'retryOf');
    const info = db
      .prepare(
        `INSERT INTO runs (kind, label, compiler_spec, repositories, repository_hash, targets, options, against_run_id, retry_of_run_id, status, pid, started_at, finished_at, job_count, target_count, import_hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)`,
      )
      .run(
        base.kind,
        base.label,
        base.compilerSpec,
        JSON.stringify(base.repositories),
        base.repositoryHash,
        JSON.stringify(base.targets),
        JSON.stringify(mergedOptions),
        against,
        retryOf,
        mergedStatus,
        startedAt,
        finishedAt,
        jobs.size,
        targets.size,
        importHash,
      );
    const runId = Number(info.lastInsertRowid);
    const insertJob = db.prepare(`INSERT OR IGNORE INTO jobs (key, name, version, dependencies, first_run_id) VALUES (?, ?, ?, ?, ?)`);
    for (const j of jobs.values()) insertJob.run(j.key, j.name, j.version, JSON.stringify(j.dependencies), runId);
    const insertTarget = db.prepare(`INSERT INTO run_targets (run_id, package_id, name, version, job_key, reason) VALUES (?, ?, ?, ?, ?, ?)`);
    for (const t of [...targets.values()].sort((a, b) => (a.packageId < b.packageId ? -1 : 1))) insertTarget.run(runId, t.packageId, t.name, t.version, t.jobKey, t.reason);
    for (const [key, { record: r }] of [...kept.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const [names, values] = extraFor(r.extra, 'run_jobs', runJobColumns);
      db.prepare(
        `INSERT INTO run_jobs (run_id, job_key, status, reason, root_cause_key, root_cause, root_causes, duration_ms, exit_code, log_path, log_tail, cached, finished_at${names.map((n) => `, ${n}`).join('')})
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?${names.map(() => ', ?').join('')})`,
      ).run(
        runId,
        key,
        r.status,
        r.reason,
        r.rootCauseKey,
        r.rootCause,
        r.rootCauses === null ? null : r.rootCauses.join(' '),
        r.durationMs,
        r.exitCode,
        mapLog(r.logPath),
        r.logTail,
        r.cached ? 1 : 0,
        r.finishedAt,
        ...values,
      );
    }
    for (const [key, { result: r }] of [...results.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const [names, values] = extraFor(r.extra, 'results', resultColumns);
      db.prepare(
        `INSERT OR IGNORE INTO results (job_key, status, reason, duration_ms, exit_code, log_path, log_tail, run_id, finished_at${names.map((n) => `, ${n}`).join('')})
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?${names.map(() => ', ?').join('')})`,
      ).run(key, r.status, r.reason, r.durationMs, r.exitCode, mapLog(r.logPath), r.logTail, runId, r.finishedAt, ...values);
    }
    return runId;
  });
  // Logs before the records: a record never points at a log not written yet (a failed write leaves only files).
  try {
    if (logTexts.size > 0) mkdirSync(options.logDir!, { recursive: true });
    for (const [path, text] of logTexts) writeFileSync(path, text);
  } catch (err) {
    throw new StoreError(`cannot write the merged run's logs under ${options.logDir}: ${(err as Error).message.split('\n')[0]}`);
  }
  let runId: number;
  try {
    runId = write.immediate();
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`cannot record the merged run: ${(err as Error).message.split('\n')[0]}`);
  }
  return { ...summary, runId, created: true, status: mergedStatus, logsWritten: logTexts.size, unlinked, droppedColumns: [...dropped].sort() };
}
