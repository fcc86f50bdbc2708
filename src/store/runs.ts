/**
 * Runs: one row per `check`, with what it was asked (compiler, repositories and their content hash,
 * targets, options), when and how it ended. Listing and lookup are what `runs`, `log` and the comparison
 * layer read.
 */
import type { Db } from './database.js';

export type RunStatus = 'running' | 'finished' | 'interrupted' | 'crashed' | 'failed';

export interface RunInfo {
  id: number;
  /** 'check' by default; the comparison layer marks 'baseline' / 'candidate'. */
  kind: string;
  label: string | null;
  compilerSpec: string;
  repositories: string[];
  repositoryHash: string;
  targets: unknown;
  options: Record<string, unknown>;
  status: RunStatus;
  pid: number | null;
  startedAt: string;
  finishedAt: string | null;
  jobCount: number;
  targetCount: number;
}

export interface NewRun {
  kind?: string;
  label?: string | null;
  compilerSpec: string;
  repositories: string[];
  repositoryHash: string;
  targets: unknown;
  options: Record<string, unknown>;
}

interface RunRow {
  id: number;
  kind: string;
  label: string | null;
  compiler_spec: string;
  repositories: string;
  repository_hash: string;
  targets: string;
  options: string;
  status: string;
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
    options: JSON.parse(r.options) as Record<string, unknown>,
    status: r.status as RunStatus,
    pid: r.pid,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    jobCount: r.job_count,
    targetCount: r.target_count,
  };
}

export function createRun(db: Db, run: NewRun): number {
  const info = db
    .prepare(
      `INSERT INTO runs (kind, label, compiler_spec, repositories, repository_hash, targets, options, status, pid, started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
    )
    .run(
      run.kind ?? 'check',
      run.label ?? null,
      run.compilerSpec,
      JSON.stringify(run.repositories),
      run.repositoryHash,
      JSON.stringify(run.targets),
      JSON.stringify(run.options),
      process.pid,
      new Date().toISOString(),
    );
  return Number(info.lastInsertRowid);
}

export function finishRun(db: Db, runId: number, status: Exclude<RunStatus, 'running'>): void {
  db.prepare(`UPDATE runs SET status = ?, finished_at = ? WHERE id = ?`).run(status, new Date().toISOString(), runId);
}

/** Marks a run (e.g. 'baseline'), optionally with a label. */
export function setRunKind(db: Db, runId: number, kind: string, label: string | null = null): void {
  db.prepare(`UPDATE runs SET kind = ?, label = COALESCE(?, label) WHERE id = ?`).run(kind, label, runId);
}

export function getRun(db: Db, runId: number): RunInfo | null {
  const r = db.prepare(`SELECT * FROM runs WHERE id = ?`).get(runId) as RunRow | undefined;
  return r ? fromRow(r) : null;
}

export interface RunFilter {
  kind?: string;
  compilerSpec?: string;
  repositoryHash?: string;
  status?: RunStatus;
  limit?: number;
}

/** Runs, newest first. */
export function listRuns(db: Db, filter: RunFilter = {}): RunInfo[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (filter.kind !== undefined) (where.push('kind = ?'), args.push(filter.kind));
  if (filter.compilerSpec !== undefined) (where.push('compiler_spec = ?'), args.push(filter.compilerSpec));
  if (filter.repositoryHash !== undefined) (where.push('repository_hash = ?'), args.push(filter.repositoryHash));
  if (filter.status !== undefined) (where.push('status = ?'), args.push(filter.status));
  const sql =
    `SELECT * FROM runs` + (where.length ? ` WHERE ${where.join(' AND ')}` : '') + ` ORDER BY id DESC` + (filter.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(filter.limit))}` : '');
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
export function runStatusCounts(db: Db, runId: number): { jobs: Record<string, number>; targets: Record<string, number>; cacheHits: number } {
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
