/**
 * Which version of a package `opam install NAME` installs on a fresh switch, the one answer every verb
 * gives for a bare NAME (`solve`, `plan`, `check`):
 *
 * opam 2.1.2 asks its solver for "some version of NAME" and takes the installation its criteria prefer
 * (`-removed,-count[avoid-version,changed],-count[version-lag,request],…`). The avoided versions it adds
 * are counted before the version lag of NAME, so:
 * - a version that is not installable with the switch's compiler is never the answer: the newest
 *   installable one is (a package whose newest release needs OCaml 5 installs an older one on 4.14);
 * - where the newest installable version is flagged `avoid-version` (a preview release), the newest
 *   one that is not is installed, if one is installable; likewise a version whose installation needs an
 *   avoided dependency loses to an older one whose installation needs fewer;
 * - among installations with as few avoided versions, the smallest version lag of NAME wins. opam's lag
 *   places avoided versions after every other version (`OpamSolver.opam2cudf`), so an avoided version
 *   only wins over a normal one with as few avoided packages in the installation, never otherwise.
 * When no version is installable, the answer is the newest version with the solver's reason.
 *
 * `--latest` (a whole run's targets) is another question, answered by the solver's `installableTargets`
 * and the planner: the newest installable version, `avoid-version` or not, as opam's listing and
 * opam-health-check's latest versions read it (README, "Targets").
 */
import { isAvoidVersion, type OpamPackage } from '../opam/package-model.js';
import type { SolveOutcome } from './solution.js';

/** What the choice needs from the solver. */
export interface RequestSolver {
  solve(target: OpamPackage): SolveOutcome;
  /** Installability alone (cheaper than a solution once the universe is encoded). */
  isInstallable(target: OpamPackage): boolean;
}

export interface RequestedVersion {
  target: OpamPackage;
  outcome: SolveOutcome;
}

/**
 * How many versions are solved directly before `isInstallable` screens the rest: a solve of one version
 * needs only its dependency cone, while the first `isInstallable` encodes the whole repository (~20× a
 * one-package solve on the snapshot), which pays off only over many versions.
 */
const DIRECT_SOLVES = 3;

/** How many `avoid-version` packages an installation holds (opam's `count[avoid-version,changed]`). */
function avoidedCount(outcome: SolveOutcome & { installable: true }): number {
  let n = 0;
  for (const p of outcome.solution.packages) if (isAvoidVersion(p)) n++;
  return n;
}

/**
 * The version `opam install NAME` installs, with its solution, or the newest version with the reason
 * none is installable. `versions`: every version of the name, in ascending version order.
 */
export function requestedVersion(versions: readonly OpamPackage[], solver: RequestSolver): RequestedVersion {
  if (versions.length === 0) throw new Error('requestedVersion: a package name without versions');
  const newest = versions[versions.length - 1];
  // opam's version lag of NAME, lowest first: avoided versions newest first, then the others newest first.
  const normal = versions.filter((p) => !isAvoidVersion(p)).reverse();
  const avoided = versions.filter((p) => isAvoidVersion(p)).reverse();
  const lagRank = new Map<OpamPackage, number>([...avoided, ...normal].map((p, k) => [p, k]));
  let best: { target: OpamPackage; outcome: SolveOutcome & { installable: true }; avoided: number } | null = null;
  let newestOutcome: SolveOutcome | null = null;
  let solved = 0;
  // Versions with no avoided package of their own first: the newest such installable one is the answer
  // unless its installation needs avoided dependencies.
  for (const candidate of [...normal, ...avoided]) {
    const lowerBound = isAvoidVersion(candidate) ? 1 : 0;
    if (best !== null) {
      const mayWin =
        lowerBound < best.avoided || (lowerBound === best.avoided && (lagRank.get(candidate) ?? 0) < (lagRank.get(best.target) ?? 0));
      if (!mayWin) continue;
    }
    // The first version is usually installable, or the second or third (the newest release needs a newer
    // compiler): solve them at once, each in its own small cone. Past those, the whole universe's
    // installability (encoded once, then cheap) rules out the others before they are solved.
    if (solved >= DIRECT_SOLVES && !solver.isInstallable(candidate)) continue;
    const outcome = solver.solve(candidate);
    solved++;
    if (candidate === newest) newestOutcome = outcome;
    if (!outcome.installable) continue;
    const count = avoidedCount(outcome);
    if (
      best === null ||
      count < best.avoided ||
      (count === best.avoided && (lagRank.get(candidate) ?? 0) < (lagRank.get(best.target) ?? 0))
    ) {
      best = { target: candidate, outcome, avoided: count };
    }
  }
  if (best !== null) return { target: best.target, outcome: best.outcome };
  return { target: newest, outcome: newestOutcome ?? solver.solve(newest) };
}
