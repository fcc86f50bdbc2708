/**
 * Writing a run that comes from elsewhere (the merge of CI shards' exports: compare/shard-merge.ts
 * decides what it holds) into this database, in one transaction: the run, its jobs, targets, job records
 * and the cached results. Links to other runs are found by what identifies them in any database (kind,
 * compiler, repositories' hash, start time); columns an export carries that this schema does not have
 * are dropped and said. The run keeps the content hash of what it was made from (schema migration 5), so
 * the same exports imported again find it instead of making another.
 */
import type { Db } from './database.js';
import type { ExportedJob, ExportedResult, ExportedRun, ExportedRunJob, ExportedTarget, RunRef, Scalar } from './run-export-format.js';
import type { RunStatus } from './runs.js';
import { StoreError } from './store-error.js';

/** A run to record as it is given: every record chosen already. */
export interface RunToImport {
  /** The content hash of what it was made from: the same hash again finds this run. */
  importHash: string;
  /** Its record (kind, compiler, repositories, targets selection, options, links). */
  run: Omit<ExportedRun, 'id' | 'status' | 'startedAt' | 'finishedAt' | 'jobCount' | 'targetCount'>;
  status: Exclude<RunStatus, 'running'>;
  startedAt: string;
  finishedAt: string | null;
  targets: readonly ExportedTarget[];
  jobs: readonly ExportedJob[];
  runJobs: readonly ExportedRunJob[];
  results: readonly ExportedResult[];
}

export interface ImportedRun {
  runId: number;
  /** Links to other runs (against, retryOf) that name no run of this database: left unset. */
  unlinked: ('against' | 'retryOf')[];
  /** Columns of the records that this database's tables do not have (an export of a newer schema). */
  droppedColumns: string[];
}

/** The run imported earlier from the same content, if any. */
export function findImportedRun(db: Db, importHash: string): { id: number; status: RunStatus } | null {
  return (
    (db.prepare(`SELECT id, status FROM runs WHERE import_hash = ?`).get(importHash) as { id: number; status: RunStatus } | undefined) ??
    null
  );
}

/**
 * Records `r` as a new run; `logPathOf` maps a recorded log path to where the log is in this state
 * (the records then point there). Throws a StoreError when the database refuses it.
 */
export function recordImportedRun(db: Db, r: RunToImport, logPathOf: (path: string | null) => string | null = (p) => p): ImportedRun {
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
      .prepare(
        `SELECT id FROM runs WHERE compiler_spec = ? AND repository_hash = ? AND started_at = ? AND kind = ? ORDER BY (id = ?) DESC, id LIMIT 1`,
      )
      .get(ref.compilerSpec, ref.repositoryHash, ref.startedAt, ref.kind, ref.id) as { id: number } | undefined;
    if (same === undefined) unlinked.push(which);
    return same?.id ?? null;
  };
  const base = r.run;
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
        JSON.stringify(base.options),
        against,
        retryOf,
        r.status,
        r.startedAt,
        r.finishedAt,
        r.jobs.length,
        r.targets.length,
        r.importHash,
      );
    const runId = Number(info.lastInsertRowid);
    const insertJob = db.prepare(`INSERT OR IGNORE INTO jobs (key, name, version, dependencies, first_run_id) VALUES (?, ?, ?, ?, ?)`);
    for (const j of r.jobs) insertJob.run(j.key, j.name, j.version, JSON.stringify(j.dependencies), runId);
    const insertTarget = db.prepare(
      `INSERT INTO run_targets (run_id, package_id, name, version, job_key, reason) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    for (const t of r.targets) insertTarget.run(runId, t.packageId, t.name, t.version, t.jobKey, t.reason);
    for (const j of r.runJobs) {
      const [names, values] = extraFor(j.extra, 'run_jobs', runJobColumns);
      db.prepare(
        `INSERT INTO run_jobs (run_id, job_key, status, reason, root_cause_key, root_cause, root_causes, duration_ms, exit_code, log_path, log_tail, cached, finished_at${names.map((n) => `, ${n}`).join('')})
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?${names.map(() => ', ?').join('')})`,
      ).run(
        runId,
        j.jobKey,
        j.status,
        j.reason,
        j.rootCauseKey,
        j.rootCause,
        j.rootCauses === null ? null : j.rootCauses.join(' '),
        j.durationMs,
        j.exitCode,
        logPathOf(j.logPath),
        j.logTail,
        j.cached ? 1 : 0,
        j.finishedAt,
        ...values,
      );
    }
    for (const x of r.results) {
      const [names, values] = extraFor(x.extra, 'results', resultColumns);
      db.prepare(
        `INSERT OR IGNORE INTO results (job_key, status, reason, duration_ms, exit_code, log_path, log_tail, run_id, finished_at${names.map((n) => `, ${n}`).join('')})
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?${names.map(() => ', ?').join('')})`,
      ).run(x.jobKey, x.status, x.reason, x.durationMs, x.exitCode, logPathOf(x.logPath), x.logTail, runId, x.finishedAt, ...values);
    }
    return runId;
  });
  let runId: number;
  try {
    runId = write.immediate();
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`cannot record the merged run: ${(err as Error).message.split('\n')[0]}`);
  }
  return { runId, unlinked, droppedColumns: [...dropped].sort() };
}
