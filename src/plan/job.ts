import type { OpamPackage } from '../opam/package-model.js';

/**
 * One build: a package version built against an exact set of dependency jobs. Jobs are hash-consed:
 * the same package (opam file content, extra files), the same dependency keys, the same platform and
 * builder version give the same `key`.
 */
export interface Job {
  /** Content key (hex sha256). */
  key: string;
  /** `NAME.VERSION`. */
  id: string;
  package: OpamPackage;
  /** Keys of the jobs this one is built against (its depends and present depopts). */
  dependencies: string[];
  /** Keys of every job reachable through `dependencies`, in build order: the environment of the build. */
  closure: string[];
  /**
   * A target checked with `--with-test`: its build sees `with-test` true and runs its `run-test:`
   * commands, as `opam install --with-test` does for the packages asked for.
   */
  runTests?: boolean;
}

export interface Plan {
  /** Every job, keyed by content key, in a valid build order (dependencies first). */
  jobs: Map<string, Job>;
  /** The requested targets that are installable, and the job that builds each. */
  targets: { id: string; key: string }[];
  /** The requested targets that are not installable, with the solver's reason. */
  notInstallable: { id: string; reason: string }[];
}
