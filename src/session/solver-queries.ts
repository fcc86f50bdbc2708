/**
 * The verbs that only ask the solver (`installable`, `installable --admin-check`, `solve`): the
 * workspace (pins applied, the compiler named resolved as for a check), the solver with the platform
 * and depexts mode asked for, and the answer as data for the CLI to print.
 */
import { compareVersions } from '../opam/version.js';
import type { OpamPackage } from '../opam/package-model.js';
import { parsePackageSpec } from '../opam/package-spec.js';
import { adminCheckInstallability, type AdminCheckResult } from '../solve/admin-check.js';
import type { PackageSolver, TargetResult } from '../solve/package-solver.js';
import type { SolveOutcome } from '../solve/solution.js';
import { parseDepextsMode } from '../host/depexts.js';
import { requestedVersion } from '../solve/requested-version.js';
import { SessionError } from './session-error.js';
import { loadProblems } from './load-problems.js';
import type { CommandContext } from './command-context.js';

/** What a solver verb asks; the repositories, config and pins are its context's. */
export interface SolverRequest {
  /** Leave every pin out, the config's too (what depends on a package as it is released). */
  ignorePins?: boolean;
  /** Required but for the admin check, which has none. */
  compiler?: string;
  env: readonly string[];
  withTest: boolean;
  depexts?: string;
}

export interface SolverSetup {
  solver: PackageSolver;
  /** The compiler as the solver reads it (opam syntax), '' for none. */
  compilerText: string;
  /** The opam files that could not be read (all of them: the repository is checked whole). */
  loadProblems: () => string[];
  /** Every version of every package read (available or not), by name. */
  packages: ReadonlyMap<string, readonly OpamPackage[]>;
}

/** The context's solver for a compiler, as every solver verb (and the reverse-dependency search) asks it. */
export function openSolver(ctx: CommandContext, req: SolverRequest): SolverSetup {
  return setUp(ctx, req, null);
}

function setUp(ctx: CommandContext, req: SolverRequest, admin: { ignoreTestDoc: boolean } | null): SolverSetup {
  const mode = parseDepextsMode(req.depexts);
  if (admin !== null && mode !== undefined && mode !== 'ignore') {
    throw new SessionError('the admin check never asks the host (as opam admin check)', 'input', { setting: 'depexts', value: mode });
  }
  if (admin === null && req.compiler === undefined)
    throw new SessionError('a compiler is required (e.g. 5.3.0, or a name such as baseline or next)', 'input', { setting: 'compiler' });
  const universe = req.ignorePins === true ? 'unpinned' : 'pinned';
  const load = ctx.load(universe);
  const compiler = req.compiler === undefined ? '' : ctx.compiler(req.compiler, universe).spec;
  const solver = ctx.solver({
    universe,
    compiler,
    env: req.env,
    withTest: req.withTest,
    depexts: req.depexts,
    ...(admin !== null ? { adminCheck: admin } : {}),
  });
  return { solver, compilerText: solver.invariant?.text ?? '', loadProblems: () => loadProblems(load), packages: load.packages };
}

export interface InstallabilityAnswer {
  compilerText: string;
  results: TargetResult[];
  loadProblems: string[];
}

/** For each target (the newest installable version of every package, or every version): installable or why not. */
export function installability(ctx: CommandContext, req: SolverRequest, selection: 'latest' | 'all-versions'): InstallabilityAnswer {
  const s = setUp(ctx, req, null);
  return { compilerText: s.compilerText, results: s.solver.installableTargets(selection), loadProblems: s.loadProblems() };
}

export interface AdminCheckAnswer extends AdminCheckResult {
  /** Why each uninstallable package is not installable. */
  reasons: Map<OpamPackage, string>;
  /** The installable packages (opam's verdict, kept) whose installation has no build order: their cycle. */
  cycles: Map<OpamPackage, string[]>;
  loadProblems: string[];
}

/** `opam admin check --installability`: every package available, no compiler, with its split into roots and dependents. */
export function adminCheck(ctx: CommandContext, req: Omit<SolverRequest, 'compiler'>, ignoreTestDoc: boolean): AdminCheckAnswer {
  const s = setUp(ctx, req, { ignoreTestDoc });
  const r = adminCheckInstallability(s.solver);
  const reasons = new Map<OpamPackage, string>();
  for (const p of r.uninstallable) {
    const o = s.solver.solve(p);
    reasons.set(p, o.installable ? '' : o.reason);
  }
  const bad = new Set(r.uninstallable);
  const cycles = s.solver.dependencyCycles(s.solver.packages.filter((p) => !bad.has(p)));
  return { ...r, reasons, cycles, loadProblems: s.loadProblems() };
}

export interface SolveAnswer {
  target: OpamPackage;
  compilerText: string;
  outcome: SolveOutcome;
}

/** The installation of `NAME` (the version `opam install NAME` installs) or `NAME.VERSION`, or why there is none. */
export function solvePackage(ctx: CommandContext, req: SolverRequest, spec: string): SolveAnswer {
  const s = setUp(ctx, req, null);
  const parsed = parsePackageSpec(spec);
  if (parsed === null) throw new SessionError('not a package: expected NAME or NAME.VERSION', 'input', { setting: 'package', value: spec });
  const versions = [...(s.packages.get(parsed.name) ?? [])].sort((a, b) => compareVersions(a.version, b.version));
  if (versions.length === 0) throw new SessionError(`unknown package ${parsed.name}`);
  if (parsed.version === null) return { ...requestedVersion(versions, s.solver), compilerText: s.compilerText };
  const target = versions.find((v) => v.version === parsed.version);
  if (target === undefined)
    throw new SessionError(`unknown version ${spec}: ${parsed.name} has ${versions.map((v) => v.version).join(', ')}`);
  return { target, compilerText: s.compilerText, outcome: s.solver.solve(target) };
}
