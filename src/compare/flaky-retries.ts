/**
 * Retries of regressions: a package whose own build failed in the candidate run is built once more
 * (with its dependents). The retry's results replace the first attempt's; a package that failed and then
 * built is flaky, and a flaky package is spurious, never a regression.
 */
import { OWN_FAILURE_STATUSES, type PackageRunResult } from '../results/taxonomy.js';
import type { Comparison } from './comparison.js';
import type { RunSide } from './run-side.js';

export interface RetriedSide {
  side: RunSide;
  /** `NAME.VERSION` → what happened, for each package that failed and then built. */
  flaky: Map<string, string>;
}

/** The candidate side with each retried package's result replaced by its retry. */
export function applyRetries(candidate: RunSide, retry: readonly PackageRunResult[]): RetriedSide {
  const retried = new Map(retry.map((r) => [r.id, r]));
  const flaky = new Map<string, string>();
  const results = candidate.results.map((first) => {
    const again = retried.get(first.id);
    if (again === undefined) return first;
    if (OWN_FAILURE_STATUSES.has(first.status) && again.status === 'ok') {
      flaky.set(first.id, `flaky: ${first.status} on the first attempt, ok on the retry`);
    }
    return again;
  });
  return { side: { ...candidate, results }, flaky };
}

/** Marks the flaky packages of a comparison spurious, keeping the counts adding up. */
export function markFlaky(comparison: Comparison, flaky: ReadonlyMap<string, string>): Comparison {
  if (flaky.size === 0) return comparison;
  const counts = { ...comparison.counts };
  const packages = comparison.packages.map((p) => {
    const note = p.candidate !== null ? flaky.get(p.candidate.id) : undefined;
    if (note === undefined || p.category === 'spurious') return p;
    counts[p.category]--;
    counts.spurious++;
    return { ...p, category: 'spurious' as const, detail: note, note: p.note };
  });
  return { ...comparison, packages, counts };
}
