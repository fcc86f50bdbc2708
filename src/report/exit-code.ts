/**
 * Process exit codes of the reporting commands: 0 nothing wrong found, 1 regressions (or, for a single run,
 * package failures) found, 2 a usage or internal error (raised by the CLI, never computed here).
 */
import type { Comparison } from '../compare/comparison.js';
import { runHasFailures, type RunSummary } from '../compare/run-summary.js';

export const EXIT_USAGE_OR_INTERNAL_ERROR = 2;

/** Whether the candidate broke packages that worked in the baseline: regressed or dependency-regressed. */
export function hasRegressions(c: Comparison): boolean {
  return c.counts.regressed + c.counts['dependency-regressed'] > 0;
}

/**
 * 1 when a package regressed (its own build, or a dependency's); 0 otherwise. Newly not installable
 * packages (a compiler upper bound) and spurious results do not count: they are reported, not failed on.
 */
export function comparisonExitCode(c: Comparison): 0 | 1 {
  return hasRegressions(c) ? 1 : 0;
}

/** 1 when a single run has build, install or dependency failures; timeouts and the like do not count. */
export function runExitCode(s: RunSummary): 0 | 1 {
  return runHasFailures(s) ? 1 : 0;
}
