/**
 * Recorded build durations, as the cost lookups the plan layer splits and predicts with
 * (src/plan/job-cost.ts): by job key (the newest build of that very job), by `NAME.VERSION` (the newest
 * build of that package against any dependencies: another compiler's), and whether a key is cached
 * (a final result: it is not rebuilt). Only real builds count: a cache hit, a dependency failure, a
 * timeout (its duration is the limit, not the build) say nothing of how long a build takes.
 */
import type { CostLookup } from '../plan/job-cost.js';
import type { Db } from './database.js';

export function recordedDurations(db: Db, options: { estimateMs?: number; withCache?: boolean } = {}): CostLookup {
  const byKey = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const rows = db
    .prepare(
      `SELECT rj.job_key, j.name || '.' || j.version AS id, rj.duration_ms
       FROM run_jobs rj JOIN jobs j ON j.key = rj.job_key
       WHERE rj.cached = 0 AND rj.duration_ms IS NOT NULL
         AND rj.status NOT IN ('dependency-failed', 'not-installable', 'timeout', 'out-of-memory', 'disk-limit', 'fetch-failed', 'internal-error')
       ORDER BY rj.finished_at, rj.run_id`,
    )
    .all() as { job_key: string; id: string; duration_ms: number }[];
  // Oldest first: the newest build of a key or a package wins.
  for (const r of rows) {
    byKey.set(r.job_key, r.duration_ms);
    byPackage.set(r.id, r.duration_ms);
  }
  const cached = new Set<string>();
  if (options.withCache === true)
    for (const r of db.prepare(`SELECT job_key FROM results`).all() as { job_key: string }[]) cached.add(r.job_key);
  return {
    byKey: (key) => byKey.get(key),
    byPackage: (id) => byPackage.get(id),
    ...(options.withCache === true ? { cached: (key: string) => cached.has(key) } : {}),
    ...(options.estimateMs !== undefined ? { estimateMs: options.estimateMs } : {}),
  };
}
