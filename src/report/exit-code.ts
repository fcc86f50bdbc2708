/**
 * The verdict of a report as an exit code: 0 nothing wrong found, 1 something found. For a comparison,
 * "found" is a regression; for a run compared with nothing, a package that failed by its own build or
 * a dependency's, except in a baseline: a baseline records the ecosystem as it is (its failures are
 * what a candidate is measured against), so recording one is 0. The codes of errors and interrupts
 * are the CLI's (src/cli/exit-codes.ts).
 */
import type { Comparison } from '../compare/comparison.js';
import { runHasFailures, type RunSummary } from '../compare/run-summary.js';
import type { RunKind } from '../results/run-status.js';

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

/**
 * 1 when a run compared with nothing has build, install or dependency failures (timeouts and the like
 * do not count); always 0 for a baseline.
 */
export function runExitCode(s: RunSummary, kind: RunKind): 0 | 1 {
  return kind !== 'baseline' && runHasFailures(s) ? 1 : 0;
}
