/**
 * The build durations recorded in this database as a durations file's table (plan/durations-file.ts):
 * the newest real build of each job key and of each `NAME.VERSION`, of the given runs or of every run.
 * Real builds only, as for recordedDurations (store/durations.ts): a cache hit, a dependency failure, a
 * limit reached say nothing of how long a build takes.
 */
import type { Durations } from '../plan/durations-file.js';
import type { Db } from './database.js';

export function recordedDurationTable(db: Db, runIds: readonly number[] | null = null): Durations {
  const only = runIds === null ? '' : `AND rj.run_id IN (${runIds.map(() => '?').join(', ') || 'NULL'})`;
  const rows = db
    .prepare(
      `SELECT rj.job_key, j.name || '.' || j.version AS id, rj.duration_ms
       FROM run_jobs rj JOIN jobs j ON j.key = rj.job_key
       WHERE rj.cached = 0 AND rj.duration_ms IS NOT NULL
         AND rj.status NOT IN ('dependency-failed', 'not-installable', 'timeout', 'out-of-memory', 'disk-limit', 'fetch-failed', 'internal-error')
         ${only}
       ORDER BY rj.finished_at, rj.run_id`,
    )
    .all(...(runIds ?? [])) as { job_key: string; id: string; duration_ms: number }[];
  const out: Durations = { byPackage: new Map(), byKey: new Map() };
  // Oldest first: the newest build of a key or a package wins.
  for (const r of rows) {
    out.byKey.set(r.job_key, r.duration_ms);
    out.byPackage.set(r.id, r.duration_ms);
  }
  return out;
}
