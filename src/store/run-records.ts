/**
 * Recording a run: its plan (jobs and targets) up front, then each job's result as soon as it is final
 * (one small transaction per result, so a crash loses only in-flight jobs), and the cache lookup the
 * scheduler uses: a key with a final, cacheable result is not rebuilt.
 */
import type { Plan } from '../plan/job.js';
import type { JobRecord, CachedResult } from '../results/job-record.js';
import { isCacheable, isJobStatus, notInstallableResult, type JobStatus, type PackageRunResult } from '../results/taxonomy.js';
import type { Db } from './database.js';

/** Records every job of the plan (once per key across runs) and the run's targets. */
export function recordPlan(db: Db, runId: number, plan: Plan): void {
  const insertJob = db.prepare(`INSERT OR IGNORE INTO jobs (key, name, version, dependencies, first_run_id) VALUES (?, ?, ?, ?, ?)`);
  const insertTarget = db.prepare(
    `INSERT OR REPLACE INTO run_targets (run_id, package_id, name, version, job_key, reason) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    for (const job of plan.jobs.values())
      insertJob.run(job.key, job.package.name, job.package.version, JSON.stringify(job.dependencies), runId);
    for (const t of plan.targets) {
      const job = plan.jobs.get(t.key)!;
      insertTarget.run(runId, t.id, job.package.name, job.package.version, t.key, null);
    }
    for (const t of plan.notInstallable) {
      const { name, version } = splitId(t.id);
      insertTarget.run(runId, t.id, name, version, null, t.reason);
    }
    db.prepare(`UPDATE runs SET job_count = ?, target_count = ? WHERE id = ?`).run(
      plan.jobs.size,
      plan.targets.length + plan.notInstallable.length,
      runId,
    );
  })();
}

function splitId(id: string): { name: string; version: string } {
  const dot = id.indexOf('.');
  return dot < 0 ? { name: id, version: '' } : { name: id.slice(0, dot), version: id.slice(dot + 1) };
}

/** A result sink for the scheduler: writes each job's record, and caches it when its status is cacheable. */
export function createResultRecorder(db: Db, runId: number): (record: JobRecord) => void {
  const insertRunJob = db.prepare(
    `INSERT OR REPLACE INTO run_jobs (run_id, job_key, status, reason, root_cause_key, root_cause, root_causes, duration_ms, exit_code, log_path, log_tail,
                                      first_error, missing_depexts, cached, finished_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertResult = db.prepare(
    `INSERT OR IGNORE INTO results (job_key, status, reason, duration_ms, exit_code, log_path, log_tail, first_error, missing_depexts, run_id, finished_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const write = db.transaction((r: JobRecord) => {
    const now = new Date().toISOString();
    const duration = r.durationMs === null ? null : Math.round(r.durationMs);
    const allRoots = r.rootCauses !== undefined && r.rootCauses.length > 1 ? r.rootCauses.join(' ') : null;
    const depexts = r.missingSystemPackages.join(' ');
    // A cache hit's log tail and verdicts are its results row's (read back through it), not copied.
    insertRunJob.run(
      runId,
      r.job.key,
      r.status,
      r.reason,
      r.rootCauseKey,
      r.rootCause,
      allRoots,
      duration,
      r.exitCode,
      r.logPath,
      r.cached ? null : r.logTail,
      r.cached ? null : r.firstError,
      r.cached ? null : depexts,
      r.cached ? 1 : 0,
      now,
    );
    if (!r.cached && isCacheable(r.status))
      insertResult.run(r.job.key, r.status, r.reason, duration, r.exitCode, r.logPath, r.logTail, r.firstError, depexts, runId, now);
  });
  return (record) => write(record);
}

/** The cache lookup: the final result of a key, if an earlier run recorded a cacheable one. */
export function createCacheLookup(db: Db): (key: string) => CachedResult | null {
  const get = db.prepare(
    `SELECT status, reason, duration_ms, exit_code, log_path, log_tail, first_error, missing_depexts FROM results WHERE job_key = ?`,
  );
  return (key) => {
    const r = get.get(key) as
      | {
          status: string;
          reason: string;
          duration_ms: number | null;
          exit_code: number | null;
          log_path: string | null;
          log_tail: string;
          first_error: string | null;
          missing_depexts: string | null;
        }
      | undefined;
    if (r === undefined || !isJobStatus(r.status)) return null;
    return {
      status: r.status,
      reason: r.reason,
      durationMs: r.duration_ms,
      exitCode: r.exit_code,
      logPath: r.log_path,
      logTail: r.log_tail,
      firstError: r.first_error,
      missingSystemPackages: depextsOf(r.missing_depexts),
    };
  };
}

/** The `missing_depexts` column: space-separated names; NULL (not recorded) and '' are none. */
function depextsOf(column: string | null): string[] {
  return column === null ? [] : column.split(' ').filter((n) => n !== '');
}

/** Forgets a cached result (e.g. its layer is no longer complete in the layer store), so the key is rebuilt. */
export function forgetCachedResult(db: Db, key: string): void {
  db.prepare(`DELETE FROM results WHERE job_key = ?`).run(key);
}

interface TargetRow {
  package_id: string;
  name: string;
  version: string;
  job_key: string | null;
  target_reason: string | null;
  status: string | null;
  reason: string | null;
  root_cause: string | null;
  root_causes: string | null;
  duration_ms: number | null;
  exit_code: number | null;
  log_path: string | null;
  log_tail: string | null;
  first_error: string | null;
  missing_depexts: string | null;
  cached: number | null;
}

/**
 * What a run recorded for each of its targets, sorted by `NAME.VERSION`. Not-installable targets come with
 * the solver's reason; targets whose job never finished (interrupted or crashed run) are left out.
 */
export function loadRunResults(db: Db, runId: number): PackageRunResult[] {
  const rows = db
    .prepare(
      `SELECT t.package_id, t.name, t.version, t.job_key, t.reason AS target_reason,
              rj.status, rj.reason, rj.root_cause, rj.root_causes, rj.duration_ms, rj.exit_code, rj.log_path,
              COALESCE(rj.log_tail, r.log_tail) AS log_tail,
              CASE WHEN rj.cached = 1 THEN r.first_error ELSE rj.first_error END AS first_error,
              CASE WHEN rj.cached = 1 THEN r.missing_depexts ELSE rj.missing_depexts END AS missing_depexts, rj.cached
       FROM run_targets t
       LEFT JOIN run_jobs rj ON rj.run_id = t.run_id AND rj.job_key = t.job_key
       LEFT JOIN results r ON r.job_key = t.job_key
       WHERE t.run_id = ?
       ORDER BY t.package_id`,
    )
    .all(runId) as TargetRow[];
  const out: PackageRunResult[] = [];
  for (const r of rows) {
    const base = { id: r.package_id, name: r.name, version: r.version };
    if (r.job_key === null) {
      out.push(notInstallableResult(base, r.target_reason ?? ''));
      continue;
    }
    if (r.status === null || !isJobStatus(r.status)) continue;
    out.push({
      ...base,
      status: r.status as JobStatus,
      reason: r.reason ?? '',
      rootCause: r.root_cause,
      ...(r.root_causes !== null ? { rootCauses: r.root_causes.split(' ') } : {}),
      jobKey: r.job_key,
      durationMs: r.duration_ms,
      exitCode: r.exit_code,
      logPath: r.log_path,
      logTail: r.log_tail ?? '',
      firstError: r.first_error,
      missingSystemPackages: depextsOf(r.missing_depexts),
      cached: r.cached === 1,
    });
  }
  return out;
}

/** One job's record in a run, found by package: what `ecocheck log` shows. */
export interface RunJobRecord {
  runId: number;
  jobKey: string;
  id: string;
  name: string;
  version: string;
  status: string;
  reason: string;
  rootCause: string | null;
  durationMs: number | null;
  exitCode: number | null;
  logPath: string | null;
  logTail: string;
  cached: boolean;
  isTarget: boolean;
}

/**
 * The records of a package's jobs (all versions, or one) in a run, or in the newest run that has one when
 * `runId` is null. Targets come first.
 */
export function findPackageJobs(db: Db, name: string, version: string | null, runId: number | null): RunJobRecord[] {
  const where = [`j.name = ?`];
  const args: unknown[] = [name];
  if (version !== null) {
    where.push(`j.version = ?`);
    args.push(version);
  }
  let run = runId;
  if (run === null) {
    const newest = db
      .prepare(`SELECT max(rj.run_id) AS run_id FROM run_jobs rj JOIN jobs j ON j.key = rj.job_key WHERE ${where.join(' AND ')}`)
      .get(...args) as { run_id: number | null };
    if (newest.run_id === null) return [];
    run = newest.run_id;
  }
  const rows = db
    .prepare(
      `SELECT rj.run_id, rj.job_key, j.name, j.version, rj.status, rj.reason, rj.root_cause, rj.duration_ms, rj.exit_code,
              COALESCE(rj.log_path, r.log_path) AS log_path, COALESCE(rj.log_tail, r.log_tail, '') AS log_tail, rj.cached,
              EXISTS (SELECT 1 FROM run_targets t WHERE t.run_id = rj.run_id AND t.job_key = rj.job_key) AS is_target
       FROM run_jobs rj JOIN jobs j ON j.key = rj.job_key LEFT JOIN results r ON r.job_key = rj.job_key
       WHERE rj.run_id = ? AND ${where.join(' AND ')}
       ORDER BY is_target DESC, j.version, rj.job_key`,
    )
    .all(run, ...args) as {
    run_id: number;
    job_key: string;
    name: string;
    version: string;
    status: string;
    reason: string;
    root_cause: string | null;
    duration_ms: number | null;
    exit_code: number | null;
    log_path: string | null;
    log_tail: string;
    cached: number;
    is_target: number;
  }[];
  return rows.map((r) => ({
    runId: r.run_id,
    jobKey: r.job_key,
    id: `${r.name}.${r.version}`,
    name: r.name,
    version: r.version,
    status: r.status,
    reason: r.reason,
    rootCause: r.root_cause,
    durationMs: r.duration_ms,
    exitCode: r.exit_code,
    logPath: r.log_path,
    logTail: r.log_tail,
    cached: r.cached === 1,
    isTarget: r.is_target === 1,
  }));
}

/** Not-installable targets of a run matching a package (they have no job, so no log). */
export function findNotInstallableTarget(db: Db, runId: number, name: string, version: string | null): { id: string; reason: string }[] {
  const rows = db
    .prepare(
      `SELECT package_id, reason FROM run_targets WHERE run_id = ? AND name = ? AND job_key IS NULL` +
        (version !== null ? ` AND version = ?` : ''),
    )
    .all(...(version !== null ? [runId, name, version] : [runId, name])) as { package_id: string; reason: string | null }[];
  return rows.map((r) => ({ id: r.package_id, reason: r.reason ?? '' }));
}

/** What a run recorded for one job, by package: enough to decide whether to build it again. */
export interface RunJobState {
  id: string;
  jobKey: string;
  status: JobStatus;
  cached: boolean;
}

/** Every job a run recorded (targets and the dependencies built for them), by `NAME.VERSION`. */
export function loadRunJobStates(db: Db, runId: number): Map<string, RunJobState> {
  const rows = db
    .prepare(
      `SELECT j.name || '.' || j.version AS id, rj.job_key, rj.status, rj.cached
       FROM run_jobs rj JOIN jobs j ON j.key = rj.job_key
       WHERE rj.run_id = ? ORDER BY rj.job_key`,
    )
    .all(runId) as { id: string; job_key: string; status: string; cached: number }[];
  const out = new Map<string, RunJobState>();
  for (const r of rows) if (isJobStatus(r.status)) out.set(r.id, { id: r.id, jobKey: r.job_key, status: r.status, cached: r.cached === 1 });
  return out;
}
