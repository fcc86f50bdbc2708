/**
 * Reverse dependencies: the packages whose installable latest version depends on NAME, directly or
 * through others, as `opam list --depends-on NAME --installable [--recursive] [--with-test]` reads
 * dependencies (opam 2.1, `OpamListCommand.apply_selector`, `Depends_on`):
 *
 * - a package P depends on NAME when its `depends:`, filtered as opam's default dependency toggles
 *   do (`default_dependency_toggles`: build dependencies, not `{post}` ones, `with-test` only with
 *   `withTest`, no `with-doc`; `dev` as the solver sets it), is verified by a version of NAME
 *   (`OpamFormula.verifies`: in the formula's disjunctive normal form, some conjunction naming NAME
 *   holds for that version, the atoms of other names dropped);
 * - `depopts:` count only with `depopts` (opam's `--depopts`; off by default, as in opam: an optional
 *   dependency is built against only when something else installs it);
 * - "installable latest version": per name, the newest installable version (the version a `--latest`
 *   run builds); a name with none is left out (`--installable`);
 * - with `depth` N > 1, the packages depending so on a package found at depth N-1 (its selected
 *   version), breadth first; Infinity follows the whole cone (opam's `--recursive`).
 *
 * Post dependencies are left out because they are not part of the build: a package depending on NAME
 * only `{post}` keeps its job key when NAME changes. The result is in a deterministic order: by depth,
 * then by name. NAME itself is not in it.
 */
import type { OpamPackage } from '../opam/package-model.js';
import { filterDependencyFormula, type DependencyAtom } from '../opam/filter.js';
import { ands, andsToList, atoms, FormulaTooLargeError, makeAnd, toDNF } from '../opam/formula.js';
import type { Formula } from '../opam/package-model.js';
import { isDevPackage, packageLookup } from './platform-env.js';
import { versionSatisfies } from './universe.js';
import type { PackageSolver } from './package-solver.js';
import { SolveError } from './solve-error.js';

export interface ReverseDependencyOptions {
  /** 1 (default): direct reverse dependencies; N: up to N steps away; Infinity: all. */
  depth?: number;
  /** `with-test` dependencies count (opam's `--with-test`). */
  withTest?: boolean;
  /** `depopts:` count (opam's `--depopts`). */
  depopts?: boolean;
}

export interface ReverseDependency {
  /** The package's installable latest version. */
  pkg: OpamPackage;
  /** 1 for a direct reverse dependency of NAME. */
  depth: number;
  /** The names at depth - 1 (NAME at depth 1) it depends on, sorted. */
  via: string[];
}

/** What the search reads of the solver. */
export type ReverseDependencySolver = Pick<PackageSolver, 'packages' | 'isInstallable' | 'variables'>;

/** Throws when NAME is unknown or the depth is not a positive integer (or Infinity). */
export function reverseDependencies(
  solver: ReverseDependencySolver,
  name: string,
  options: ReverseDependencyOptions = {},
): ReverseDependency[] {
  const depth = options.depth ?? 1;
  if (!(depth === Infinity || (Number.isInteger(depth) && depth >= 1)))
    throw new SolveError('not a positive integer', 'input', { setting: 'revdepsDepth', value: String(depth) });
  const withTest = options.withTest === true;
  const depopts = options.depopts === true;

  const byName = new Map<string, OpamPackage[]>();
  for (const p of solver.packages) {
    let list = byName.get(p.name);
    if (!list) byName.set(p.name, (list = []));
    list.push(p);
  }
  if (!byName.has(name)) throw new SolveError('no such package', 'input', { setting: 'revdeps', value: name });

  // Which names mention which, in any version and whatever the filters: the candidates to look at.
  const mentionedBy = new Map<string, Set<string>>();
  for (const [n, versions] of byName) {
    for (const p of versions) {
      for (const a of [...atoms(p.depends), ...(depopts ? atoms(p.depopts) : [])]) {
        if (a.name === n) continue;
        let s = mentionedBy.get(a.name);
        if (!s) mentionedBy.set(a.name, (s = new Set()));
        s.add(n);
      }
    }
  }

  const latest = new Map<string, OpamPackage | null>();
  const latestInstallable = (n: string): OpamPackage | null => {
    let pick = latest.get(n);
    if (pick === undefined) {
      pick = null;
      const versions = byName.get(n) ?? [];
      for (let k = versions.length - 1; k >= 0; k--) {
        if (solver.isInstallable(versions[k])) {
          pick = versions[k];
          break;
        }
      }
      latest.set(n, pick);
    }
    return pick;
  };

  const formulaOf = (p: OpamPackage): Formula<DependencyAtom> => {
    const lookup = packageLookup(p, solver.variables, {
      build: true,
      post: false,
      test: withTest,
      doc: false,
      devSetup: false,
      dev: isDevPackage(p),
    });
    const deps = filterDependencyFormula(p.depends, lookup, false);
    return depopts ? makeAnd(deps, filterDependencyFormula(p.depopts, lookup, false)) : deps;
  };

  const found = new Map<string, ReverseDependency>();
  /** The versions of each name at the previous depth that a dependency must accept. */
  let frontier = new Map<string, string[]>([[name, (byName.get(name) ?? []).map((p) => p.version)]]);
  for (let d = 1; d <= depth && frontier.size > 0; d++) {
    const candidates = new Set<string>();
    for (const f of frontier.keys()) for (const c of mentionedBy.get(f) ?? []) if (c !== name && !found.has(c)) candidates.add(c);
    const next = new Map<string, string[]>();
    for (const c of [...candidates].sort()) {
      const pkg = latestInstallable(c);
      if (pkg === null) continue;
      const formula = formulaOf(pkg);
      const named = new Set(atoms(formula).map((a) => a.name));
      const via = [...frontier]
        .filter(([f, versions]) => named.has(f) && versions.some((v) => verifies(formula, f, v)))
        .map(([f]) => f)
        .sort();
      if (via.length === 0) continue;
      found.set(c, { pkg, depth: d, via });
      next.set(c, [pkg.version]);
    }
    frontier = next;
  }
  return [...found.values()].sort((a, b) => a.depth - b.depth || (a.pkg.name < b.pkg.name ? -1 : a.pkg.name > b.pkg.name ? 1 : 0));
}

/**
 * `OpamFormula.verifies`: the formula's conjunctions (DNF) that name `name`, with the other names'
 * atoms dropped; true when one of them holds for `version`. `depends: ["a" | "b"]` depends on `a`
 * (and on `b`): opam lists it for either.
 */
export function verifies(formula: Formula<DependencyAtom>, name: string, version: string): boolean {
  // Conjuncts that do not name it drop out of every conjunction of the DNF: leaving them out first
  // keeps the DNF small (its size is the product of the conjuncts' alternatives).
  const relevant = ands(andsToList(formula).filter((c) => atoms(c).some((a) => a.name === name)));
  let conjunctions: DependencyAtom[][];
  try {
    conjunctions = toDNF(relevant);
  } catch (err) {
    if (!(err instanceof FormulaTooLargeError)) throw err;
    // Too large a DNF: each atom naming it on its own (it may be listed where opam would not).
    conjunctions = atoms(relevant).map((a) => [a]);
  }
  return conjunctions.some((conj) => {
    const mine = conj.filter((a) => a.name === name);
    return mine.length > 0 && mine.every((a) => versionSatisfies(version, a.constraint));
  });
}
