/**
 * The run export format: a versioned JSON object holding one recorded run (its record with typed options
 * and shard, its targets, its job records, the jobs they name, the cached results of those jobs, and
 * optionally the log files), so that a run moves between machines that share nothing (CI shards). This
 * module is the format: its types, and the check that parsed JSON is one (errors/json-shape.ts, the same
 * checker as the project config's). Reading it from a database is run-export.ts, files are
 * run-export-file.ts, merging shards is compare/shard-merge.ts, writing a merged run is run-import.ts.
 *
 * A result names its layer by job key only (schema 6): an export from before carried a `prefix` path per
 * result, which is read and ignored.
 */
import type { ErrorKind } from '../errors/ecocheck-error.js';
import { JsonShape, type JsonObject } from '../errors/json-shape.js';
import { JOB_STATUSES, type JobStatus } from '../results/taxonomy.js';
import {
  readRunOptions,
  readShardRecord,
  RUN_KINDS,
  RUN_STATUSES,
  type RunInfo,
  type RunKind,
  type RunStatus,
  type ShardRecord,
} from './runs.js';
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
  /** Which shard of the check this run is, with its partition and the whole plan's targets; null for a whole check. */
  shard: ShardRecord | null;
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

/** A file given to import that is not a run export: an input error naming the file and the field. */
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

function shapeOf(file: string): JsonShape {
  return new JsonShape(file, (f, field, message) => new RunExportError(message, f, field));
}

function readShard(c: JsonShape, v: unknown, field: string): ShardRecord | null {
  if (v === null || v === undefined) return null;
  const o = c.object(v, field);
  const count = c.integer(o.count, `${field}.count`, 1);
  const index = c.integer(o.index, `${field}.index`, 1);
  if (index > count) c.fail(`${field}.index`, `a shard index between 1 and ${count}`);
  const partition = o.partition === undefined || o.partition === null ? null : c.nonEmptyString(o.partition, `${field}.partition`);
  const planTargets = o.planTargets === undefined || o.planTargets === null ? null : c.strings(o.planTargets, `${field}.planTargets`);
  return { index, count, partition, planTargets };
}

function readRef(c: JsonShape, v: unknown, field: string): RunRef | null {
  if (v === null || v === undefined) return null;
  const o = c.object(v, field);
  return {
    id: c.integer(o.id, `${field}.id`, 1),
    kind: c.oneOf(o.kind, `${field}.kind`, RUN_KINDS, 'a run kind'),
    compilerSpec: c.string(o.compilerSpec, `${field}.compilerSpec`),
    repositoryHash: c.string(o.repositoryHash, `${field}.repositoryHash`),
    startedAt: c.string(o.startedAt, `${field}.startedAt`),
  };
}

function sameShard(a: ShardRecord | null, b: ShardRecord | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.index === b.index &&
    a.count === b.count &&
    a.partition === b.partition &&
    JSON.stringify(a.planTargets) === JSON.stringify(b.planTargets)
  );
}

/**
 * Checks that `data` (parsed JSON) is a RunExport, field by field; the first bad field is a
 * RunExportError naming `file` and the field (`runJobs[3].status: expected a job status`).
 */
export function validateRunExport(data: unknown, file: string): RunExport {
  const c = shapeOf(file);
  const o = c.object(data, '(top level)');
  if (o.format !== RUN_EXPORT_FORMAT) c.fail('format', `"${RUN_EXPORT_FORMAT}" (this is not an ecocheck run export)`);
  if (o.version !== RUN_EXPORT_VERSION)
    throw new RunExportError(
      `export version ${JSON.stringify(o.version)} is not one this ecocheck reads (${RUN_EXPORT_VERSION}); export it again with this version`,
      file,
      'version',
    );
  const shard = readShard(c, o.shard, 'shard');
  const r = c.object(o.run, 'run');
  const kind = c.oneOf(r.kind, 'run.kind', RUN_KINDS, 'a run kind');
  const status: RunStatus = c.oneOf(r.status, 'run.status', RUN_STATUSES, 'a run status');
  const options = readRunOptions(JSON.stringify(c.object(r.options, 'run.options')));
  const run: ExportedRun = {
    id: c.integer(r.id, 'run.id', 1),
    kind,
    label: c.stringOrNull(r.label ?? null, 'run.label'),
    compilerSpec: c.string(r.compilerSpec, 'run.compilerSpec'),
    repositories: c.strings(r.repositories, 'run.repositories'),
    repositoryHash: c.string(r.repositoryHash, 'run.repositoryHash'),
    targets: r.targets ?? null,
    options,
    status,
    startedAt: c.string(r.startedAt, 'run.startedAt'),
    finishedAt: c.stringOrNull(r.finishedAt ?? null, 'run.finishedAt'),
    jobCount: c.integer(r.jobCount, 'run.jobCount'),
    targetCount: c.integer(r.targetCount, 'run.targetCount'),
    against: readRef(c, r.against, 'run.against'),
    retryOf: readRef(c, r.retryOf, 'run.retryOf'),
  };
  if (!sameShard(readShardRecord((r.options as JsonObject).shard), shard)) c.fail('shard', 'the shard the run records (run.options.shard)');
  const targets = c.array(o.targets, 'targets').map((v, i): ExportedTarget => {
    const f = `targets[${i}]`;
    const t = c.object(v, f);
    return {
      packageId: c.string(t.packageId, `${f}.packageId`),
      name: c.string(t.name, `${f}.name`),
      version: c.string(t.version, `${f}.version`),
      jobKey: c.stringOrNull(t.jobKey, `${f}.jobKey`),
      reason: c.stringOrNull(t.reason ?? null, `${f}.reason`),
    };
  });
  const jobs = c.array(o.jobs, 'jobs').map((v, i): ExportedJob => {
    const f = `jobs[${i}]`;
    const j = c.object(v, f);
    return {
      key: c.string(j.key, `${f}.key`),
      name: c.string(j.name, `${f}.name`),
      version: c.string(j.version, `${f}.version`),
      dependencies: c.strings(j.dependencies, `${f}.dependencies`),
    };
  });
  const runJobs = c.array(o.runJobs, 'runJobs').map((v, i): ExportedRunJob => {
    const f = `runJobs[${i}]`;
    const j = c.object(v, f);
    return {
      jobKey: c.string(j.jobKey, `${f}.jobKey`),
      status: c.oneOf(j.status, `${f}.status`, JOB_STATUSES, 'a job status'),
      reason: c.string(j.reason, `${f}.reason`),
      rootCauseKey: c.stringOrNull(j.rootCauseKey ?? null, `${f}.rootCauseKey`),
      rootCause: c.stringOrNull(j.rootCause ?? null, `${f}.rootCause`),
      rootCauses: j.rootCauses === null || j.rootCauses === undefined ? null : c.strings(j.rootCauses, `${f}.rootCauses`),
      durationMs: c.integerOrNull(j.durationMs ?? null, `${f}.durationMs`),
      exitCode: c.integerOrNull(j.exitCode ?? null, `${f}.exitCode`),
      logPath: c.stringOrNull(j.logPath ?? null, `${f}.logPath`),
      logTail: c.stringOrNull(j.logTail ?? null, `${f}.logTail`),
      cached: c.boolean(j.cached, `${f}.cached`),
      finishedAt: c.string(j.finishedAt, `${f}.finishedAt`),
      extra: j.extra === undefined ? {} : c.scalars(j.extra, `${f}.extra`),
    };
  });
  const results = c.array(o.results, 'results').map((v, i): ExportedResult => {
    const f = `results[${i}]`;
    const j = c.object(v, f);
    return {
      jobKey: c.string(j.jobKey, `${f}.jobKey`),
      status: c.oneOf(j.status, `${f}.status`, JOB_STATUSES, 'a job status'),
      reason: c.string(j.reason, `${f}.reason`),
      durationMs: c.integerOrNull(j.durationMs ?? null, `${f}.durationMs`),
      exitCode: c.integerOrNull(j.exitCode ?? null, `${f}.exitCode`),
      logPath: c.stringOrNull(j.logPath ?? null, `${f}.logPath`),
      logTail: c.string(j.logTail, `${f}.logTail`),
      finishedAt: c.string(j.finishedAt, `${f}.finishedAt`),
      extra: j.extra === undefined ? {} : c.scalars(j.extra, `${f}.extra`),
    };
  });
  const logs = o.logs === null || o.logs === undefined ? null : c.stringRecord(o.logs, 'logs');
  const missingLogs = o.missingLogs === undefined ? [] : c.strings(o.missingLogs, 'missingLogs');
  // References inside the export: every record names a job of it.
  const jobKeys = new Set(jobs.map((j) => j.key));
  runJobs.forEach((j, i) => jobKeys.has(j.jobKey) || c.fail(`runJobs[${i}].jobKey`, 'the key of one of the exported jobs'));
  targets.forEach(
    (t, i) => t.jobKey === null || jobKeys.has(t.jobKey) || c.fail(`targets[${i}].jobKey`, 'null or the key of one of the exported jobs'),
  );
  return { format: RUN_EXPORT_FORMAT, version: RUN_EXPORT_VERSION, shard, run, targets, jobs, runJobs, results, logs, missingLogs };
}

/** The log paths the records of an export name, each once, sorted. */
export function recordedLogPaths(runJobs: readonly ExportedRunJob[], results: readonly ExportedResult[]): string[] {
  const paths = new Set<string>();
  for (const r of runJobs) if (r.logPath !== null) paths.add(r.logPath);
  for (const r of results) if (r.logPath !== null) paths.add(r.logPath);
  return [...paths].sort();
}
