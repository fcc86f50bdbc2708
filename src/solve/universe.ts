/**
 * The SAT encoding of a repository (opam's CUDF universe, `OpamSolver.load_cudf_universe`): one
 * variable per package version, and
 * - `depends` (build and post dependencies, filtered for the platform) in conjunctive normal form:
 *   `¬p ∨ candidates…` per conjunct, each candidate list ordered by preference;
 * - `conflicts`: `¬p ∨ ¬q` for every version q matching a conflict atom;
 * - at most one version per name, and at most one package per `conflict-class`;
 * - `available:` false → `¬p`;
 * - the switch invariant (the compiler) as clauses over candidates that hold in every solution.
 * `depopts` are never forced. The universe is encoded once; each query solves under the assumption
 * "target installed", reusing learned clauses.
 *
 * A solution is opam's (2.1.2, builtin mccs) for `opam install TARGET` on a fresh switch holding the
 * compiler: the installation minimising, in this order, the packages removed from the switch, the
 * `avoid-version` packages it adds, the version lag of the target, the summed version lag of the
 * packages it adds (`version-lag`: how many available versions of the name are newer, avoid-versions
 * counted as newest) and the number of packages it adds (opam's default criteria
 * `-removed,-count[avoid-version,changed],-count[version-lag,request],-count[version-lag,changed],
 * -count[missing-depexts,changed],-changed`; depexts are not looked at here). The criteria are one
 * weight per package (`criteriaWeights`), minimised exactly by the SAT core's objective bound; a
 * lower bound from unsatisfiable cores (`core-lower-bound.ts`) ends each level's loop as soon as its
 * installation meets it.
 */
import { isAvoidVersion, type OpamPackage, type Formula } from '../opam/package-model.js';
import { filterDependencyFormula, checkRelop, type DependencyAtom, type VariableLookup, type VersionConstraint } from '../opam/filter.js';
import { atoms, evalFormula, FormulaTooLargeError, toCNF } from '../opam/formula.js';
import { compareVersions } from '../opam/version.js';
import { CONFLICT, SatSolver, negLit, posLit, type Brancher, type Lit } from './sat.js';
import { OptimalityProof, type ProofUniverse } from './optimality.js';
import { CoreLowerBound } from './core-lower-bound.js';

/** How the universe reads each package. */
export interface UniverseRules {
  /** Lookup for `depends` / `depopts` / `conflicts` filters, with the given `with-test` value. */
  dependencyLookup(pkg: OpamPackage, withTest: boolean, post: boolean): VariableLookup;
  /** Whether the package may be installed at all (`available:`), or why not. */
  isAvailable(pkg: OpamPackage): boolean;
  /** Whether `with-test` is true for every package (opam admin check's default), not only targets. */
  testEverywhere: boolean;
  /**
   * Whether `conflict-class` counts. A switch's universe turns classes into conflicts
   * (`OpamSwitchState.get_conflicts`); `opam admin check` reads only `conflicts:` and ignores them.
   */
  conflictClasses: boolean;
}

/** One conjunct of a package's dependencies: the atoms as written, and their candidates. */
export interface DependencyClause {
  atoms: DependencyAtom[];
  /** Candidate package indices, most preferred first (newest, `avoid-version` last). */
  candidates: Int32Array;
  /** The index of the one name of every candidate (`Universe.nameIndex`), or -1 (several names, or none). */
  name: number;
}

export function versionSatisfies(version: string, constraint: Formula<VersionConstraint>): boolean {
  return evalFormula(constraint, (c) => checkRelop(c.op, compareVersions(version, c.version)));
}

/** A compact key of a version constraint formula (for memoising candidates). */
export function constraintKey(f: Formula<VersionConstraint>): string {
  switch (f.kind) {
    case 'empty':
      return '';
    case 'atom':
      return f.atom.op + f.atom.version;
    case 'block':
      return `(${constraintKey(f.inner)})`;
    case 'and':
      return `(${constraintKey(f.left)}&${constraintKey(f.right)})`;
    case 'or':
      return `(${constraintKey(f.left)}|${constraintKey(f.right)})`;
  }
}

/** Lexicographic order of criteria costs. */
function lexLess(a: readonly number[], b: readonly number[]): boolean {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return a[k] < b[k];
  return false;
}

/**
 * Conflicts the optimisation of one solution may spend before the best installation found so far is
 * taken (opam's `solver-timeout`, 60 s, does the same with time; a conflict count is deterministic).
 * No solve of the oracle packages comes near it (dream, the hardest, needs a few thousand).
 */
export const OPTIMISATION_CONFLICTS = 20000;

/** Conflicts one level's core lower bound (`CoreLowerBound`) may spend; they do not count in the loop's budget. */
const CORE_CONFLICTS = 2000;

/** Decisions between two checks of the criteria's lower bound (`Universe.boundConflict`). */
const LOWER_BOUND_EVERY = 8;

/** The criteria levels of a solution, in opam's order: each is a weighted sum over the added packages. */
export const CRITERIA = ['avoid-version', 'version-lag', 'count'] as const;

/**
 * Per package, its weight in each level of opam 2.1.2's install criteria: 1 when `avoid-version`
 * (opam 2.1 knows no `deprecated`); its `version-lag`, computed among the available versions of the
 * name as `OpamSolver.opam2cudf` does (normal versions in ascending order, then avoid-versions; lag =
 * how many versions are placed after it); 1 for the count of packages.
 */
export function criteriaWeights(
  packages: readonly OpamPackage[],
  byName: ReadonlyMap<string, readonly number[]>,
  available: Uint8Array,
  outside?: OutsideVersions,
): Float64Array[] {
  const n = packages.length;
  const avoid = new Float64Array(n);
  const lag = new Float64Array(n);
  const count = new Float64Array(n).fill(1);
  for (let i = 0; i < n; i++) avoid[i] = available[i] === 1 && isAvoidVersion(packages[i]) ? 1 : 0;
  for (const [name, idx] of byName) {
    // The name's versions in ascending order, each with its index here, or -1 for one this universe
    // does not hold (a solve's cone): the lag counts the name's other available versions too, as the
    // whole repository's universe does.
    const versions = outside?.versions.get(name);
    let entries: { p: OpamPackage; i: number }[];
    if (versions === undefined || versions.length === idx.length) entries = idx.map((i) => ({ p: packages[i], i }));
    else {
      const here = new Map<OpamPackage, number>(idx.map((i) => [packages[i], i]));
      entries = [...versions].sort((a, b) => compareVersions(a.version, b.version)).map((p) => ({ p, i: here.get(p) ?? -1 }));
    }
    const avail = entries.filter((e) => (e.i >= 0 ? available[e.i] === 1 : outside?.isAvailable(e.p) === true));
    const order = [...avail.filter((e) => !isAvoidVersion(e.p)), ...avail.filter((e) => isAvoidVersion(e.p))];
    order.forEach((e, k) => {
      if (e.i >= 0) lag[e.i] = order.length - k - 1;
    });
  }
  return [avoid, lag, count];
}

/**
 * For a universe encoding only part of a repository: every version of each name (the universe's
 * among them), and whether one the universe lacks is available. opam's `version-lag` is computed
 * among all available versions of a name, installable or not.
 */
export interface OutsideVersions {
  versions: ReadonlyMap<string, readonly OpamPackage[]>;
  isAvailable(p: OpamPackage): boolean;
}

/** The conflicts of the packages that have none (never written: `Universe.addConflict` replaces it). */
const NO_CONFLICTS: ReadonlySet<number> = new Set<number>();

/** The packages matching one atom, most preferred first, and the clause data built from them once. */
interface MatchEntry {
  list: number[];
  clause: { candidates: Int32Array; name: number } | null;
}

export class Universe implements ProofUniverse {
  readonly packages: OpamPackage[] = [];
  /** Package indices per name, ascending version. */
  readonly byName = new Map<string, number[]>();
  readonly indexById = new Map<string, number>();
  /** Per package: the index of its name (names in sorted order). */
  readonly nameIndex: Int32Array;
  readonly available: Uint8Array;
  /** Per package: its dependency clauses (build and post). */
  readonly deps: DependencyClause[][] = [];
  /**
   * Packages whose dependency formula has no CNF ecocheck can hold (formula.ts NORMAL_FORM_LIMIT), with
   * why: not installable (as if not available), the reason says it; one such package stops nothing else.
   */
  readonly unencodable = new Map<number, string>();
  /** Per package: the packages it conflicts with (both directions); most share one empty set. */
  readonly conflicts: ReadonlySet<number>[] = [];
  /** Per package: the conflicts it declares itself (atoms, and the matching packages). */
  readonly declaredConflicts: { atoms: DependencyAtom[]; packages: number[] }[] = [];
  /** The invariant's clauses (the compiler): candidates, one of which every solution holds. */
  readonly invariant: DependencyClause[] = [];
  readonly conflictClasses = new Map<string, number[]>();
  readonly sat = new SatSolver();
  /** Preference rank of each package within its name (0 = most preferred). */
  private readonly rank: Int32Array;
  /** Lazily built with-test clauses for targets: index → clauses, and the selector variable. */
  private readonly testDeps = new Map<number, { clauses: DependencyClause[]; selector: number }>();
  /** Set while solving a target with its tests. */
  private activeTest: { pkg: number; clauses: DependencyClause[] } | null = null;
  private scanPos = 0;
  private scanEpoch = -1;
  /** The solver's fact count when the scan started (`brancher`): new facts restart it. */
  private scanFacts = -1;
  /** The switch's own packages (the invariant's optimal installation), once computed. */
  private base: number[] | null = null;

  constructor(
    packagesByName: Map<string, OpamPackage[]>,
    private readonly rules: UniverseRules,
    invariant: Formula<DependencyAtom> | null,
    /** Every version of each name, when `packagesByName` holds only some (for `version-lag`). */
    allVersions?: ReadonlyMap<string, readonly OpamPackage[]>,
  ) {
    const names = [...packagesByName.keys()].sort();
    for (const name of names) {
      const versions = [...(packagesByName.get(name) ?? [])].sort((a, b) => compareVersions(a.version, b.version));
      const idx: number[] = [];
      for (const p of versions) {
        const i = this.packages.length;
        this.packages.push(p);
        this.indexById.set(`${p.name}.${p.version}`, i);
        idx.push(i);
      }
      this.byName.set(name, idx);
    }
    const n = this.packages.length;
    this.nameIndex = new Int32Array(n);
    [...this.byName.values()].forEach((idx, k) => {
      for (const i of idx) this.nameIndex[i] = k;
    });
    this.rank = new Int32Array(n);
    for (const idx of this.byName.values()) {
      const ordered = [...idx].sort((a, b) => {
        const av = isAvoidVersion(this.packages[a]) ? 1 : 0;
        const bv = isAvoidVersion(this.packages[b]) ? 1 : 0;
        return av - bv || b - a;
      });
      ordered.forEach((i, r) => (this.rank[i] = r));
    }
    for (let i = 0; i < n; i++) this.sat.newVar();
    this.available = new Uint8Array(n);

    // Availability, dependencies, conflicts.
    for (let i = 0; i < n; i++) {
      const p = this.packages[i];
      this.conflicts.push(NO_CONFLICTS);
      const ok = rules.isAvailable(p);
      this.available[i] = ok ? 1 : 0;
      const deps = this.dependencyClauses(p, rules.testEverywhere);
      if (deps instanceof FormulaTooLargeError) {
        this.unencodable.set(i, `depends: ${deps.message}`);
        this.available[i] = 0;
      }
      this.deps.push(deps instanceof FormulaTooLargeError ? [] : deps);
    }
    for (let i = 0; i < n; i++) {
      const p = this.packages[i];
      const declared: { atoms: DependencyAtom[]; packages: number[] } = { atoms: [], packages: [] };
      if (p.conflicts.kind === 'empty') {
        // Most packages declare no conflict: nothing to filter (the lookup and the filtering cost more than the rest).
        this.declaredConflicts.push(declared);
        this.addConflictClasses(p, i);
        continue;
      }
      const lookup = rules.dependencyLookup(p, rules.testEverywhere, true);
      const conflicts = filterDependencyFormula(p.conflicts, lookup, false);
      // Every atom of the conflicts counts (CNF or not: the same atoms), so a formula too large for a CNF is read atom by atom.
      let conflictClauses: DependencyAtom[][];
      try {
        conflictClauses = toCNF(conflicts);
      } catch (err) {
        if (!(err instanceof FormulaTooLargeError)) throw err;
        conflictClauses = [atoms(conflicts)];
      }
      for (const clause of conflictClauses) {
        for (const a of clause) {
          declared.atoms.push(a);
          for (const q of this.matching(a)) {
            if (q === i) continue;
            declared.packages.push(q);
            this.addConflict(i, q);
            this.addConflict(q, i);
          }
        }
      }
      this.declaredConflicts.push(declared);
      this.addConflictClasses(p, i);
    }
    for (let i = 0; i < n; i++) {
      if (!this.available[i]) this.sat.addClause([negLit(i + 1)]);
    }
    // One scratch for every clause's literals (the solver copies them) and for the binary conflicts.
    const lits: Lit[] = [];
    const pair: Lit[] = [0, 0];
    for (let i = 0; i < n; i++) {
      const deps = this.deps[i];
      for (let j = 0; j < deps.length; j++) {
        const c = deps[j].candidates;
        lits.length = 0;
        for (let k = 0; k < c.length; k++) lits.push(posLit(c[k] + 1));
        this.sat.addTriggeredClause(i + 1, lits);
      }
      const conflicts = this.conflicts[i];
      if (conflicts === NO_CONFLICTS) continue;
      for (const q of conflicts) {
        if (q <= i) continue;
        pair[0] = negLit(i + 1);
        pair[1] = negLit(q + 1);
        this.sat.addClause(pair);
      }
    }
    for (const idx of this.byName.values()) if (idx.length > 1) this.sat.addAtMostOne(idx.map((i) => i + 1));
    for (const members of this.conflictClasses.values()) {
      const names = new Set(members.map((i) => this.packages[i].name));
      if (names.size > 1) this.sat.addAtMostOne(members.map((i) => i + 1));
    }
    this.initDeadPropagation();
    if (invariant !== null) {
      for (const clause of toCNF(invariant)) {
        const d = this.clauseOf(clause);
        this.invariant.push(d);
        this.sat.addClause(Array.from(d.candidates, (c) => posLit(c + 1)));
      }
    }
    const outside =
      allVersions === undefined ? undefined : { versions: allVersions, isAvailable: (p: OpamPackage) => rules.isAvailable(p) };
    criteriaWeights(this.packages, this.byName, this.available, outside).forEach((weights) => {
      const k = this.sat.addObjective();
      for (let i = 0; i < n; i++) if (weights[i] !== 0) this.sat.setWeight(k, i + 1, weights[i]);
    });
  }

  /** Records that `i` conflicts with `q` (its set made on its first conflict). */
  private addConflict(i: number, q: number): void {
    let set = this.conflicts[i];
    if (set === NO_CONFLICTS) this.conflicts[i] = set = new Set();
    (set as Set<number>).add(q);
  }

  /** Package `i` (`p`) joins the groups of its `conflict-class`es, when they count. */
  private addConflictClasses(p: OpamPackage, i: number): void {
    if (!this.rules.conflictClasses) return;
    for (const cls of p.conflictClass) {
      let members = this.conflictClasses.get(cls);
      if (members === undefined) this.conflictClasses.set(cls, (members = []));
      members.push(i);
    }
  }

  /** Per package: 1 once known uninstallable (a level-0 fact `¬p`). */
  private dead!: Uint8Array;
  /** Per package and clause: how many candidates are not dead. */
  private alive!: Int32Array[];
  /**
   * Per package `q`: the (owner, clause) pairs it is a candidate of, flattened as owner, clause, owner, …
   * in `reversePairs` from `reverseStart[q]` to `reverseStart[q + 1]` (one array for the whole universe:
   * millions of pairs, which per-package lists grew by copying).
   */
  private reverseStart!: Int32Array;
  private reversePairs!: Int32Array;

  /**
   * Backward propagation of uninstallability at level 0, by counters: a package one of whose
   * dependency clauses has only dead candidates is dead. The SAT clauses of dependencies are only
   * watched once their package is tried, so this keeps the facts the lazy watching would miss.
   */
  private initDeadPropagation(): void {
    const n = this.packages.length;
    this.dead = new Uint8Array(n);
    this.alive = new Array<Int32Array>(n);
    const start = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) {
      const cl = this.deps[i];
      for (let k = 0; k < cl.length; k++) {
        const c = cl[k].candidates;
        for (let x = 0; x < c.length; x++) start[c[x] + 1] += 2;
      }
    }
    for (let q = 0; q < n; q++) start[q + 1] += start[q];
    const pairs = new Int32Array(start[n]);
    const fill = start.slice(0, n);
    const initial: number[] = [];
    for (let i = 0; i < n; i++) {
      const cl = this.deps[i];
      const alive = new Int32Array(cl.length);
      let none = false;
      for (let k = 0; k < cl.length; k++) {
        const c = cl[k].candidates;
        alive[k] = c.length;
        if (c.length === 0) none = true;
        for (let x = 0; x < c.length; x++) {
          const f = fill[c[x]];
          pairs[f] = i;
          pairs[f + 1] = k;
          fill[c[x]] = f + 2;
        }
      }
      this.alive[i] = alive;
      if (!this.available[i] || none || this.sat.fixedValue(i + 1) === -1) initial.push(i);
    }
    this.reverseStart = start;
    this.reversePairs = pairs;
    this.markDead(initial);
  }

  /** Records packages known uninstallable and propagates to the packages that need them. */
  markDead(list: number[]): void {
    const queue: number[] = [];
    for (const i of list) {
      if (!this.dead[i]) {
        this.dead[i] = 1;
        queue.push(i);
      }
    }
    while (queue.length > 0) {
      const q = queue.pop() as number;
      if (this.sat.fixedValue(q + 1) !== -1) this.sat.addClause([negLit(q + 1)]);
      const rev = this.reversePairs;
      for (let k = this.reverseStart[q], end = this.reverseStart[q + 1]; k < end; k += 2) {
        const owner = rev[k];
        if (--this.alive[owner][rev[k + 1]] === 0 && !this.dead[owner]) {
          this.dead[owner] = 1;
          queue.push(owner);
        }
      }
    }
  }

  /** Available and not known uninstallable (dead, or false at level 0). */
  private mayBeInstalled(i: number): boolean {
    return this.available[i] === 1 && this.dead[i] === 0 && this.sat.fixedValue(i + 1) !== -1;
  }

  /** Scratch of `isInstallation`: a stamp per package and per name. */
  private memberStamp = new Int32Array(0);
  private nameStamp = new Int32Array(0);
  private installationStamp = 0;

  /**
   * Whether `members` is an installation by the problem's own rules, checked directly (no search):
   * every member available and not known uninstallable, one version per name, every dependency clause
   * of every member (build and post, as encoded) met by a member, no two members in conflict (declared
   * or by class) and every clause of the invariant met. A yes proves every member installable, whatever
   * the solver has learned (its learned clauses follow from these rules). Not for with-test solves.
   */
  isInstallation(members: readonly number[]): boolean {
    const n = this.packages.length;
    if (this.memberStamp.length !== n) {
      this.memberStamp = new Int32Array(n);
      this.nameStamp = new Int32Array(this.byName.size);
    }
    const stamp = ++this.installationStamp;
    const inSet = this.memberStamp;
    for (const m of members) {
      if (!this.mayBeInstalled(m)) return false;
      const name = this.nameIndex[m];
      if (this.nameStamp[name] === stamp) return false;
      this.nameStamp[name] = stamp;
      inSet[m] = stamp;
    }
    const met = (d: DependencyClause): boolean => {
      const c = d.candidates;
      for (let k = 0; k < c.length; k++) if (inSet[c[k]] === stamp) return true;
      return false;
    };
    for (const d of this.invariant) if (!met(d)) return false;
    let classes: Map<string, number> | null = null;
    for (const m of members) {
      const deps = this.deps[m];
      for (let k = 0; k < deps.length; k++) if (!met(deps[k])) return false;
      const conflicts = this.conflicts[m];
      if (conflicts !== NO_CONFLICTS) for (const q of conflicts) if (inSet[q] === stamp) return false;
      if (this.rules.conflictClasses) {
        for (const cls of this.packages[m].conflictClass) {
          classes ??= new Map();
          const other = classes.get(cls);
          if (other !== undefined && other !== this.nameIndex[m]) return false;
          classes.set(cls, this.nameIndex[m]);
        }
      }
    }
    return true;
  }

  /**
   * An installation holding `target`, looked for without search: `base` (an installation) with
   * `target` in place of its name's version, then, for each dependency clause no member meets, its
   * first candidate (most preferred) that fits the members (no other version of its name, no conflict
   * with them) and whose own dependencies each have a member or a candidate that fits; failing that,
   * its first candidate that replaces another version of its name (never the target's), the members
   * that needed the replaced one looked at again. A bounded number of replacements, nothing undone
   * otherwise: null when that fails (a search may still find one). What is returned is checked by
   * `isInstallation`. With `baseIsInstallation` (it is one), only the target and the members that
   * needed the version it replaces are looked at first.
   */
  extendToInstallation(base: readonly number[], target: number, baseIsInstallation = false): number[] | null {
    const n = this.packages.length;
    if (this.extendStamp.length !== n) {
      this.extendStamp = new Int32Array(n);
      this.extendNameStamp = new Int32Array(this.byName.size);
      this.extendHolder = new Int32Array(this.byName.size);
    }
    const stamp = ++this.extendEpoch;
    const inSet = this.extendStamp;
    const nameIn = this.extendNameStamp;
    const holder = this.extendHolder;
    const members: number[] = [];
    const add = (m: number): void => {
      inSet[m] = stamp;
      nameIn[this.nameIndex[m]] = stamp;
      holder[this.nameIndex[m]] = m;
      members.push(m);
    };
    const targetName = this.nameIndex[target];
    let swapped = -1;
    for (const m of base) {
      if (this.nameIndex[m] !== targetName) add(m);
      else swapped = m;
    }
    add(target);
    /** No conflict with a member other than `except`. */
    const peaceful = (c: number, except: number): boolean => {
      const conflicts = this.conflicts[c];
      if (conflicts !== NO_CONFLICTS) for (const q of conflicts) if (q !== except && inSet[q] === stamp) return false;
      return true;
    };
    const fits = (c: number): boolean => nameIn[this.nameIndex[c]] !== stamp && this.mayBeInstalled(c) && peaceful(c, -1);
    const rank = this.rank;
    /** Whether a member meets the clause: for one atom (candidates of one name, by rank), a search for the holder of the name. */
    const met = (d: DependencyClause): boolean => {
      const cs = d.candidates;
      if (d.name >= 0 && d.atoms.length === 1) {
        if (nameIn[d.name] !== stamp) return false;
        const h = holder[d.name];
        const r = rank[h];
        let lo = 0;
        let hi = cs.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (rank[cs[mid]] < r) lo = mid + 1;
          else hi = mid;
        }
        return lo < cs.length && cs[lo] === h;
      }
      for (let x = 0; x < cs.length; x++) if (inSet[cs[x]] === stamp) return true;
      return false;
    };
    // One step ahead: each dependency clause of the candidate is met or has a candidate that fits.
    const looksAhead = (c: number): boolean => {
      const deps = this.deps[c];
      for (let k = 0; k < deps.length; k++) {
        if (met(deps[k])) continue;
        const cs = deps[k].candidates;
        let ok = false;
        for (let x = 0; x < cs.length && !ok; x++) ok = fits(cs[x]);
        if (!ok) return false;
      }
      return true;
    };
    // What to look at: in an installation, only the target and whoever needed the version it replaced
    // (the rest has its dependencies); in anything else, every member.
    const queue: number[] = [];
    /** The members that may have needed `gone`: from its reverse index, or every member when that is longer (dune's is thousands). */
    const lookAgainAfter = (gone: number): void => {
      const start = this.reverseStart[gone];
      const end = this.reverseStart[gone + 1];
      if ((end - start) >> 1 > members.length) {
        for (const m of members) if (inSet[m] === stamp) queue.push(m);
        return;
      }
      for (let x = start; x < end; x += 2) if (inSet[this.reversePairs[x]] === stamp) queue.push(this.reversePairs[x]);
    };
    if (baseIsInstallation) {
      queue.push(target);
      if (swapped >= 0) lookAgainAfter(swapped);
    } else queue.push(...members);
    let replacements = 8;
    while (queue.length > 0) {
      const m = queue.pop() as number;
      if (inSet[m] !== stamp) continue; // replaced meanwhile
      const deps = this.deps[m];
      for (let k = 0; k < deps.length; k++) {
        if (met(deps[k])) continue;
        const cs = deps[k].candidates;
        let added = -1;
        let fallback = -1;
        for (let x = 0; x < cs.length; x++) {
          if (!fits(cs[x])) continue;
          if (looksAhead(cs[x])) {
            added = cs[x];
            break;
          }
          if (fallback < 0) fallback = cs[x];
        }
        if (added < 0) added = fallback;
        if (added >= 0) {
          add(added);
          queue.push(added);
          continue;
        }
        // Another version of a name already held, in place of the member holding it.
        let replaced = -1;
        for (let x = 0; x < cs.length && replaced < 0; x++) {
          const c = cs[x];
          const name = this.nameIndex[c];
          if (nameIn[name] !== stamp || name === targetName || !this.mayBeInstalled(c) || !peaceful(c, holder[name])) continue;
          replaced = holder[name];
          added = c;
        }
        if (added < 0 || --replacements < 0) return null;
        inSet[replaced] = 0;
        add(added);
        queue.push(added, m);
        // Whoever needed the replaced version is looked at again.
        lookAgainAfter(replaced);
        break;
      }
    }
    const out: number[] = [];
    for (const m of members) {
      if (inSet[m] !== stamp) continue;
      inSet[m] = 0; // a member replaced and taken again is listed twice
      out.push(m);
    }
    return this.isInstallation(out) ? out : null;
  }

  private extendStamp = new Int32Array(0);
  private extendNameStamp = new Int32Array(0);
  private extendHolder = new Int32Array(0);
  private extendEpoch = 0;

  /** Whether package `i` can satisfy a clause of the invariant (is a chosen compiler). */
  isInvariantCandidate(i: number): boolean {
    return this.invariant.some((d) => d.candidates.includes(i));
  }

  isDead(i: number): boolean {
    return this.dead[i] === 1;
  }

  get size(): number {
    return this.packages.length;
  }

  /** Package indices matching a dependency atom, most preferred first. */
  matching(a: DependencyAtom): number[] {
    return this.matchEntry(a).list;
  }

  private matchEntry(a: DependencyAtom): MatchEntry {
    // Most atoms have no version constraint: those are found by name alone (no key to build),
    // and those with one constraint by name, then operator and version (no key to build either).
    const bare = a.constraint.kind === 'empty';
    if (bare) {
      const hit = this.bareMatchCache.get(a.name);
      if (hit !== undefined) return hit;
    }
    let byVersion: Map<string, MatchEntry> | undefined;
    if (a.constraint.kind === 'atom') {
      let byOp = this.atomMatchCache.get(a.name);
      if (byOp === undefined) this.atomMatchCache.set(a.name, (byOp = new Map()));
      byVersion = byOp.get(a.constraint.atom.op);
      if (byVersion === undefined) byOp.set(a.constraint.atom.op, (byVersion = new Map()));
      const hit = byVersion.get(a.constraint.atom.version);
      if (hit !== undefined) return hit;
    }
    const key = `${a.name} ${constraintKey(a.constraint)}`;
    const cached = this.matchCache.get(key);
    if (cached !== undefined) {
      if (bare) this.bareMatchCache.set(a.name, cached);
      if (byVersion !== undefined && a.constraint.kind === 'atom') byVersion.set(a.constraint.atom.version, cached);
      return cached;
    }
    const idx = this.byName.get(a.name);
    const out = idx === undefined ? [] : idx.filter((i) => versionSatisfies(this.packages[i].version, a.constraint));
    out.sort((x, y) => this.rank[x] - this.rank[y]);
    const entry: MatchEntry = { list: out, clause: null };
    this.matchCache.set(key, entry);
    if (bare) this.bareMatchCache.set(a.name, entry);
    if (byVersion !== undefined && a.constraint.kind === 'atom') byVersion.set(a.constraint.atom.version, entry);
    return entry;
  }

  /** `matchCache`'s entries of the atoms with one constraint, by name, operator and version. */
  private readonly atomMatchCache = new Map<string, Map<string, Map<string, MatchEntry>>>();

  /** `matchCache`'s entries of the atoms without a version constraint, by name. */
  private readonly bareMatchCache = new Map<string, MatchEntry>();

  /** Candidates per atom (`name` + constraint): many packages share the same requirements. */
  private readonly matchCache = new Map<string, MatchEntry>();

  private clauseOf(atoms: DependencyAtom[]): DependencyClause {
    if (atoms.length === 1) {
      // A one-atom requirement's candidates (never written) are shared by every clause of that atom.
      const e = this.matchEntry(atoms[0]);
      e.clause ??= this.candidatesOf(e.list);
      return { atoms, candidates: e.clause.candidates, name: e.clause.name };
    }
    const seen = new Set<number>();
    const cands: number[] = [];
    for (const a of atoms)
      for (const i of this.matching(a))
        if (!seen.has(i)) {
          seen.add(i);
          cands.push(i);
        }
    const c = this.candidatesOf(cands);
    return { atoms, candidates: c.candidates, name: c.name };
  }

  /** A clause's candidates as stored, with the index of their one name (or -1). */
  private candidatesOf(cands: readonly number[]): { candidates: Int32Array; name: number } {
    let name = cands.length === 0 ? -1 : this.nameIndex[cands[0]];
    for (let k = 1; k < cands.length && name >= 0; k++) if (this.nameIndex[cands[k]] !== name) name = -1;
    return { candidates: Int32Array.from(cands), name };
  }

  private dependencyClauses(p: OpamPackage, withTest: boolean): DependencyClause[] | FormulaTooLargeError {
    const lookup = this.rules.dependencyLookup(p, withTest, true);
    const f = filterDependencyFormula(p.depends, lookup, false);
    try {
      return toCNF(f).map((atoms) => this.clauseOf(atoms));
    } catch (err) {
      if (err instanceof FormulaTooLargeError) return err;
      throw err;
    }
  }

  /** The selector variable that turns on `with-test` dependencies of package `i` (created once). */
  testSelector(i: number): { clauses: DependencyClause[]; selector: number } {
    let t = this.testDeps.get(i);
    if (t === undefined) {
      const withTests = this.dependencyClauses(this.packages[i], true);
      // With its tests, a formula too large to encode is one clause nothing satisfies: not installable so.
      const clauses = withTests instanceof FormulaTooLargeError ? [this.clauseOf([])] : withTests;
      const selector = this.sat.newVar();
      for (const d of clauses) {
        this.sat.addTriggeredClause(selector, [negLit(i + 1), ...Array.from(d.candidates, (c) => posLit(c + 1))]);
      }
      t = { clauses, selector };
      this.testDeps.set(i, t);
    }
    return t;
  }

  /**
   * Solves with `target` installed (and its test dependencies when `withTest`). Returns the installed
   * package indices (sorted), or null when there is no installation. With `optimise`, the installation
   * is opam's choice on a fresh switch (see the file comment): the switch's own packages are kept and
   * the criteria weight of the rest is minimised; without it, the first installation found (for
   * verdicts).
   */
  solveTarget(target: number, withTest: boolean, optimise = false): number[] | null {
    const assumptions: Lit[] = [posLit(target + 1)];
    this.activeTest = null;
    if (withTest && !this.rules.testEverywhere) {
      const t = this.testSelector(target);
      assumptions.push(posLit(t.selector));
      this.activeTest = { pkg: target, clauses: t.clauses };
    }
    try {
      if (!optimise) {
        const r = this.sat.solve(assumptions, this.brancher);
        if (!r.sat) {
          if (!withTest || this.rules.testEverywhere) this.markDead([target]);
          return null;
        }
        return this.model();
      }
      const base = this.baseInstallation();
      if (base !== null) {
        // Kept when possible (opam's first criterion: remove nothing from the switch).
        const kept = this.optimalModel([...assumptions, ...base.map((i) => posLit(i + 1))], target);
        if (kept !== null) return kept;
      }
      const sol = this.optimalModel(assumptions);
      if (sol === null && (!withTest || this.rules.testEverywhere)) this.markDead([target]);
      return sol;
    } finally {
      this.activeTest = null;
    }
  }

  /**
   * The switch's own packages: the optimal installation of the invariant alone (what `opam switch
   * create` installs), weightless afterwards since a fresh switch already has them; null when the
   * invariant has no installation.
   */
  baseInstallation(): number[] | null {
    if (this.base === null) {
      const sol = this.optimalModel([]);
      if (sol === null) return null;
      for (const i of sol) for (let k = 0; k < CRITERIA.length; k++) this.sat.setWeight(k, i + 1, 0);
      this.base = sol;
    }
    return this.base;
  }

  /**
   * The installation opam's criteria prefer under the assumptions, or null: a first model, then, level
   * by level, models under ever tighter bounds on that level's sum until none is left; each level's
   * optimum stays a bound for the next levels.
   */
  private optimalModel(assumptions: Lit[], keptTarget?: number): number[] | null {
    const first = this.sat.solve(assumptions, this.brancher);
    if (!first.sat) return null;
    let best = this.model();
    let costs = CRITERIA.map((_, k) => this.sat.weightedSum(k));
    const withTest = this.activeTest !== null && this.activeTest.pkg === keptTarget;
    /** Remembers a proved optimum of a target (without its tests) for the targets that need it. */
    const exact = (sol: number[], c: number[]): number[] => {
      if (keptTarget !== undefined && !withTest) this.optima.set(keptTarget, { packages: sol, costs: c });
      return sol;
    };
    if (costs.every((c) => c === 0)) return exact(best, costs);
    if (keptTarget !== undefined) {
      // Nearly always the first installation is already the optimum: proved cheaply, the loop (whose
      // last solve per level proves it the hard way) is skipped; it would return this installation.
      if (
        this.shortcuts.proof &&
        this.optimalityProof().proves(keptTarget, costs, withTest ? (this.activeTest as { clauses: DependencyClause[] }).clauses : [])
      ) {
        this.stats.proved++;
        return exact(best, costs);
      }
      const shared = withTest || !this.shortcuts.sharing ? null : this.sharedOptimum(keptTarget);
      if (shared !== null) {
        this.stats.shared++;
        return exact(
          shared,
          CRITERIA.map((_, k) => shared.reduce((sum, i) => sum + this.weight(k, i), 0)),
        );
      }
    }
    // One guard per run of tightening bounds: what is learned under a bound holds under tighter ones
    // only, so once a level's optimum is known (its bound proved too tight), a new guard starts.
    // The optimisation has a conflict budget, as opam gives mccs a time limit (60 s) after which it
    // takes the best solution found: past it, the best installation so far is the answer.
    let spentBefore = this.sat.stats.conflicts;
    const fixed: number[] = [];
    let exhausted = false;
    let cone: number[] | undefined;
    /** The guard of the cores' counters (`CoreLowerBound`), retired with the optimisation. */
    let coreGuard = 0;
    const exactLevels: Lit[] = [];
    let forced: ReadonlyMap<number, readonly number[]> | undefined;
    let baseLits: Set<Lit> | undefined;
    try {
      for (let k = 0; k < CRITERIA.length; k++) {
        if (costs[k] < 1) {
          fixed.push(costs[k]);
          continue;
        }
        const guard = this.sat.newVar();
        this.sat.setObjectiveGuard(guard);
        fixed.forEach((c, j) => this.sat.setObjectiveBound(j, c));
        const guarded = [posLit(guard), ...assumptions];
        // The level's lower bound from cores: met by the installation, the loop's last solve (which
        // only proves it optimal, and was most of the loop's work) is not needed; when the cores end
        // with an installation, it is an optimum of the level.
        const lbStart = this.sat.stats.conflicts;
        let lb = 0;
        let softs: Lit[] = [];
        /** An installation of the level's optimum cost, when the cores end with one. */
        let optimum: { packages: number[]; costs: number[] } | null = null;
        if (keptTarget !== undefined && this.shortcuts.cores) {
          if (coreGuard === 0) coreGuard = this.sat.newVar();
          const cores = this.coreLowerBound();
          ({ lb, softs } = cores.bound(
            k,
            [...guarded, ...exactLevels],
            coreGuard,
            (cone ??= this.coneNames(keptTarget)),
            (forced ??= this.forcedOf(keptTarget)),
            this.possibleForProof(),
            costs[k],
            CORE_CONFLICTS,
            this.brancher,
            (baseLits ??= new Set((this.base ?? []).map((i) => posLit(i + 1)))),
          ));
          this.stats.coreReused = cores.reusedCores;
          if (cores.lastEnd === 'optimum') optimum = { packages: this.model(), costs: CRITERIA.map((_, j) => this.sat.weightedSum(j)) };
        }
        this.stats.coreConflicts += this.sat.stats.conflicts - lbStart;
        spentBefore += this.sat.stats.conflicts - lbStart;
        if (lb > 0) this.stats.coreBound++;
        if (optimum !== null && lexLess(optimum.costs, costs)) {
          // The cores ended with an installation of the level's optimum: the loop would only walk
          // down to that cost, each step a search of its own. (The two can differ only between
          // installations of equal costs; on the snapshot's plans on 5.3.0 and 4.14.2 they never do.)
          best = optimum.packages;
          costs = optimum.costs;
          this.stats.coreTaken++;
        }
        let levelExhausted = false;
        while (costs[k] >= 1 && costs[k] > lb) {
          this.sat.setObjectiveBound(k, costs[k] - 1);
          this.lowerBoundTick = 0;
          const left = OPTIMISATION_CONFLICTS - (this.sat.stats.conflicts - spentBefore);
          const r = left > 0 ? this.sat.solve(guarded, this.brancher, left) : { sat: false as const, exhausted: true };
          if (!r.sat) {
            if (r.exhausted === true) levelExhausted = true;
            break;
          }
          best = this.model();
          costs = CRITERIA.map((_, j) => this.sat.weightedSum(j));
        }
        if (levelExhausted) exhausted = true;
        if (lb > 0 && costs[k] <= lb) this.stats.coreProved++;
        // This level at its optimum, the bound's soft assumptions all hold in exactly its optimal
        // installations (OLL's reformulation): the next levels' cores assume them, a stronger hold
        // on this level than its bound.
        if (!exhausted && costs[k] === lb) exactLevels.push(...softs);
        this.sat.retireObjective();
        fixed.push(costs[k]);
      }
    } finally {
      this.sat.retireObjective();
      if (coreGuard !== 0) this.sat.addClause([negLit(coreGuard)]);
    }
    if (exhausted) this.stats.budgetHits++;
    return exhausted ? best : exact(best, costs);
  }

  /**
   * Optimisations settled by `OptimalityProof` (`proved`) or by another target's optimum (`shared`);
   * the others ran the bound-tightening loop. Per criteria level of the loop: given a lower bound by
   * cores (`coreBound`), ended by it (`coreProved`: met, the loop's last solve skipped), the conflicts
   * the cores cost (`coreConflicts`), and levels where the cores' optimal installation was taken
   * (`coreTaken`), cores taken from earlier targets instead of searched for (`coreReused`).
   * `budgetHits`: optimisations that ended at the conflict budget.
   */
  readonly stats = { proved: 0, shared: 0, coreBound: 0, coreProved: 0, coreConflicts: 0, coreTaken: 0, coreReused: 0, budgetHits: 0 };

  /**
   * The ways around the optimisation loop (`OptimalityProof`, `sharedOptimum`) and its last solve
   * (`CoreLowerBound`), all on by default; tests turn them off to compare with the loop alone.
   */
  shortcuts = { proof: true, sharing: true, cores: true };

  private cores: CoreLowerBound | null = null;

  private coreLowerBound(): CoreLowerBound {
    if (this.cores === null) {
      const versions = [...this.byName.values()];
      this.cores = new CoreLowerBound(this.sat, versions, (k, i) => this.weight(k, i), CRITERIA.length);
    }
    return this.cores;
  }

  /** The names every installation of `target` keeping the base holds, with their possible versions. */
  private forcedOf(target: number): ReadonlyMap<number, readonly number[]> {
    const proof = this.optimalityProof();
    const forced =
      this.activeTest !== null && this.activeTest.pkg === target
        ? proof.forcedVersions(target, this.activeTest.clauses)
        : proof.forcedVersions(target);
    return forced ?? new Map();
  }

  private coneMark = new Int32Array(0);
  private coneStamp = 0;

  /**
   * The names of the packages that can be in an installation of `target` keeping the base: those
   * reachable from it through dependency candidates that can be installed with the base (its test
   * clauses included when in force).
   */
  private coneNames(target: number): number[] {
    const n = this.packages.length;
    if (this.coneMark.length !== n) this.coneMark = new Int32Array(n);
    const stamp = ++this.coneStamp;
    const possible = this.possibleForProof();
    const names = new Set<number>();
    const stack = [target];
    this.coneMark[target] = stamp;
    const extra = this.activeTest !== null && this.activeTest.pkg === target ? this.activeTest.clauses : [];
    while (stack.length > 0) {
      const i = stack.pop() as number;
      names.add(this.nameIndex[i]);
      for (const d of i === target ? [...this.deps[i], ...extra] : this.deps[i]) {
        for (const c of d.candidates) {
          if (this.coneMark[c] === stamp || possible[c] !== 1) continue;
          this.coneMark[c] = stamp;
          stack.push(c);
        }
      }
    }
    return [...names];
  }

  /** Proved optima of targets solved keeping the base, without their tests: installation and costs. */
  private readonly optima = new Map<number, { packages: number[]; costs: number[] }>();

  /**
   * Another target's optimum reused, when that is provably opam's optimum for `t`. u is a package every
   * installation of t (keeping the base) holds, whose optimum S(u) is known; X is t and the other
   * packages every installation of t holds that S(u) lacks. When X is closed from above (no package
   * that can be installed outside X, nor another version of a name of X, has a member of X as a
   * dependency candidate), any installation S of t minus X is an installation of u, so cost(S) ≥
   * cost(S(u)) + weight(X), which S(u) ∪ X reaches when it is an installation (X's clauses met, no
   * conflict). With several such u the costliest optimum is the bound. When S(u) already holds t, it
   * is an installation of t, and cost(S) ≥ cost(S(u)) since S holds u: S(u) itself. Null when no rule
   * applies.
   */
  private sharedOptimum(t: number): number[] | null {
    const proof = this.optimalityProof();
    const forced = proof.forcedPackages(t);
    let best: { packages: number[]; costs: number[] } | null = null;
    for (const u of forced) {
      const o = this.optima.get(u);
      if (o !== undefined && (best === null || lexLess(best.costs, o.costs))) best = o;
    }
    if (best === null) return null;
    if (best.packages.includes(t)) return best.packages;
    const members = new Set(best.packages);
    const extra = [t, ...forced.filter((x) => !members.has(x))];
    if (!proof.closedFromAbove(extra)) return null;
    for (const x of extra) members.add(x);
    const names = new Set(extra.map((x) => this.nameIndex[x]));
    if (names.size !== extra.length) return null;
    for (const i of best.packages) if (names.has(this.nameIndex[i])) return null;
    for (const x of extra) {
      for (const d of this.deps[x]) if (!d.candidates.some((c) => members.has(c))) return null;
      for (const q of this.conflicts[x]) if (members.has(q)) return null;
    }
    for (const cls of this.conflictClasses.values()) {
      let n = 0;
      for (const m of cls) if (members.has(m)) n++;
      if (n > 1 && extra.some((x) => cls.includes(x))) return null;
    }
    return [...best.packages, ...extra].sort((a, b) => a - b);
  }

  get levels(): number {
    return CRITERIA.length;
  }

  clausesOf(i: number): readonly DependencyClause[] {
    return this.deps[i];
  }

  *dependents(i: number): Iterable<number> {
    const rev = this.reversePairs;
    for (let k = this.reverseStart[i], end = this.reverseStart[i + 1]; k < end; k += 2) yield rev[k];
  }

  conflictsOf(i: number): Iterable<number> {
    return this.conflicts[i];
  }

  weight(k: number, i: number): number {
    return this.sat.weightOf(k, i + 1);
  }

  private proof: OptimalityProof | null = null;

  /** The optimality proof for installations keeping the base (built once the base is known). */
  private optimalityProof(): OptimalityProof {
    if (this.proof === null) {
      const base = this.base ?? [];
      const n = this.packages.length;
      const inBase = new Uint8Array(n);
      for (const b of base) inBase[b] = 1;
      this.possibleCache = this.possibleWithBase(inBase);
      this.proof = new OptimalityProof(this, this.possibleCache, inBase);
    }
    return this.proof;
  }

  private possibleCache: Uint8Array | null = null;

  private possibleForProof(): Uint8Array {
    this.optimalityProof();
    return this.possibleCache as Uint8Array;
  }

  /**
   * Per package, 1 when it can be in an installation holding every base package: available and not
   * known uninstallable, no other version of a base name, no conflict (declared or by class) with a
   * base package, and (a fixpoint) every dependency clause with a possible candidate.
   */
  private possibleWithBase(inBase: Uint8Array): Uint8Array {
    const n = this.packages.length;
    const possible = new Uint8Array(n).fill(1);
    const out: number[] = [];
    const rule = (i: number) => {
      if (possible[i] && !inBase[i]) {
        possible[i] = 0;
        out.push(i);
      }
    };
    for (let i = 0; i < n; i++) if (!this.mayBeInstalled(i)) rule(i);
    for (let b = 0; b < n; b++) {
      if (!inBase[b]) continue;
      for (const i of this.byName.get(this.packages[b].name) ?? []) if (i !== b) rule(i);
      for (const q of this.conflicts[b]) rule(q);
    }
    for (const members of this.conflictClasses.values()) if (members.some((m) => inBase[m] === 1)) for (const m of members) rule(m);
    const alive = this.deps.map((cl) => Int32Array.from(cl, (d) => d.candidates.length));
    while (out.length > 0) {
      const q = out.pop() as number;
      const rev = this.reversePairs;
      for (let k = this.reverseStart[q], end = this.reverseStart[q + 1]; k < end; k += 2) {
        const owner = rev[k];
        if (--alive[owner][rev[k + 1]] === 0) rule(owner);
      }
    }
    return possible;
  }

  /** The packages true in the current model, sorted. */
  private model(): number[] {
    const out: number[] = [];
    const n = this.packages.length;
    // The facts through their true literals (thousands of facts, nearly all false), then the rest of the trail.
    const facts = this.sat.trueFacts();
    for (let k = 0; k < facts.length; k++) {
      const l = facts[k];
      if (l >> 1 <= n) out.push((l >> 1) - 1);
    }
    const trail = this.sat.trailLiterals();
    for (let k = this.sat.factCount; k < trail.length; k++) {
      const l = trail[k];
      if ((l & 1) === 0 && l >> 1 <= n) out.push((l >> 1) - 1);
    }
    return out.sort((a, b) => a - b);
  }

  /** Whether the invariant alone (no target) has an installation. */
  invariantSatisfiable(): boolean {
    return this.sat.solve([], this.brancher).sat;
  }

  /**
   * Packages true in every installation: the compiler and what it forces (the backbone). Computed once,
   * whatever the solver has learned so far: the members of a first installation are the candidates; one
   * that no installation can leave out is forced (and kept as a level-0 fact), an installation without
   * it drops every candidate it leaves out. So the reasons that name forced packages do not depend on
   * which queries came first.
   */
  forcedPackages(): number[] {
    if (this.forcedCache === null) {
      if (this.sat.solve([], this.brancher).sat) {
        let candidates = this.model().filter((i) => this.sat.fixedValue(i + 1) !== 1);
        while (candidates.length > 0) {
          const c = candidates.pop() as number;
          if (this.sat.solve([negLit(c + 1)], this.brancher).sat) {
            const inModel = new Set(this.model());
            candidates = candidates.filter((i) => inModel.has(i));
          } else {
            this.sat.addClause([posLit(c + 1)]);
          }
        }
      }
      const out: number[] = [];
      for (let i = 0; i < this.packages.length; i++) if (this.sat.fixedValue(i + 1) === 1) out.push(i);
      this.forcedCache = out;
    }
    return this.forcedCache;
  }

  private forcedCache: number[] | null = null;

  /** Packages known uninstallable without search (level-0 facts). */
  isFixedFalse(i: number): boolean {
    return this.sat.fixedValue(i + 1) === -1;
  }

  /**
   * The decision heuristic: walk the installed packages in the order they were installed; for the
   * most constrained dependency clause not yet satisfied, install its most preferred candidate that is
   * still possible (and within the criteria bounds, when a bound is in force). When every installed
   * package has its dependencies, the assignment is complete: packages still undecided are not
   * installed. This finds a first installation fast; the criteria bounds (`optimalModel`) then make the
   * search prove or improve it, and under a bound the brancher first checks the criteria's lower bound
   * (`boundConflict`), reporting a conflict when it already exceeds the bound.
   */
  private readonly brancher: Brancher = (s) => {
    if (s.backtracks !== this.scanEpoch || s.factCount !== this.scanFacts) {
      this.scanEpoch = s.backtracks;
      this.scanFacts = s.factCount;
      this.scanPos = 0;
    }
    // The lower bound costs more than the pruning it buys when checked at every decision: every 8th.
    if (s.guard !== 0 && s.valueVar(s.guard) === 1 && ++this.lowerBoundTick % LOWER_BOUND_EVERY === 0) {
      const conflict = this.boundConflict(s);
      if (conflict !== null) {
        s.reportConflict(conflict);
        return CONFLICT;
      }
    }
    for (const d of this.invariant) {
      const l = this.pick(s, d);
      if (l > 0) return l;
    }
    const n = this.packages.length;
    // The trail's facts (level 0: thousands, nearly all false) are walked through their true literals
    // only (`trueFacts`, in trail order), then the trail from `factCount`: the same true literals in
    // the same order as a walk over the whole trail, so the same decisions. `scanPos` counts the true
    // facts first, then the trail positions after the facts.
    const facts = s.trueFacts();
    const skipped = this.scanFacts - facts.length;
    while (this.scanPos < facts.length + s.trailLength - this.scanFacts) {
      const l = this.scanPos < facts.length ? facts[this.scanPos] : s.trailAt(this.scanPos + skipped);
      if ((l & 1) === 0 && l >> 1 <= n) {
        const i = (l >> 1) - 1;
        const clauses = this.activeTest !== null && this.activeTest.pkg === i ? this.activeTest.clauses : this.deps[i];
        // The most constrained unsatisfied clause of this package first (fewest candidates left),
        // so that narrow requirements (`ocaml {< "4.06"}`) are met before wide ones (`dune`).
        let best: DependencyClause | null = null;
        let bestCount = Infinity;
        for (const d of clauses) {
          const count = this.openCount(s, d);
          if (count > 0 && count < bestCount) {
            best = d;
            bestCount = count;
            if (count === 1) break;
          }
        }
        if (best !== null) return this.pick(s, best);
      }
      this.scanPos++;
    }
    return 0;
  };

  private lowerBoundTick = 0;
  /** Scratch of `boundConflict`: the true literals of the trail. */
  private trueScratch = new Int32Array(1024);

  /** Per name: stamps (installed now; required now) and, per criteria level, the least weight it will add. */
  private installedStamp = new Int32Array(0);
  private requiredStamp = new Int32Array(0);
  private stamp = 0;
  private requiredLeast: Float64Array[] = [];
  private requiredBy: { owner: number; clause: DependencyClause }[][] = [];

  /**
   * A lower bound of each bounded criteria level, as PB solvers propagate: the weight already true, plus,
   * for each name some installed package requires (a dependency clause whose candidates are all of
   * that name) and that has no version installed, the least weight among its candidates still possible.
   * Returns the clause refuting the assignment when a bound is exceeded: `¬guard`, the true variables
   * counted, and for each required name its requirer false or one of its cheaper candidates true.
   */
  private boundConflict(s: SatSolver): Lit[] | null {
    const names = this.byName.size;
    const levels = CRITERIA.length;
    if (this.installedStamp.length !== names) {
      this.installedStamp = new Int32Array(names);
      this.requiredStamp = new Int32Array(names);
      this.requiredLeast = Array.from({ length: levels }, () => new Float64Array(names));
      this.requiredBy = Array.from({ length: levels }, () => new Array(names));
    }
    const stamp = ++this.stamp;
    const n = this.packages.length;
    // The true literals of the trail, in trail order (the facts' from the solver's list: most facts are false).
    const trailLength = s.trailLength;
    const facts = s.trueFacts();
    const from = s.factCount;
    const size = facts.length + trailLength - from;
    if (this.trueScratch.length < size) this.trueScratch = new Int32Array(size * 2);
    const trueLits = this.trueScratch;
    let count = 0;
    for (let t = 0; t < facts.length; t++) trueLits[count++] = facts[t];
    for (let t = from; t < trailLength; t++) {
      const l = s.trailAt(t);
      if ((l & 1) === 0) trueLits[count++] = l;
    }
    for (let t = 0; t < count; t++) {
      const l = trueLits[t];
      if (l >> 1 <= n) this.installedStamp[this.nameIndex[(l >> 1) - 1]] = stamp;
    }
    const active: number[] = [];
    for (let j = 0; j < levels; j++) if (s.boundOf(j) !== Infinity) active.push(j);
    if (active.length === 0) return null;
    const weights = active.map((j) => s.weightsOf(j));
    const required: number[] = [];
    const least = new Float64Array(active.length);
    for (let t = 0; t < count; t++) {
      const l = trueLits[t];
      if (l >> 1 > n) continue;
      const owner = (l >> 1) - 1;
      const clauses = this.deps[owner];
      for (let ci = 0; ci < clauses.length; ci++) {
        const d = clauses[ci];
        const name = d.name;
        if (name < 0 || this.installedStamp[name] === stamp) continue;
        least.fill(Infinity);
        const c = d.candidates;
        let possible = false;
        for (let k = 0; k < c.length; k++) {
          const v = c[k] + 1;
          if (s.valueVar(v) === -1) continue;
          possible = true;
          for (let a = 0; a < active.length; a++) {
            const w = weights[a][v];
            if (w < least[a]) least[a] = w;
          }
        }
        if (!possible) continue; // no candidate left: propagation refutes it
        const first = this.requiredStamp[name] !== stamp;
        if (first) {
          this.requiredStamp[name] = stamp;
          required.push(name);
        }
        for (let a = 0; a < active.length; a++) {
          const j = active[a];
          if (first || least[a] > this.requiredLeast[j][name]) {
            this.requiredLeast[j][name] = least[a];
            this.requiredBy[j][name] = { owner, clause: d };
          }
        }
      }
    }
    for (const j of active) {
      const bound = s.boundOf(j);
      let extra = 0;
      for (const name of required) extra += this.requiredLeast[j][name];
      if (s.weightedSum(j) + extra <= bound) continue;
      // The heaviest parts first, until they alone exceed the bound.
      const parts: { w: number; lits: Lit[] }[] = [];
      for (const name of required) {
        const m = this.requiredLeast[j][name];
        if (m <= 0) continue;
        const { owner, clause } = this.requiredBy[j][name];
        const lits = [negLit(owner + 1)];
        for (const c of clause.candidates) if (s.weightOf(j, c + 1) < m) lits.push(posLit(c + 1));
        parts.push({ w: m, lits });
      }
      for (let t = 0; t < count; t++) {
        const l = trueLits[t];
        const w = s.weightOf(j, l >> 1);
        if (w > 0) parts.push({ w, lits: [negLit(l >> 1)] });
      }
      parts.sort((a, b) => b.w - a.w);
      const out = new Set<Lit>([negLit(s.guard)]);
      let sum = 0;
      for (const p of parts) {
        if (sum > bound) break;
        sum += p.w;
        for (const x of p.lits) out.add(x);
      }
      return [...out];
    }
    return null;
  }

  /** 0 when the clause is satisfied, else how many candidates are still possible (capped at 32). */
  private openCount(s: SatSolver, d: DependencyClause): number {
    const c = d.candidates;
    let open = 0;
    for (let k = 0; k < c.length; k++) {
      const val = s.valueVar(c[k] + 1);
      if (val === 1) return 0;
      if (val === 0 && ++open >= 32) {
        // Keep scanning only for a true candidate.
        for (let m = k + 1; m < c.length; m++) if (s.valueVar(c[m] + 1) === 1) return 0;
        return open;
      }
    }
    return open === 0 ? 0 : open;
  }

  /**
   * One-step lookahead: a candidate some of whose own dependency clauses have no possible candidate
   * left would only fail (its clauses are not watched before it is tried).
   */
  private viable(s: SatSolver, i: number): boolean {
    for (const d of this.deps[i]) {
      const c = d.candidates;
      let ok = false;
      for (let k = 0; k < c.length; k++) {
        if (s.valueVar(c[k] + 1) !== -1) {
          ok = true;
          break;
        }
      }
      if (!ok) return false;
    }
    return true;
  }

  /** 0 when the clause is satisfied, else the literal of its first candidate still possible. */
  private pick(s: SatSolver, d: DependencyClause): Lit {
    let first = 0;
    const c = d.candidates;
    for (let k = 0; k < c.length; k++) {
      const val = s.valueVar(c[k] + 1);
      if (val === 1) return 0;
      if (val === 0) {
        if (s.fitsBounds(c[k] + 1) && this.viable(s, c[k])) return posLit(c[k] + 1);
        if (first === 0) first = posLit(c[k] + 1);
      }
    }
    // Only doomed candidates are left: try the preferred one, the conflict teaches why.
    return first;
  }
}
