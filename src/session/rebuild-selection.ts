/**
 * What to build again, one rule for every verb that does (the retries of `check`, `rerun`, `rerun
 * --regressed`): a package whose own build failed (build-failed, install-failed) or whose result was
 * spurious (timeout, out of memory, network…) is built again, its cached result forgotten; a package
 * whose dependency failed is built again when one of its roots is, and that root's cached result is
 * forgotten with it (the root may be a dependency that is no target). Dependency failures are never
 * cached, so they have nothing to forget. With `freshOnly` (retries), a result taken from the cache is
 * left alone: it was confirmed when it was first built.
 */
import { OWN_FAILURE_STATUSES, SPURIOUS_JOB_STATUSES, type JobStatus, type PackageRunResult } from '../results/taxonomy.js';

/** What the rule needs of a job: its package, status, key and whether the run took it from the cache. */
export interface JobState {
  id: string;
  status: JobStatus;
  jobKey: string | null;
  cached: boolean;
}

export interface RebuildSelection {
  /** The packages to build again (`NAME.VERSION`), in the order given. */
  ids: string[];
  /** The job keys whose cached results must be forgotten first, so that they really rebuild. */
  forgetKeys: string[];
}

export interface RebuildOptions {
  /** Leave results the run took from the cache (a retry confirms fresh failures only). */
  freshOnly: boolean;
  /** Every job the run recorded, by `NAME.VERSION`: where roots that are no candidates are found. */
  jobsOfRun: ReadonlyMap<string, JobState>;
}

/**
 * The rule applied to `candidates` (the results a verb considers: all of a run's targets, or the
 * regressions of a comparison).
 */
export function selectRebuild(candidates: readonly PackageRunResult[], options: RebuildOptions): RebuildSelection {
  const rebuildsItself = (j: JobState) =>
    (OWN_FAILURE_STATUSES.has(j.status) || SPURIOUS_JOB_STATUSES.has(j.status)) && !(options.freshOnly && j.cached);
  const byId = new Map(candidates.map((c) => [c.id, c] as const));
  const ids: string[] = [];
  const forget = new Set<string>();
  for (const c of candidates) {
    if (rebuildsItself(c)) {
      ids.push(c.id);
      if (c.jobKey !== null) forget.add(c.jobKey);
      continue;
    }
    if (c.status !== 'dependency-failed') continue;
    const roots = c.rootCauses ?? (c.rootCause !== null ? [c.rootCause] : []);
    const rebuilt = roots
      .map((r) => byId.get(r) ?? options.jobsOfRun.get(r))
      .filter((j): j is JobState => j !== undefined && rebuildsItself(j));
    if (rebuilt.length === 0) continue;
    ids.push(c.id);
    for (const j of rebuilt) if (j.jobKey !== null) forget.add(j.jobKey);
  }
  return { ids, forgetKeys: [...forget] };
}
