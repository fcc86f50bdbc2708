import type { Job } from '../plan/job.js';
import type { JobStatus } from '../results/taxonomy.js';

/** A final result found for a job key by an earlier run (the scheduler's cache lookup answers with it). */
export interface CachedResult {
  status: JobStatus;
  reason: string;
  exitCode: number | null;
  durationMs: number | null;
  logPath: string | null;
  logTail: string;
  /** The builder's first error of a failure (see BuildOutcome), null when none or not recorded. */
  firstError: string | null;
  /** The system packages the host lacked for the build (see BuildOutcome); empty when none or not known. */
  missingSystemPackages: string[];
  /** The immutable prefix of an `ok` build. */
  prefix: string | null;
}

/** What happened to one job in one run: built, taken from the cache, or not run because a dependency failed. */
export interface JobRecord extends CachedResult {
  job: Job;
  /** For `dependency-failed`: the job whose own failure caused it (the root, never an intermediate). */
  rootCauseKey: string | null;
  /** `NAME.VERSION` of that root. */
  rootCause: string | null;
  /** For `dependency-failed`: every root (keys, and `NAME.VERSION`s), plan order; the first is `rootCauseKey`. */
  rootCauseKeys?: string[];
  rootCauses?: string[];
  cached: boolean;
}
