/** What one run says on its own (no baseline): counts per status, failures clustered, roots of dependency failures. */
import { JOB_STATUSES, OWN_FAILURE_STATUSES, isSpurious, type JobStatus, type PackageRunResult } from '../results/taxonomy.js';
import type { RunIdentity } from './comparison.js';
import { clusterFailures, resultFirstError, type ErrorCluster } from './error-clusters.js';
import type { RunSide } from './run-side.js';

export interface RunRootCause {
  /** `NAME.VERSION` of the package whose own failure the dependency failures go back to. */
  id: string;
  /** Its status in the run, or null when it is not one of the run's results. */
  status: JobStatus | null;
  firstError: string;
  /** Ids of the dependency-failed results that go back to it, sorted. */
  dependents: string[];
}

export interface RunSummary {
  run: RunIdentity;
  /** The results, sorted by id. */
  results: PackageRunResult[];
  /** Results per status; they add up to `results.length`. */
  counts: Record<JobStatus, number>;
  /** Own failures (build-failed, install-failed) grouped by normalised first error; largest first. */
  clusters: ErrorCluster[];
  /** Roots of the dependency failures, most dependents first. */
  rootCauses: RunRootCause[];
}

export function summariseRun(run: RunSide): RunSummary {
  const results = [...run.results].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  for (const r of results) counts[r.status]++;
  const byId = new Map(results.map((r) => [r.id, r]));
  const roots = new Map<string, RunRootCause>();
  for (const r of results) {
    if (r.status !== 'dependency-failed') continue;
    // Every root the record names (a package below two broken dependencies is a dependent of both);
    // each followed down to the first result that is not itself a dependency failure.
    const named = r.rootCauses ?? [r.rootCause ?? '(unknown root cause)'];
    const resolved = new Set<string>();
    for (const start of named) {
      let id = start;
      const seen = new Set([r.id]);
      for (
        let next = byId.get(id);
        next !== undefined && next.status === 'dependency-failed' && next.rootCause !== null && !seen.has(next.rootCause);
        next = byId.get(id)
      ) {
        seen.add(id);
        id = next.rootCause;
      }
      resolved.add(id);
    }
    for (const id of resolved) {
      let rc = roots.get(id);
      if (rc === undefined) {
        const root = byId.get(id);
        let firstError = '';
        if (root !== undefined && isSpurious(root.status)) firstError = root.reason !== '' ? `${root.status}: ${root.reason}` : root.status;
        else if (root !== undefined && root.status !== 'ok') firstError = resultFirstError(root);
        rc = { id, status: root?.status ?? null, firstError, dependents: [] };
        roots.set(id, rc);
      }
      rc.dependents.push(r.id);
    }
  }
  const rootCauses = [...roots.values()]
    .map((rc) => ({ ...rc, dependents: rc.dependents.sort() }))
    .sort((a, b) => b.dependents.length - a.dependents.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    run: { runId: run.runId, label: run.label, compiler: run.compiler, packageCount: results.length },
    results,
    counts,
    clusters: clusterFailures(results),
    rootCauses,
  };
}

/** Whether a single run found failures of packages (own builds or their dependencies). */
export function runHasFailures(s: RunSummary): boolean {
  return s.results.some((r) => OWN_FAILURE_STATUSES.has(r.status) || r.status === 'dependency-failed');
}
