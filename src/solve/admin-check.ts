/**
 * `opam admin check --installability` (`OpamAdminCheck.installability_check`): every package is
 * checked alone in the universe of all packages (all available, no compiler invariant). The
 * uninstallable ones are split as opam prints them: "roots" have no dependency candidate that is
 * itself uninstallable (their own requirements fail), "dependents" need some uninstallable package
 * (an edge p → q of opam's dependency graph exists for every q matching any atom of p's depends).
 */
import type { OpamPackage } from '../opam/package-model.js';
import { packageId } from '../opam/package-model.js';
import type { PackageSolver } from './package-solver.js';

export interface AdminCheckResult {
  total: number;
  uninstallable: OpamPackage[];
  roots: OpamPackage[];
  dependents: OpamPackage[];
}

export function adminCheckInstallability(solver: PackageSolver): AdminCheckResult {
  const bad = new Set<OpamPackage>();
  for (const p of solver.packages) if (!solver.isInstallable(p)) bad.add(p);
  const roots: OpamPackage[] = [];
  const dependents: OpamPackage[] = [];
  for (const p of bad) {
    if (solver.dependencyCandidates(p).some((q) => bad.has(q))) dependents.push(p);
    else roots.push(p);
  }
  const byId = (a: OpamPackage, b: OpamPackage) => compareIds(packageId(a), packageId(b));
  return {
    total: solver.packages.length,
    uninstallable: [...bad].sort(byId),
    roots: roots.sort(byId),
    dependents: dependents.sort(byId),
  };
}

/** Plain string order of `NAME.VERSION`, as a stable listing order. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
