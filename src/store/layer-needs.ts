/**
 * What the recorded runs say about the layers of the store, for `gc` and `status`: which job keys each
 * run found ok (built or cached: the jobs whose layer the run's switches mounted), the dependencies of
 * every recorded job (to close a set of keys under them), the planned keys of a run (its targets'
 * closures), the newest run that used each key, and the package a key builds.
 */
import type { Db } from './database.js';

/** Per run, the keys of its ok jobs. */
export function okJobKeysByRun(db: Db): Map<number, string[]> {
  const byRun = new Map<number, string[]>();
  for (const r of db.prepare(`SELECT run_id, job_key FROM run_jobs WHERE status = 'ok' ORDER BY run_id, job_key`).all() as {
    run_id: number;
    job_key: string;
  }[]) {
    let keys = byRun.get(r.run_id);
    if (keys === undefined) byRun.set(r.run_id, (keys = []));
    keys.push(r.job_key);
  }
  return byRun;
}

/** Every recorded job's dependency keys. */
export function jobDependencies(db: Db): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const r of db.prepare(`SELECT key, dependencies FROM jobs`).all() as { key: string; dependencies: string }[]) {
    let list: unknown;
    try {
      list = JSON.parse(r.dependencies);
    } catch {
      list = [];
    }
    deps.set(r.key, Array.isArray(list) ? list.filter((k): k is string => typeof k === 'string') : []);
  }
  return deps;
}

/** The job keys of a run's installable targets (its plan is their closure). */
export function targetJobKeys(db: Db, runId: number): string[] {
  return (
    db.prepare(`SELECT job_key FROM run_targets WHERE run_id = ? AND job_key IS NOT NULL ORDER BY job_key`).all(runId) as {
      job_key: string;
    }[]
  ).map((r) => r.job_key);
}

/** For each key some run recorded, the newest run (highest id) that recorded it. */
export function lastRunOfKeys(db: Db): Map<string, number> {
  const last = new Map<string, number>();
  for (const r of db.prepare(`SELECT job_key, max(run_id) AS run_id FROM run_jobs GROUP BY job_key`).all() as {
    job_key: string;
    run_id: number;
  }[])
    last.set(r.job_key, r.run_id);
  return last;
}

/** The package id (`name.version`) each recorded job key builds. */
export function packageIdsOfKeys(db: Db): Map<string, string> {
  const ids = new Map<string, string>();
  for (const r of db.prepare(`SELECT key, name, version FROM jobs`).all() as { key: string; name: string; version: string }[])
    ids.set(r.key, `${r.name}.${r.version}`);
  return ids;
}

/** The keys whose cached result is a final failure: a run takes it from the cache and builds no layer. */
export function cachedFailureKeys(db: Db): Set<string> {
  return new Set((db.prepare(`SELECT job_key FROM results WHERE status != 'ok'`).all() as { job_key: string }[]).map((r) => r.job_key));
}
