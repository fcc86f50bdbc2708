/**
 * One side of a comparison: the results one run recorded, with the run's identity. Compare and report
 * take these in; the store produces them.
 */
import type { PackageRunResult } from '../results/taxonomy.js';

export interface RunSide {
  runId: number | string;
  /** A human name for the run, e.g. "4.14.2" or "trunk+pr1234". */
  label: string;
  /** The compiler package the run used, e.g. "ocaml-base-compiler.5.1.1". */
  compiler: string;
  results: PackageRunResult[];
}
