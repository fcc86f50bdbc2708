/**
 * A recorded run read out of the database as a RunExport (run-export-format.ts): its record, targets,
 * job records, the jobs they name and the cached results of those jobs, with the columns this version
 * does not know carried as they are; the log files' contents when asked, read by the caller's reader
 * (the session gives the builder's, which caps a huge log as the builder does).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isJobStatus, type JobStatus } from '../results/taxonomy.js';
import type { Db } from './database.js';
import { getRun, type RunInfo } from './runs.js';
import {
  recordedLogPaths,
  RUN_EXPORT_FORMAT,
  RUN_EXPORT_VERSION,
  RunExportError,
  type ExportedResult,
  type ExportedRunJob,
  type RunExport,
  type RunRef,
  type Scalar,
} from './run-export-format.js';

const RUN_JOB_COLUMNS = new Set([
  'run_id',
  'job_key',
  'status',
  'reason',
  'root_cause_key',
  'root_cause',
  'root_causes',
  'duration_ms',
  'exit_code',
  'log_path',
  'log_tail',
  'cached',
  'finished_at',
]);
const RESULT_COLUMNS = new Set([
  'job_key',
  'status',
  'reason',
  'duration_ms',
  'exit_code',
  'log_path',
  'log_tail',
  'run_id',
  'finished_at',
]);

function extraColumns(row: Record<string, unknown>, known: Set<string>): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  for (const [k, v] of Object.entries(row)) {
    if (known.has(k)) continue;
    out[k] = typeof v === 'string' || typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null;
  }
  return out;
}

function refOf(run: RunInfo | null): RunRef | null {
  return run === null
    ? null
    : { id: run.id, kind: run.kind, compilerSpec: run.compilerSpec, repositoryHash: run.repositoryHash, startedAt: run.startedAt };
}

export interface ExportOptions {
  /** Include the log files' contents. */
  logs: boolean;
  /** How a log file is read (default: whole, as text). */
  readLog?: (path: string) => string;
}

function readWholeLog(path: string): string {
  return readFileSync(path, 'utf8');
}

/** The run as a RunExport (see the module comment). A run that does not exist is a StoreError. */
export function exportRun(db: Db, runId: number, options: ExportOptions): RunExport {
  const run = getRun(db, runId);
  if (run === null) throw new RunExportError(`no run ${runId} in this database`, 'the database');
  // A shard's run carries its shard record (with its partition and the whole plan's targets).
  const shard = run.options.shard ?? null;
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
  for (const r of db
    .prepare(`SELECT * FROM results WHERE job_key IN (SELECT job_key FROM run_jobs WHERE run_id = ?) ORDER BY job_key`)
    .all(runId) as Record<string, unknown>[]) {
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
      if (existsSync(p)) logs[p] = (options.readLog ?? readWholeLog)(p);
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
