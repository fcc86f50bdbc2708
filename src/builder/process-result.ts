/** How one command ended: its exit, the limits it hit, and the evidence each classification rests on. */
export interface ProcessResult {
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  timedOut: boolean;
  aborted: boolean;
  outOfMemory: boolean;
  diskFull: boolean;
  /** A write reached the file size limit (RLIMIT_FSIZE, the job's --disk): the disk limit, not the package. */
  fileSizeExceeded?: boolean;
  networkDenied: boolean;
  /** The last ~60 lines of output. */
  outputTail: string;
  /** Why a classification was made. */
  evidence: string[];
}

/**
 * The result of a command that started at `started` (performance.now()): `partial` over a result that
 * hit nothing, its duration up to now, and `evidence` (filled as the command runs) as its evidence.
 */
export function processResultSince(started: number, evidence: string[], partial: Partial<ProcessResult>): ProcessResult {
  return {
    exitCode: null,
    signal: null,
    durationMs: Math.round(performance.now() - started),
    timedOut: false,
    aborted: false,
    outOfMemory: false,
    diskFull: false,
    networkDenied: false,
    outputTail: '',
    evidence,
    ...partial,
  };
}
