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
}

export type SolveOutcome =
  | { installable: true; solution: Solution }
  | { installable: false; reason: string };
