import type { JobStatus } from '../results/taxonomy.js';
import type { Job } from '../plan/job.js';

/**
 * A dependency of a job being built: the job, whose immutable layer (what its build added to the switch)
 * the builder finds by its key in its layer store.
 */
export interface BuiltDependency {
  job: Job;
}

export interface BuildOutcome {
  status: JobStatus;
  /** One line saying why, for anything but `ok`. */
  reason: string;
  exitCode: number | null;
  durationMs: number;
  /** The job's log file (each command, its output, exit code, duration), when one was written. */
  logPath: string | null;
  /** The last lines of the log, kept in the database for reports. */
  logTail: string;
  /**
   * The failure's first error, read from the failing command's whole output (not only the tail); null for
   * `ok` and for failures outside a command (a patch, an install file, an internal error: see `reason`).
   */
  firstError: string | null;
  /** The system packages (depexts) the package asks for and the host lacks; `[]` when none or when the host could not be asked. */
  missingSystemPackages: string[];
  /**
   * Where the finished, immutable layer of an `ok` build is on this machine (the layer store's path of the
   * job's key); null otherwise (a failed one is removed). Never recorded: results name layers by key.
   */
  prefix: string | null;
}

/**
 * Builds one job. `closure` holds every job of the job's build closure, dependencies first, all
 * already built. Must honour `signal`: kill the process group and clean up when it aborts.
 */
export interface Builder {
  readonly version: string;
  build(job: Job, closure: BuiltDependency[], signal: AbortSignal): Promise<BuildOutcome>;
}
