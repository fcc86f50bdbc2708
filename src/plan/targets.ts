/**
 * Which package versions a run checks: `--latest` (the newest installable version of every package),
 * `--all-versions`, or explicit `NAME[.VERSION]` arguments; each paired with the solver's verdict.
 */
import { parsePackageSpec } from '../opam/package-spec.js';
import { UnknownTargetError } from './plan-error.js';
import type { OpamPackage } from '../opam/package-model.js';
import type { SolveOutcome } from '../solve/solution.js';
import { requestedVersion } from '../solve/requested-version.js';
import type { TargetOutcome } from './build-plan.js';

export type TargetSelection = { kind: 'latest' } | { kind: 'all-versions' } | { kind: 'explicit'; specs: string[] };

/** What target selection needs from the solver. */
export interface TargetSolver {
  solve(target: OpamPackage): SolveOutcome;
  /** Installability alone (cheaper than a solution). */
  isInstallable(target: OpamPackage): boolean;
  installableTargets(kind: 'latest' | 'all-versions'): { pkg: OpamPackage; outcome: SolveOutcome }[];
}

export { UnknownTargetError } from './plan-error.js';

/**
 * The targets of a run with the solver's outcome for each. `latest` takes the newest installable version
 * of each name (`avoid-version` or not, as opam's listing); a bare NAME argument the version
 * `opam install NAME` installs (`requestedVersion`); a name with none is reported through its newest
 * version and the solver's reason.
 */
export function selectTargets(
  selection: TargetSelection,
  packages: ReadonlyMap<string, readonly OpamPackage[]>,
  solver: TargetSolver,
): TargetOutcome[] {
  if (selection.kind === 'explicit') {
    const out: TargetOutcome[] = [];
    for (const spec of selection.specs) {
      const parsed = parsePackageSpec(spec);
      if (parsed === null) throw new UnknownTargetError('not a package: expected NAME or NAME.VERSION', spec);
      const { name, version } = parsed;
      const versions = packages.get(name);
      if (versions === undefined || versions.length === 0)
        throw new UnknownTargetError(`unknown package '${name}' (target '${spec}')`, spec);
      if (version !== null) {
        const pkg = versions.find((p) => p.version === version);
        if (pkg === undefined)
          throw new UnknownTargetError(`unknown version '${spec}': ${name} has ${versions.map((p) => p.version).join(', ')}`, spec);
        out.push({ target: pkg, outcome: solver.solve(pkg) });
      } else {
        // A bare NAME: the version `opam install NAME` installs (avoid-version respected).
        out.push(requestedVersion(versions, solver));
      }
    }
    return out;
  }
  if (selection.kind === 'all-versions')
    return solver.installableTargets('all-versions').map(({ pkg, outcome }) => ({ target: pkg, outcome }));
  // latest: per name, the newest installable version; a name with none is reported through its newest.
  const out: TargetOutcome[] = [];
  for (const versions of packages.values()) if (versions.length > 0) out.push(newestInstallable(versions, solver));
  return out;
}

function newestInstallable(versions: readonly OpamPackage[], solver: TargetSolver): TargetOutcome {
  // The newest version is usually installable: solve it at once (one solve, no separate check).
  const newest = versions[versions.length - 1];
  const first: TargetOutcome = { target: newest, outcome: solver.solve(newest) };
  if (first.outcome.installable) return first;
  for (let i = versions.length - 2; i >= 0; i--) {
    if (solver.isInstallable(versions[i])) {
      const outcome = solver.solve(versions[i]);
      if (outcome.installable) return { target: versions[i], outcome };
    }
  }
  return first;
}
