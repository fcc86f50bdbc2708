/**
 * The solver's library API: `createSolver(load, options)` encodes a repository once for a compiler
 * and a platform; `solve(target)` gives an installation (in build order) or a reason;
 * `installableTargets(kind)` does it for every package (newest version per name, or all versions).
 *
 * Two modes:
 * - switch mode (default): opam's universe for a switch whose invariant is the chosen compiler
 *   (`opam switch create SPEC`): `available:` evaluated on the platform, `with-test` only for the
 *   target when asked, `with-doc` / `with-dev-setup` false, `dev` true only for VCS-sourced packages
 *   (opam's `is_dev_package`), `build` and `post` dependencies both required;
 * - admin-check mode (`opam admin check --installability`): every package available, no compiler
 *   invariant, only `name`, `version`, `opam-version`, `with-test`, `with-doc` (both true unless
 *   `ignoreTestDoc`, as opam's default) and `dev` (false) defined, and `conflict-class` ignored
 *   (opam's admin check builds its universe from `conflicts:` alone).
 */
import type { OpamPackage, Formula } from '../opam/package-model.js';
import { packageId } from '../opam/package-model.js';
import { evalFilterToBool, filterDependencyFormula, printFilter, type DependencyAtom, type VariableLookup } from '../opam/filter.js';
import type { RepositoryLoad } from '../opam/repository.js';
import { atoms, FormulaTooLargeError, toCNF } from '../opam/formula.js';
import type { Solution, SolveOutcome } from './solution.js';
import { Universe, constraintKey, versionSatisfies, type UniverseRules } from './universe.js';
import { DEFAULT_PLATFORM, isDevPackage, packageLookup, type DependencyFlags } from './platform-env.js';
import { resolveCompilerSpec, type CompilerInvariant } from './compiler-spec.js';
import { buildDependencies, buildEdges, buildOrder, dependencyCycle, type BuildEdges } from './build-order.js';
import { cycleSuspects } from './cycle-suspects.js';
import { Explainer } from './explain.js';
import type { SystemPackageManager } from '../host/package-manager.js';
import { depextsUnavailable, depextsUnavailableReason, requiredSystemPackages } from '../host/depexts.js';

export { resolveCompilerSpec } from './compiler-spec.js';
export type { CompilerInvariant } from './compiler-spec.js';

export interface SolveOptions {
  /** `--compiler SPEC` (ignored in admin-check mode). */
  compiler: string;
  /** `--env VAR=VALUE` overrides of the platform variables. */
  env?: Record<string, string>;
  /** Default for `solve` / `installableTargets`: with-test dependencies of the target. */
  withTest?: boolean;
  /** `opam admin check --installability` semantics. */
  adminCheck?: boolean;
  /** Admin-check mode only: `with-test` / `with-doc` false (`opam admin check --ignore-test-doc`). */
  ignoreTestDoc?: boolean;
  /**
   * Switch mode: the host's package manager (`--depexts host`). An available package whose depexts
   * have no candidate in it is not available (opam 2.1's `depexts_unavailable`). Absent or null: the
   * host is not asked.
   */
  systemPackages?: SystemPackageManager | null;
  /**
   * The ways around the optimisation loop, all on by default (the same solutions; tests turn them off
   * to compare): `proof`, a cheap proof that the first installation is optimal; `sharing`, another
   * target's optimum reused when it is provably the optimum (`Universe.sharedOptimum`); `cores`, a lower
   * bound from unsatisfiable cores that ends the loop without its last, proving, solve, or with the
   * optimal installation the cores found (`CoreLowerBound`).
   */
  optimisationShortcuts?: { proof?: boolean; sharing?: boolean; cores?: boolean };
}

export interface TargetResult {
  pkg: OpamPackage;
  outcome: SolveOutcome;
  /** Installable, but its installation holds this dependency cycle: no build order (`Solution.cycle`). */
  cycle?: string[];
}

export interface PackageSolver {
  readonly invariant: CompilerInvariant | null;
  /** The platform variables in effect (switch mode) or opam admin check's few variables. */
  readonly variables: Readonly<Record<string, string>>;
  solve(target: OpamPackage, opts?: { withTest?: boolean }): SolveOutcome;
  /** Installability only (no solution built): cheaper, for bulk checks. */
  isInstallable(target: OpamPackage): boolean;
  installableTargets(kind: 'latest' | 'all-versions'): TargetResult[];
  /**
   * The installable packages among `targets` whose installation (the one `solve` gives) holds a
   * dependency cycle, each with its cycle: the solver accepts them, but there is no build order.
   */
  dependencyCycles(targets: readonly OpamPackage[]): Map<OpamPackage, string[]>;
  /** Every package of the repository, by name then ascending version. */
  readonly packages: readonly OpamPackage[];
  /** Direct dependency candidates of a package (build and post), for graph walks. */
  dependencyCandidates(pkg: OpamPackage): OpamPackage[];
  readonly stats: {
    conflicts: number;
    decisions: number;
    solves: number;
    learnt: number;
    propagations: number;
    watchVisits: number;
    /** Optimal solutions proved without the optimisation loop (`optimality.ts`). */
    proved: number;
    /** Optimal solutions taken from another target's (`Universe.sharedOptimum`). */
    shared: number;
    /** Criteria levels given a lower bound by cores (`CoreLowerBound`), and those it proved optimal. */
    coreBound: number;
    coreProved: number;
    /** Conflicts spent finding cores (apart from the optimisation loop's budget). */
    coreConflicts: number;
    /** Levels where the cores' optimal installation was taken (the loop then has nothing to improve). */
    coreTaken: number;
    /** Cores taken from earlier targets' optimisations instead of searched for again (`CoreLowerBound`). */
    coreReused: number;
    /** Optimisations that ended at the conflict budget (`OPTIMISATION_CONFLICTS`): the best installation found. */
    budgetHits: number;
  };
}

function adminCheckLookup(pkg: OpamPackage, opamVersion: string, test: boolean, doc: boolean, post: boolean): VariableLookup {
  const globals: Record<string, string> = { 'opam-version': opamVersion };
  const flags: DependencyFlags = { build: true, post, test, doc, devSetup: false, dev: false };
  const inner = packageLookup(pkg, globals, flags);
  // opam 2.1 does not know with-dev-setup: undefined, which filters the dependency out just the same.
  return (packages, variable) => (packages === null && variable === 'with-dev-setup' ? undefined : inner(packages, variable));
}

export function createSolver(load: Pick<RepositoryLoad, 'packages'>, options: SolveOptions): PackageSolver {
  const admin = options.adminCheck === true;
  const globals: Record<string, string> = admin
    ? { 'opam-version': options.env?.['opam-version'] ?? DEFAULT_PLATFORM['opam-version'] }
    : { ...DEFAULT_PLATFORM };
  const invariant = admin ? null : resolveCompilerSpec(load, options.compiler);
  if (!admin && invariant !== null) {
    // sys-ocaml-* exist only for a system compiler (the version of the chosen ocaml-system).
    const sys = invariant.candidates.find((p) => p.name === 'ocaml-system');
    if (sys !== undefined) {
      Object.assign(globals, {
        'sys-ocaml-version': sys.version,
        'sys-ocaml-arch': 'x86_64',
        'sys-ocaml-cc': 'cc',
        'sys-ocaml-libc': 'libc',
      });
    }
    Object.assign(globals, options.env ?? {});
  }
  const testDoc = admin && options.ignoreTestDoc !== true;
  const platformVerdicts = new Map<OpamPackage, boolean>();
  const availableOnPlatform = (p: OpamPackage): boolean => {
    let ok = platformVerdicts.get(p);
    if (ok === undefined) platformVerdicts.set(p, (ok = evalFilterToBool(p.available, packageLookup(p, globals, null), false)));
    return ok;
  };
  // The depexts verdict, a pre-filter on the available packages: the host is asked once per universe
  // encoded, for the packages it holds (a one-package solve asks about its cone only, not the 18k
  // packages of the repository: a second and every package's fields decoded).
  const host = admin ? null : (options.systemPackages ?? null);
  const depextBlocked = new Map<OpamPackage, string[]>();
  const depextsAsked = new Set<OpamPackage>();
  const askDepexts = (byName: ReadonlyMap<string, readonly OpamPackage[]>): void => {
    if (host === null) return;
    const fresh = [...byName.values()].flat().filter((p) => !depextsAsked.has(p));
    for (const p of fresh) depextsAsked.add(p);
    const found = depextsUnavailable(
      fresh.filter(availableOnPlatform),
      (p) => requiredSystemPackages(p, packageLookup(p, globals, null)),
      host,
    );
    for (const [p, missing] of found) depextBlocked.set(p, missing);
  };
  const withDepextReasons = depextReasonRewriter(depextBlocked, host);
  const rules: UniverseRules = admin
    ? {
        dependencyLookup: (p, _withTest, post) => adminCheckLookup(p, globals['opam-version'], testDoc, testDoc, post),
        isAvailable: () => true,
        testEverywhere: testDoc,
        conflictClasses: false,
      }
    : {
        dependencyLookup: (p, withTest, post) =>
          packageLookup(p, globals, { build: true, post, test: withTest, doc: false, devSetup: false, dev: isDevPackage(p) }),
        isAvailable: (p) => availableOnPlatform(p) && !depextBlocked.has(p),
        testEverywhere: false,
        conflictClasses: true,
      };
  const packagesByName = load.packages as Map<string, OpamPackage[]>;
  /** Available unless the host lacks its depexts (asked only for the universes encoded). */
  const mayBeAvailable = admin ? () => true : availableOnPlatform;
  const invariantFormula = invariant === null ? null : invariant.formula;

  /** One encoded universe with what its queries remember (verdicts, build edges, reasons). */
  const contextOf = (universe: Universe) => {
    const verdicts = new Int8Array(universe.size); // 0 unknown, 1 installable, -1 not
    const installableIdx = (i: number): boolean => {
      if (verdicts[i] === 0) {
        if (!universe.available[i] || universe.isFixedFalse(i)) verdicts[i] = -1;
        else {
          const sol = universe.solveTarget(i, false);
          verdicts[i] = sol === null ? -1 : 1;
          // Every member of an installation is installable.
          if (sol !== null) for (const j of sol) verdicts[j] = 1;
        }
      }
      return verdicts[i] === 1;
    };
    /**
     * Every verdict of `targets` before any reason is built. Each target is first looked for without
     * search (`extendToInstallation`: in the last installation found, its own version swapped in and
     * what is missing added greedily, then the same from the forced packages alone; each checked by the
     * problem's rules): the next version of a name usually fits where the previous one did, which saves
     * three searches in four on the whole repository. A search is run only when both fail. After the
     * whole pass the solver's level-0 facts are exactly the uninstallable packages (and the forced ones
     * are the backbone), so the reasons built from them do not depend on the order of the verdicts.
     */
    const verdictPass = (targets: readonly number[]): void => {
      let last: number[] | null = null;
      for (const i of targets) {
        if (verdicts[i] !== 0) continue;
        if (!universe.available[i] || universe.isFixedFalse(i)) {
          verdicts[i] = -1;
          continue;
        }
        const found: number[] | null =
          (last === null ? null : universe.extendToInstallation(last, i, true)) ??
          universe.extendToInstallation(universe.forcedPackages(), i);
        if (found !== null) {
          for (const j of found) verdicts[j] = 1;
          last = found;
          continue;
        }
        const sol = universe.solveTarget(i, false);
        verdicts[i] = sol === null ? -1 : 1;
        if (sol !== null) {
          for (const j of sol) verdicts[j] = 1;
          last = sol;
        }
      }
    };
    const explainer = new Explainer(universe, installableIdx, invariant === null ? null : invariant.text);
    // When the compiler itself cannot be installed, that is the reason for every target.
    const invariantProblem = invariant === null || universe.invariantSatisfiable() ? null : brokenInvariantReason(universe, invariant);
    const edgesCache = new Map<number, BuildEdges>();
    const edgesOf = (i: number, withTest: boolean): BuildEdges => {
      const cached = withTest ? undefined : edgesCache.get(i);
      if (cached !== undefined) return cached;
      const p = universe.packages[i];
      const lookup = rules.dependencyLookup(p, withTest || rules.testEverywhere, false);
      const e = buildEdges(filterDependencyFormula(p.depends, lookup, false), filterDependencyFormula(p.depopts, lookup, false));
      if (!withTest) edgesCache.set(i, e);
      return e;
    };
    const indexOf = (p: OpamPackage): number => {
      const i = universe.indexById.get(packageId(p));
      if (i === undefined) throw new Error(`solver: ${packageId(p)} is not in the repository`);
      return i;
    };
    /** The target's installation, or with `explain` false null when there is none (no reason built). */
    function solveIdx(t: number, withTest: boolean): SolveOutcome;
    function solveIdx(t: number, withTest: boolean, explain: false): SolveOutcome | null;
    function solveIdx(t: number, withTest: boolean, explain = true): SolveOutcome | null {
      const target = universe.packages[t];
      const testNow = withTest && !rules.testEverywhere;
      if (invariantProblem !== null) return explain ? { installable: false, reason: withDepextReasons(invariantProblem) } : null;
      if (!universe.available[t] || (!testNow && verdicts[t] === -1)) {
        return explain ? { installable: false, reason: withDepextReasons(explainer.why(t)) } : null;
      }
      const sol = universe.solveTarget(t, testNow, true);
      if (sol === null) {
        if (!testNow) verdicts[t] = -1;
        return explain
          ? { installable: false, reason: withDepextReasons(explainer.why(t, testNow ? universe.testSelector(t).clauses : undefined)) }
          : null;
      }
      verdicts[t] = 1;
      for (const j of sol) verdicts[j] = 1;
      const pkgs = sol.map((j) => universe.packages[j]);
      const byPkg = new Map<OpamPackage, number>(sol.map((j) => [universe.packages[j], j]));
      const idOf = (p: OpamPackage) => packageId(p);
      const deps = buildDependencies(pkgs, (p) => edgesOf(byPkg.get(p) as number, testNow && p === target), idOf);
      const solution: Solution = { target, packages: buildOrder(pkgs, deps, idOf), buildDependencies: deps };
      const cycle = dependencyCycle(deps);
      if (cycle !== null) solution.cycle = cycle;
      return { installable: true, solution };
    }
    /**
     * Packages every installation of which holds a dependency cycle (cycle-suspects.ts over the forced
     * build edges: a build dependency with one available candidate), computed when first asked. The
     * repository-wide verbs look only at those; `solve`, `plan` and `check` look at each solution.
     */
    let suspects: Uint8Array | null = null;
    /** The dependency cycle of an installable package's installation (the one `solve` gives), or null. */
    const cycleOf = (i: number): string[] | null => {
      suspects ??= cycleSuspects(
        universe.size,
        (j) => universe.deps[j],
        (j) => {
          const p = universe.packages[j];
          const forced: number[] = [];
          let clauses: DependencyAtom[][];
          try {
            clauses = toCNF(filterDependencyFormula(p.depends, rules.dependencyLookup(p, rules.testEverywhere, false), false));
          } catch (err) {
            if (!(err instanceof FormulaTooLargeError)) throw err;
            return []; // not encoded: not installable, no installation to order
          }
          for (const clause of clauses) {
            const candidates = new Set<number>();
            for (const a of clause) for (const q of universe.matching(a)) if (universe.available[q]) candidates.add(q);
            if (candidates.size === 1) forced.push(...candidates);
          }
          return forced;
        },
      );
      if (suspects[i] === 0 || !installableIdx(i)) return null;
      const o = solveIdx(i, false);
      return o.installable ? (o.solution.cycle ?? null) : null;
    };
    return { universe, verdicts, installableIdx, verdictPass, indexOf, solveIdx, cycleOf };
  };
  type Context = ReturnType<typeof contextOf>;

  // The whole repository is encoded only for queries about all of it (verdicts, every target). A solve
  // before that encodes only what an installation of its target can hold (`solutionCone`): the same
  // solutions, opam's criteria weighing each version against all the versions of its name. A target
  // the cone finds uninstallable is explained on the names its versions can need (`dependencyCone`),
  // whose reasons name every version of a name.
  let full: Context | null = null;
  const encode = (byName: Map<string, OpamPackage[]>, allVersions?: ReadonlyMap<string, readonly OpamPackage[]>): Universe => {
    askDepexts(allVersions === undefined ? byName : new Map([...byName.keys()].map((n) => [n, allVersions.get(n) ?? []])));
    const u = new Universe(byName, rules, invariantFormula, allVersions);
    u.shortcuts = {
      proof: options.optimisationShortcuts?.proof ?? true,
      sharing: options.optimisationShortcuts?.sharing ?? true,
      cores: options.optimisationShortcuts?.cores ?? true,
    };
    return u;
  };
  const fullContext = (): Context => (full ??= contextOf(encode(packagesByName)));
  // Many targets (a plan, a test run) are cheaper on the whole universe than on growing cones.
  let cones = 0;
  let narrow: { roots: OpamPackage[]; tested: Set<OpamPackage>; members: Set<OpamPackage>; context: Context } | null = null;
  /** The cone context holding `target` (with its tests when asked), or null once the whole universe is in use. */
  const narrowFor = (target: OpamPackage, withTest: boolean): Context | null => {
    if (full !== null) return null;
    const test = withTest && !rules.testEverywhere;
    if (narrow !== null && narrow.members.has(target) && (!test || narrow.tested.has(target))) return narrow.context;
    if (++cones > 2) return null;
    const roots = [...(narrow?.roots ?? []), target];
    const tested = new Set(narrow?.tested ?? []);
    if (test) tested.add(target);
    const byName = solutionCone(packagesByName, rules, mayBeAvailable, invariantFormula, roots, tested);
    const members = new Set([...byName.values()].flat());
    narrow = { roots, tested, members, context: contextOf(encode(byName, packagesByName)) };
    return narrow.context;
  };
  let wide: { names: Set<string>; context: Context } | null = null;
  const wideFor = (target: OpamPackage): Context => {
    if (full !== null) return full;
    if (wide !== null && wide.names.has(target.name)) return wide.context;
    if (++cones > 2) return fullContext();
    const names = dependencyCone(packagesByName, [
      target.name,
      ...(wide?.names ?? []),
      ...(invariantFormula === null ? [] : atoms(invariantFormula).map((a) => a.name)),
    ]);
    wide = {
      names,
      context: contextOf(encode(new Map([...names].filter((n) => packagesByName.has(n)).map((n) => [n, packagesByName.get(n) ?? []])))),
    };
    return wide.context;
  };

  /**
   * `all-versions`: every package. `latest`: per name, the newest installable version, or the newest
   * version (with its reason) when none is installable — as the planner's target selection reads it.
   */
  const targetsOf = (ctx: Context, kind: 'latest' | 'all-versions'): number[] => {
    const out: number[] = [];
    for (const idx of ctx.universe.byName.values()) {
      if (idx.length === 0) continue;
      if (kind === 'all-versions') out.push(...idx);
      else {
        let pick = idx[idx.length - 1];
        for (let k = idx.length - 1; k >= 0; k--) {
          if (ctx.installableIdx(idx[k])) {
            pick = idx[k];
            break;
          }
        }
        out.push(pick);
      }
    }
    return out;
  };

  /**
   * The outcome of a target among many, its solution computed when first read: the verdict is what
   * `installable` needs, and a solution (opam's optimum) costs more than the verdict.
   */
  const lazyOutcome = (ctx: Context, i: number, withTest: boolean): SolveOutcome => {
    if (withTest || !ctx.installableIdx(i)) return ctx.solveIdx(i, withTest);
    let solved: SolveOutcome | null = null;
    const solution = () => {
      solved ??= ctx.solveIdx(i, withTest);
      if (!solved.installable) throw new Error(`solver: ${packageId(ctx.universe.packages[i])} has a verdict but no solution`);
      return solved.solution;
    };
    return Object.defineProperty({ installable: true }, 'solution', { get: solution, enumerable: true }) as SolveOutcome;
  };

  // By name, then ascending version: the loader's lists are in ascending order already.
  let packages: OpamPackage[] | null = null;

  return {
    invariant,
    variables: globals,
    // Every package: built when first read (a one-package solve never reads it, nor the repository whole).
    get packages() {
      return (packages ??= [...packagesByName.keys()].sort().flatMap((n) => packagesByName.get(n) ?? []));
    },
    solve: (target, opts) => {
      const withTest = opts?.withTest ?? options.withTest ?? false;
      const cone = narrowFor(target, withTest);
      if (cone !== null) {
        const out = cone.solveIdx(cone.indexOf(target), withTest, false);
        if (out !== null) return out;
      }
      const ctx = wideFor(target);
      return ctx.solveIdx(ctx.indexOf(target), withTest);
    },
    isInstallable: (target) => {
      const ctx = fullContext();
      return ctx.installableIdx(ctx.indexOf(target));
    },
    installableTargets: (kind) => {
      const ctx = fullContext();
      const withTest = options.withTest ?? false;
      const targets = targetsOf(ctx, kind);
      if (kind === 'all-versions') ctx.verdictPass(targets);
      return targets.map((i) => {
        const cycle = ctx.cycleOf(i);
        const r: TargetResult = { pkg: ctx.universe.packages[i], outcome: lazyOutcome(ctx, i, withTest) };
        if (cycle !== null) r.cycle = cycle;
        return r;
      });
    },
    dependencyCycles: (targets) => {
      const ctx = fullContext();
      const out = new Map<OpamPackage, string[]>();
      for (const p of targets) {
        const cycle = ctx.cycleOf(ctx.indexOf(p));
        if (cycle !== null) out.set(p, cycle);
      }
      return out;
    },
    dependencyCandidates: (pkg) => {
      const ctx = fullContext();
      const i = ctx.indexOf(pkg);
      const seen = new Set<number>();
      for (const d of ctx.universe.deps[i]) for (const c of d.candidates) seen.add(c);
      return [...seen].sort((a, b) => a - b).map((j) => ctx.universe.packages[j]);
    },
    get stats() {
      const u = (full ?? narrow?.context ?? wide?.context ?? fullContext()).universe;
      const s = u.sat.stats;
      return {
        conflicts: s.conflicts,
        decisions: s.decisions,
        solves: s.solves,
        learnt: s.learnt,
        propagations: s.propagations,
        watchVisits: s.watchVisits,
        proved: u.stats.proved,
        shared: u.stats.shared,
        coreBound: u.stats.coreBound,
        coreProved: u.stats.coreProved,
        coreConflicts: u.stats.coreConflicts,
        coreTaken: u.stats.coreTaken,
        coreReused: u.stats.coreReused,
        budgetHits: u.stats.budgetHits,
      };
    },
  };
}

/**
 * The explainer names a package dropped for its depexts as "not available (available: …)"; this puts
 * the depexts the host has no candidate for in that place.
 */
function depextReasonRewriter(blocked: ReadonlyMap<OpamPackage, string[]>, host: SystemPackageManager | null): (reason: string) => string {
  // `blocked` grows as universes are encoded: the index follows it.
  let byId = new Map<string, { p: OpamPackage; missing: string[] }>();
  return (reason) => {
    if (blocked.size === 0 || host === null) return reason;
    if (byId.size !== blocked.size) byId = new Map([...blocked].map(([p, missing]) => [packageId(p), { p, missing }]));
    let out = reason;
    for (const m of reason.matchAll(/(\S+) is not available \(available: /g)) {
      const b = byId.get(m[1]);
      if (b === undefined) continue;
      const said = `${m[1]} is not available (available: ${printFilter(b.p.available)})`;
      out = out.split(said).join(depextsUnavailableReason(m[1], b.missing, host));
    }
    return out;
  };
}

/**
 * The names an installation of packages of `roots` can contain: the roots and every name their
 * versions mention in `depends:` or `depopts:` (whatever the filter), transitively.
 */
export function dependencyCone(packagesByName: ReadonlyMap<string, readonly OpamPackage[]>, roots: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const p of packagesByName.get(name) ?? [])
      for (const a of [...atoms(p.depends), ...atoms(p.depopts)]) if (!seen.has(a.name)) queue.push(a.name);
  }
  return seen;
}

/**
 * The packages an installation of `roots` (with the invariant) can hold, by name: the invariant's
 * candidates, the roots, and, transitively, the versions matching the dependency formulas of those
 * reached, filtered as the universe filters them (`with-test` only for the `tested` roots). Left out
 * are the packages no installation can hold: not available, or excluded by the invariant — another
 * version of a name it forces, a conflict (declared either way, or by `conflict-class`) with a
 * package it forces, a dependency none of whose candidates is left — and so the dependencies only
 * they have.
 *
 * The same solutions: every installation holds the invariant's forced packages, and its packages
 * reached from the roots and the invariant through the dependencies they meet form an installation
 * (the others are never needed), no costlier under opam's criteria, made of cone packages; an
 * installation of cone packages is one of the whole repository (what lies outside is not installed,
 * so its dependencies and conflicts do not bind). `version-lag`, read among all the versions of a
 * name, is computed on the whole repository's lists (`Universe`'s `allVersions`).
 */
export function solutionCone(
  packagesByName: ReadonlyMap<string, readonly OpamPackage[]>,
  rules: UniverseRules,
  mayBeAvailable: (p: OpamPackage) => boolean,
  invariant: Formula<DependencyAtom> | null,
  roots: readonly OpamPackage[],
  tested: ReadonlySet<OpamPackage>,
): Map<string, OpamPackage[]> {
  const matchCache = new Map<string, readonly OpamPackage[]>();
  const matching = (a: DependencyAtom): readonly OpamPackage[] => {
    const key = `${a.name} ${constraintKey(a.constraint)}`;
    let out = matchCache.get(key);
    if (out === undefined)
      matchCache.set(key, (out = (packagesByName.get(a.name) ?? []).filter((p) => versionSatisfies(p.version, a.constraint))));
    return out;
  };
  // A formula too large for a CNF (formula.ts NORMAL_FORM_LIMIT) counts with all its atoms: a cone larger than needed, never smaller.
  const cnfOrAtoms = (f: Formula<DependencyAtom>): DependencyAtom[][] => {
    try {
      return toCNF(f);
    } catch (err) {
      if (!(err instanceof FormulaTooLargeError)) throw err;
      return [atoms(f)];
    }
  };
  const clausesOf = (p: OpamPackage, test: boolean): DependencyAtom[][] =>
    cnfOrAtoms(filterDependencyFormula(p.depends, rules.dependencyLookup(p, test || rules.testEverywhere, true), false));
  const conflictAtomsOf = (p: OpamPackage): DependencyAtom[] =>
    cnfOrAtoms(filterDependencyFormula(p.conflicts, rules.dependencyLookup(p, rules.testEverywhere, true), false)).flat();

  // What the invariant forces: a clause of the invariant, or of a forced package's dependencies, with
  // one possible candidate left.
  const forced = new Map<string, OpamPackage>();
  const forcedConflicts: DependencyAtom[] = [];
  const forcedClasses = new Map<string, string>();
  const excludedNow = (p: OpamPackage): boolean => {
    const f = forced.get(p.name);
    if (f !== undefined) return f !== p;
    for (const a of forcedConflicts) if (a.name === p.name && versionSatisfies(p.version, a.constraint)) return true;
    if (rules.conflictClasses) {
      for (const c of p.conflictClass) {
        const n = forcedClasses.get(c);
        if (n !== undefined && n !== p.name) return true;
      }
    }
    for (const a of conflictAtomsOf(p)) {
      const g = forced.get(a.name);
      if (g !== undefined && versionSatisfies(g.version, a.constraint)) return true;
    }
    return false;
  };
  const candidatesOf = (clause: DependencyAtom[], possible: (p: OpamPackage) => boolean): OpamPackage[] => {
    const out = new Set<OpamPackage>();
    for (const a of clause) for (const p of matching(a)) if (possible(p)) out.add(p);
    return [...out];
  };
  const invariantClauses = invariant === null ? [] : toCNF(invariant);
  const possibleNow = (p: OpamPackage) => mayBeAvailable(p) && !excludedNow(p);
  for (let changed = true; changed;) {
    changed = false;
    const clauses = [...invariantClauses, ...[...forced.values()].flatMap((f) => clausesOf(f, false))];
    for (const clause of clauses) {
      const cands = candidatesOf(clause, possibleNow);
      if (cands.length !== 1 || forced.get(cands[0].name) === cands[0]) continue;
      if (forced.has(cands[0].name)) break; // two versions of a name forced: no installation at all
      const f = cands[0];
      forced.set(f.name, f);
      forcedConflicts.push(...conflictAtomsOf(f));
      for (const c of rules.conflictClasses ? f.conflictClass : []) if (!forcedClasses.has(c)) forcedClasses.set(c, f.name);
      changed = true;
      break;
    }
  }
  const possibleMemo = new Map<OpamPackage, boolean>();
  const possible = (p: OpamPackage): boolean => {
    let ok = possibleMemo.get(p);
    if (ok === undefined) possibleMemo.set(p, (ok = possibleNow(p)));
    return ok;
  };

  const members = new Set<OpamPackage>();
  const kept = new Set<OpamPackage>([...roots, ...invariantClauses.flatMap((c) => candidatesOf(c, () => true))]);
  const queue: [OpamPackage, boolean][] = [...kept].map((p) => [p, false]);
  for (const p of tested) if (!rules.testEverywhere) queue.push([p, true]);
  const done = [new Set<OpamPackage>(), new Set<OpamPackage>()];
  while (queue.length > 0) {
    const [p, test] = queue.pop() as [OpamPackage, boolean];
    const seen = done[test ? 1 : 0];
    if (seen.has(p)) continue;
    seen.add(p);
    if (kept.has(p)) members.add(p);
    if (!possible(p)) continue;
    const cands = clausesOf(p, test).map((c) => candidatesOf(c, possible));
    if (cands.some((c) => c.length === 0)) continue;
    members.add(p);
    for (const c of cands) for (const q of c) if (!done[0].has(q)) queue.push([q, false]);
  }
  const out = new Map<string, OpamPackage[]>();
  for (const name of new Set([...members].map((p) => p.name)))
    out.set(
      name,
      (packagesByName.get(name) ?? []).filter((p) => members.has(p)),
    );
  return out;
}

/** Why no installation holds the compiler: its candidates' own obvious failures. */
function brokenInvariantReason(u: Universe, invariant: CompilerInvariant): string {
  const why = invariant.candidates.map((p) => {
    const i = u.indexById.get(packageId(p));
    if (i === undefined) return `${packageId(p)} is not in the repository`;
    if (!u.available[i]) return `${packageId(p)} is not available (available: ${printFilter(p.available)})`;
    const missing = u.deps[i].find((d) => d.candidates.length === 0);
    if (missing !== undefined) return `${packageId(p)} requires ${missing.atoms.map((a) => a.name).join(' | ')}, which no package provides`;
    return `${packageId(p)} has no installation`;
  });
  return `the compiler ${invariant.text} cannot be installed: ${why.join('; ')}`;
}

/** The invariant's formula type, re-exported for callers printing it. */
export type InvariantFormula = Formula<DependencyAtom>;
