import type { OpamPackage } from '../opam/package-model.js';

/** One installation that makes a target package installable. */
export interface Solution {
  target: OpamPackage;
  /** Every package of the installation, the target included, in a valid build order. */
  packages: OpamPackage[];
  /**
   * For each package of the solution (by `NAME.VERSION`), the `NAME.VERSION`s of the solution it is
   * built against: its `depends` and the `depopts` present in the solution. `post` dependencies give no
   * build-order edge and are not listed here.
   */
  buildDependencies: Map<string, string[]>;
  /**
   * A cycle among `buildDependencies` (`[a.1, b.1, a.1]`, build-order.ts `dependencyCycle`): the solver
   * accepts the installation but it has no build order (opam fails on it at install time). Absent when
   * there is none.
   */
  cycle?: string[];
}

export type SolveOutcome = { installable: true; solution: Solution } | { installable: false; reason: string };
