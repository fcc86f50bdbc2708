/**
 * What a run records for a job: the final result found in the cache for a job key, and the record of one
 * job in one run. A base module (it imports nothing of ours): the run layer produces these, the store
 * keeps them, the compare layer reads them. A result says nothing of where anything lies on one machine:
 * an `ok` job's layer is named by its key alone (the layer store finds it, see builder/layer-store.ts).
 */
import type { JobStatus } from './taxonomy.js';

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
}

/** What a record needs of its job: the key and `NAME.VERSION` (the plan's Job has both, and more). */
export interface RecordedJob {
  key: string;
  id: string;
}

/** What happened to one job in one run: built, taken from the cache, or not run because a dependency failed. */
export interface JobRecord<J extends RecordedJob = RecordedJob> extends CachedResult {
  job: J;
  /** For `dependency-failed`: the job whose own failure caused it (the root, never an intermediate). */
  rootCauseKey: string | null;
  /** `NAME.VERSION` of that root. */
  rootCause: string | null;
  /** For `dependency-failed`: every root (keys, and `NAME.VERSION`s), plan order; the first is `rootCauseKey`. */
  rootCauseKeys?: string[];
  rootCauses?: string[];
  cached: boolean;
}
