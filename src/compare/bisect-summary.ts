/**
 * What a bisection found (session/bisect.ts computes it, report/bisect-report.ts renders it): the range,
 * each package's answer with what its build said at the first bad commit, and the steps taken.
 */
import type { PackageOutcome, StepVerdict } from './bisect-search.js';
import type { JobStatus } from '../results/taxonomy.js';

export interface BisectCommit {
  sha: string;
  subject: string;
}

/** One package's answer, with what its build said at the first bad commit. */
export interface BisectFinding {
  package: string;
  outcome: PackageOutcome['kind'];
  /** The first bad commit (`first-bad`); null otherwise. */
  firstBad: BisectCommit | null;
  /** Whether a step built it and found it bad (false: the bad end, taken as the user said). */
  confirmed: boolean;
  /** `candidates`: skipped commits leave these (oldest first, the bad one last). */
  candidates: BisectCommit[];
  /**
   * The package's result at the first bad commit (the last of the candidates): null when not built there.
   * `firstError`: its own, or for a dependency-failed its root cause's.
   */
  status: JobStatus | null;
  firstError: string | null;
  reason: string;
  rootCause: string | null;
  runId: number | null;
}

export interface BisectStepReport {
  commit: BisectCommit;
  /** Position in the range: 0 the good commit, n the bad one. */
  index: number;
  attempt: number;
  runId: number;
  verdicts: Record<string, StepVerdict>;
  built: number;
  cacheHits: number;
  wallMs: number;
}

export interface BisectSummary {
  /** The user's checkout. */
  tree: string;
  good: BisectCommit;
  bad: BisectCommit;
  /** Commits after the good one, up to the bad one: the range's n. */
  commitCount: number;
  packages: string[];
  findings: BisectFinding[];
  steps: BisectStepReport[];
  /** Distinct commits built (the compiler builds), and ⌈log2(n)⌉ for comparison. */
  compilerBuilds: number;
  log2Bound: number;
  interrupted: boolean;
  wallMs: number;
}
