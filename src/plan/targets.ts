/**
 * Which package versions a run checks: `--latest` (the newest installable version of every package),
 * `--all-versions`, or explicit `NAME[.VERSION]` arguments; each paired with the solver's verdict.
 */
import type { OpamPackage } from '../opam/package-model.js';
import type { SolveOutcome } from '../solve/solution.js';
import type { TargetOutcome } from './build-plan.js';

export type TargetSelection = { kind: 'latest' } | { kind: 'all-versions' } | { kind: 'explicit'; specs: string[] };

/** What target selection needs from the solver. */
export interface TargetSolver {
  solve(target: OpamPackage): SolveOutcome;
  installableTargets(kind: 'latest' | 'all-versions'): { pkg: OpamPackage; outcome: SolveOutcome }[];
}

export class UnknownTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownTargetError';
  }
}

/** Splits `NAME[.VERSION]`: a known name wins over a split at its first dot. */
export function parseTargetSpec(spec: string, packages: ReadonlyMap<string, readonly OpamPackage[]>): { name: string; version: string | null } {
  if (packages.has(spec)) return { name: spec, version: null };
  const dot = spec.indexOf('.');
  if (dot <= 0 || dot === spec.length - 1) return { name: spec, version: null };
  return { name: spec.slice(0, dot), version: spec.slice(dot + 1) };
}

/**
 * The targets of a run with the solver's outcome for each. Names with no installable version under
 * `latest` (or a bare NAME argument) are reported through their newest version and its reason.
 */
export function selectTargets(
  selection: TargetSelection,
  packages: ReadonlyMap<string, readonly OpamPackage[]>,
  solver: TargetSolver,
): TargetOutcome[] {
  if (selection.kind === 'explicit') {
    const out: TargetOutcome[] = [];
    for (const spec of selection.specs) {
      const { name, version } = parseTargetSpec(spec, packages);
      const versions = packages.get(name);
      if (versions === undefined || versions.length === 0) throw new UnknownTargetError(`unknown package '${name}' (target '${spec}')`);
      if (version !== null) {
        const pkg = versions.find((p) => p.version === version);
        if (pkg === undefined) throw new UnknownTargetError(`unknown version '${spec}': ${name} has ${versions.map((p) => p.version).join(', ')}`);
        out.push({ target: pkg, outcome: solver.solve(pkg) });
      } else {
        out.push(newestInstallable(versions, solver));
      }
    }
    return out;
  }
  const found = solver.installableTargets(selection.kind);
  const out: TargetOutcome[] = found.map(({ pkg, outcome }) => ({ target: pkg, outcome }));
  if (selection.kind === 'latest') {
    // Names the solver left out because no version is installable: keep them, as not installable.
    const named = new Set(out.map((t) => t.target.name));
    for (const [name, versions] of packages) {
      if (named.has(name) || versions.length === 0) continue;
      const newest = versions[versions.length - 1];
      out.push({ target: newest, outcome: solver.solve(newest) });
    }
  }
  return out;
}

function newestInstallable(versions: readonly OpamPackage[], solver: TargetSolver): TargetOutcome {
  let first: TargetOutcome | null = null;
  for (let i = versions.length - 1; i >= 0; i--) {
    const outcome = solver.solve(versions[i]);
    const t = { target: versions[i], outcome };
    if (outcome.installable) return t;
    first ??= t;
  }
  return first!;
}
