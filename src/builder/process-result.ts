/** How one command ended: its exit, the limits it hit, and the evidence each classification rests on. */
export interface ProcessResult {
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  timedOut: boolean;
  aborted: boolean;
  outOfMemory: boolean;
  diskFull: boolean;
  networkDenied: boolean;
  /** The last ~60 lines of output. */
  outputTail: string;
  /** Why a classification was made. */
  evidence: string[];
}
