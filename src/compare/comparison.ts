/** The result of comparing a candidate run with a baseline run: what compare produces and reports read. */
import type { ComparisonCategory, PackageRunResult } from '../results/taxonomy.js';
import type { ErrorCluster } from './error-clusters.js';

/** How a package of one run was matched with the other run. */
export type MatchRule = 'id' | 'name' | 'one-side';

export interface PackageComparison {
  /** Unique within the comparison: the package name, or `NAME.VERSION` when several versions of the name were compared. */
  key: string;
  name: string;
  /** Null when the package is absent from that run (counted as not installable there). */
  baseline: PackageRunResult | null;
  candidate: PackageRunResult | null;
  matchedBy: MatchRule;
  category: ComparisonCategory;
  /** For `dependency-regressed`: the key of the root cause (the package that regressed first), else null. */
  rootCause: string | null;
  /** For `dependency-regressed`: every root's key when there are several (the first is `rootCause`). */
  rootCauses?: string[];
  /** One line for reports: the first error, or why the package is in its category. */
  detail: string;
  /** A remark on an unusual case (e.g. newly installable but failing), else null. */
  note: string | null;
}

export interface RootCause {
  /** The key of the root package (or its `NAME.VERSION` when it is not a package of the comparison). */
  key: string;
  /** Its category, or null when the root is not one of the compared packages. */
  category: ComparisonCategory | null;
  /** The root's own first error in the candidate run ('' if unknown). */
  firstError: string;
  /** Keys of the dependency-regressed packages that fail because of it, sorted. */
  dependents: string[];
}

export interface RunIdentity {
  runId: number | string;
  label: string;
  compiler: string;
  packageCount: number;
}

export interface Comparison {
  baseline: RunIdentity;
  candidate: RunIdentity;
  /** Every package of the union of both runs, once, sorted by key. */
  packages: PackageComparison[];
  /** Packages per category; the counts add up to `packages.length`. */
  counts: Record<ComparisonCategory, number>;
  /** Each regressed package, and each root of dependency regressions, with what fails because of it;
   *  most dependents first. */
  rootCauses: RootCause[];
  /** The regressed packages (own failures) grouped by normalised first error; largest first. Keys, not ids. */
  regressionClusters: ErrorCluster[];
}
