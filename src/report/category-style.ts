/** How reports name, order and colour the comparison categories and job statuses (the taxonomy's words). */
import { COMPARISON_CATEGORIES, JOB_STATUSES, type ComparisonCategory, type JobStatus } from '../results/taxonomy.js';

export type Tone = 'bad' | 'warn' | 'good' | 'neutral' | 'new';

export const CATEGORY_TITLES: Record<ComparisonCategory, string> = {
  regressed: 'Regressed',
  'dependency-regressed': 'Dependency regressed',
  fixed: 'Fixed',
  'still-failing': 'Still failing',
  'still-ok': 'Still ok',
  'newly-not-installable': 'Newly not installable',
  'newly-installable': 'Newly installable',
  spurious: 'Spurious',
};

export const CATEGORY_DESCRIPTIONS: Record<ComparisonCategory, string> = {
  regressed: 'built with the baseline, its own build or install fails with the candidate',
  'dependency-regressed': 'built with the baseline, a dependency fails with the candidate',
  fixed: 'failed with the baseline, builds with the candidate',
  'still-failing': 'fails (or is not installable) with both',
  'still-ok': 'builds with both',
  'newly-not-installable': 'installable with the baseline, not with the candidate',
  'newly-installable': 'not installable with the baseline, installable with the candidate',
  spurious: 'a timeout, fetch failure, out-of-memory, disk limit or internal error on either side: rerun',
};

export const CATEGORY_TONES: Record<ComparisonCategory, Tone> = {
  regressed: 'bad',
  'dependency-regressed': 'bad',
  fixed: 'good',
  'still-failing': 'neutral',
  'still-ok': 'good',
  'newly-not-installable': 'warn',
  'newly-installable': 'new',
  spurious: 'warn',
};

/** Report order: what needs attention first. */
export const CATEGORY_ORDER: readonly ComparisonCategory[] = [
  'regressed',
  'dependency-regressed',
  'newly-not-installable',
  'spurious',
  'fixed',
  'newly-installable',
  'still-failing',
  'still-ok',
];

export const STATUS_TONES: Record<JobStatus, Tone> = {
  ok: 'good',
  'build-failed': 'bad',
  'install-failed': 'bad',
  'fetch-failed': 'warn',
  'dependency-failed': 'bad',
  'not-installable': 'neutral',
  timeout: 'warn',
  'out-of-memory': 'warn',
  'disk-limit': 'warn',
  'internal-error': 'warn',
};

/** Report order of job statuses for single-run reports. */
export const STATUS_ORDER: readonly JobStatus[] = [
  'build-failed',
  'install-failed',
  'dependency-failed',
  'fetch-failed',
  'timeout',
  'out-of-memory',
  'disk-limit',
  'internal-error',
  'not-installable',
  'ok',
];

// The orders above must list every member of the taxonomy exactly once.
if (CATEGORY_ORDER.length !== COMPARISON_CATEGORIES.length || STATUS_ORDER.length !== JOB_STATUSES.length) {
  throw new Error('category-style: report order out of date with the taxonomy');
}
