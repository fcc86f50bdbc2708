/**
 * The result taxonomy, defined once. Every layer that records, compares or reports results reads
 * these types; none defines its own statuses.
 */

/** The final status of one build job. */
export const JOB_STATUSES = [
  'ok',
  'build-failed',
  'install-failed',
  'fetch-failed',
  'dependency-failed',
  'not-installable',
  'timeout',
  'out-of-memory',
  'disk-limit',
  'internal-error',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * Statuses that say nothing about the package itself: never a regression, never cached. `disk-limit`:
 * the job used more disk space or inodes than `--disk`/`--inodes` allow (its build folder, its layer and
 * its unpacked sources together); like a timeout or out-of-memory, a limit of this machine's run.
 */
export const SPURIOUS_JOB_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>([
  'timeout',
  'out-of-memory',
  'disk-limit',
  'fetch-failed',
  'internal-error',
]);

/** Statuses for which the package's own build was tried and failed. */
export const OWN_FAILURE_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>(['build-failed', 'install-failed']);

export function isSpurious(status: JobStatus): boolean {
  return SPURIOUS_JOB_STATUSES.has(status);
}

/** A result may be cached (reused by a later run with the same key) unless the environment caused it. */
export function isCacheable(status: JobStatus): boolean {
  return !SPURIOUS_JOB_STATUSES.has(status) && status !== 'dependency-failed' && status !== 'not-installable';
}

export function isJobStatus(s: string): s is JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(s);
}

/** How one package fared in the candidate run compared with the baseline run. */
export const COMPARISON_CATEGORIES = [
  'regressed',
  'dependency-regressed',
  'fixed',
  'still-failing',
  'still-ok',
  'newly-not-installable',
  'newly-installable',
  'spurious',
] as const;
export type ComparisonCategory = (typeof COMPARISON_CATEGORIES)[number];

/**
 * What one run recorded for one target package: the record the store keeps and compare/report read.
 * `rootCause` names (as `NAME.VERSION`) the dependency whose own failure caused a `dependency-failed`.
 */
export interface PackageRunResult {
  /** `NAME.VERSION` */
  id: string;
  name: string;
  version: string;
  status: JobStatus;
  /** One line: why it failed or is not installable; empty for ok. */
  reason: string;
  rootCause: string | null;
  /**
   * Every root of a `dependency-failed` (`NAME.VERSION`, plan order; `rootCause` is the first): a package
   * below two broken dependencies names both. Absent in records written before it was kept.
   */
  rootCauses?: string[];
  /** The job's content key, null when not installable (no job). */
  jobKey: string | null;
  durationMs: number | null;
  exitCode: number | null;
  logPath: string | null;
  /** The last lines of the build log. */
  logTail: string;
  /**
   * The first error of a failed build, as the builder read it from the failing command's whole output;
   * null when it found none or the job did not fail in a command (reports then show the reason).
   */
  firstError: string | null;
  /** The system packages (depexts) the package asks for and the host lacked; empty when none or not known. */
  missingSystemPackages: string[];
  /** Whether this result came from the cache rather than a build in this run. */
  cached: boolean;
}

/** The result of a target with no job (no installable solution): every store records it the same way. */
export function notInstallableResult(target: { id: string; name: string; version: string }, reason: string): PackageRunResult {
  return {
    id: target.id,
    name: target.name,
    version: target.version,
    status: 'not-installable',
    reason,
    rootCause: null,
    jobKey: null,
    durationMs: null,
    exitCode: null,
    logPath: null,
    logTail: '',
    firstError: null,
    missingSystemPackages: [],
    cached: false,
  };
}
