/**
 * Short human reasons for an uninstallable package, in the spirit of dose/opam's explanations:
 * - not available on the platform;
 * - conflicts with the compiler (the switch invariant);
 * - a dependency nothing satisfies (missing package, or no version matching the constraint);
 * - a dependency all of whose candidates are uninstallable: the reason of its preferred candidate
 *   follows, giving a chain `a.1 → b {>= "2"} → b.2 → ocaml {< "5.0"} → …`;
 * - otherwise the dependencies only fail together: a conflict core is computed on the target's
 *   dependency cone (selector-guarded clauses, failed assumptions, then deletion-minimised when
 *   small) and the packages whose requirements clash are named; for a wide cone (over
 *   MAX_CORE_CONE packages) the requirements having uninstallable versions are named instead.
 * Reasons are memoised per package, so a whole repository costs about one explanation per package.
 */
import { printFilter, type DependencyAtom } from '../opam/filter.js';
import { packageId } from '../opam/package-model.js';
import { SatSolver, negLit, posLit, type Brancher, type Lit } from './sat.js';
import type { DependencyClause, Universe } from './universe.js';
import { invariantToString } from './compiler-spec.js';

const MAX_DEPTH = 4;
/** Above this many packages in a dependency cone, the conflict core is not computed (too slow). */
const MAX_CORE_CONE = 800;

export function atomText(a: DependencyAtom): string {
  return invariantToString({ kind: 'atom', atom: a });
}

export function clauseText(d: DependencyClause): string {
  return d.atoms.map(atomText).join(' | ');
}

export class Explainer {
  constructor(
    private readonly u: Universe,
    /** Installability of a package on its own (memoised by the caller). */
    private readonly installable: (i: number) => boolean,
    /** The compiler invariant, for messages (null in admin-check mode). */
    private readonly invariantText: string | null,
  ) {}

  /** Why package `i` cannot be installed; `clauses` overrides its dependencies (with-test targets). */
  why(i: number, clauses?: DependencyClause[]): string {
    return this.reason(i, 0, clauses, new Set());
  }

  /** Reasons already given, by package and depth (the depth bounds the chain). */
  private readonly memo = new Map<number, string>();

  private reason(i: number, depth: number, clausesOverride: DependencyClause[] | undefined, path: Set<number>): string {
    if (clausesOverride !== undefined) return this.reasonUncached(i, depth, clausesOverride, path);
    const key = i * (MAX_DEPTH + 1) + depth;
    let r = this.memo.get(key);
    if (r === undefined) {
      r = this.reasonUncached(i, depth, undefined, path);
      this.memo.set(key, r);
    }
    return r;
  }

  private reasonUncached(i: number, depth: number, clausesOverride: DependencyClause[] | undefined, path: Set<number>): string {
    const u = this.u;
    const p = u.packages[i];
    const id = packageId(p);
    const unencodable = u.unencodable.get(i);
    if (unencodable !== undefined) return `${id} cannot be solved: ${unencodable}`;
    if (!u.available[i]) return `${id} is not available (available: ${printFilter(p.available)})`;
    const clash = this.compilerClash(i);
    if (clash !== null) return `${id} ${clash}`;
    const clauses = clausesOverride ?? u.deps[i];
    for (const d of clauses) {
      if (d.candidates.length === 0) return `${id} requires ${clauseText(d)}: ${this.nothingMatches(d)}`;
    }
    if (depth >= MAX_DEPTH || path.has(i)) return `${id} is not installable`;
    path.add(i);
    for (const d of clauses) {
      let all = true;
      for (const c of d.candidates) {
        if (c === i || this.installable(c)) {
          all = false;
          break;
        }
      }
      if (all) {
        const fixed = this.fixedByCompiler(d);
        if (fixed !== null) {
          path.delete(i);
          return `${id} requires ${clauseText(d)}, but ${fixed}`;
        }
        const best = d.candidates[0];
        const more =
          d.candidates.length > 1
            ? ` (no version of it is installable; the newest: ${this.reason(best, depth + 1, undefined, path)})`
            : `: ${this.reason(best, depth + 1, undefined, path)}`;
        path.delete(i);
        return `${id} requires ${clauseText(d)}${more}`;
      }
    }
    path.delete(i);
    if (clausesOverride !== undefined) return this.conflictCore(i, clauses);
    let core = this.cores.get(i);
    if (core === undefined) this.cores.set(i, (core = this.conflictCore(i, clauses)));
    return core;
  }

  private readonly cores = new Map<number, string>();

  /**
   * Per package, the candidates of each of its dependencies that are available and not fixed false
   * (computed once: both only ever lose packages, so the list stays a superset of the cone's
   * candidates, and the cone's walk still checks them).
   */
  private readonly possible: (Int32Array[] | undefined)[] = [];

  private possibleOf(i: number): Int32Array[] {
    return (this.possible[i] ??= this.possibleCandidates(this.u.deps[i]));
  }

  private possibleCandidates(clauses: readonly DependencyClause[]): Int32Array[] {
    const u = this.u;
    const available = u.available;
    return clauses.map((d) => {
      const cands = d.candidates;
      let n = 0;
      for (let k = 0; k < cands.length; k++) if (available[cands[k]] === 1 && !u.isFixedFalse(cands[k])) n++;
      if (n === cands.length) return cands;
      const out = new Int32Array(n);
      n = 0;
      for (let k = 0; k < cands.length; k++) if (available[cands[k]] === 1 && !u.isFixedFalse(cands[k])) out[n++] = cands[k];
      return out;
    });
  }

  /** Scratch of `conflictCore`: a package is in the current cone when its mark is the call's stamp. */
  private mark = new Int32Array(0);
  private localIdx = new Int32Array(0);
  private stamp = 0;

  /** The conflict classes by their position in `u.conflictClasses`, and per package the positions of its classes. */
  private classes: { members: number[][]; of: (number[] | undefined)[] } | null = null;

  private classIndex(): { members: number[][]; of: (number[] | undefined)[] } {
    if (this.classes === null) {
      const members = [...this.u.conflictClasses.values()];
      const of: (number[] | undefined)[] = new Array<number[] | undefined>(this.u.size);
      members.forEach((ms, c) => {
        for (const i of ms) (of[i] ??= []).push(c);
      });
      this.classes = { members, of };
    }
    return this.classes;
  }

  /** The cheap message for a wide cone: the direct requirements that have uninstallable candidates. */
  private wideConflict(target: number, clauses: DependencyClause[]): string {
    const suspects = clauses.filter((d) => Array.from(d.candidates).some((c) => c !== target && !this.installable(c))).map(clauseText);
    const id = packageId(this.u.packages[target]);
    const list = suspects.length > 6 ? [...suspects.slice(0, 6), `and ${suspects.length - 6} more`] : suspects;
    return suspects.length === 0
      ? `the dependencies of ${id} cannot be installed together`
      : `the dependencies of ${id} cannot be installed together; requirements with uninstallable versions: ${list.join(', ')}`;
  }

  private nothingMatches(d: DependencyClause): string {
    const names = [...new Set(d.atoms.map((a) => a.name))];
    const missing = names.filter((n) => !this.u.byName.has(n));
    if (missing.length === names.length) return `no package ${missing.join(', ')} in the repository`;
    const versions = names
      .filter((n) => this.u.byName.has(n))
      .map((n) => `${n} has ${(this.u.byName.get(n) ?? []).map((k) => this.u.packages[k].version).join(', ')}`);
    return `no version matches (${versions.join('; ')})`;
  }

  /**
   * When a requirement names a package the compiler fixes (`ocaml {< "5.0"}` in a 5.3.0 switch), that
   * fixed version is the reason, not the chain through the other compilers' packages (ocaml-system,
   * sys-ocaml-version) that cannot be installed either.
   */
  private fixedByCompiler(d: DependencyClause): string | null {
    if (this.invariantText === null) return null;
    // The answer rests on facts only (the forced packages, installability), so it is kept per
    // requirement; a second computation would only ask `installable` again what it already knows.
    // A one-atom requirement's candidates are shared by every requirement of that atom (`Universe.clauseOf`),
    // which has the same answer: its name and its candidates are all the answer reads of it.
    const key = d.atoms.length === 1 ? d.candidates : d;
    let r = this.fixed.get(key);
    if (r === undefined) this.fixed.set(key, (r = this.fixedByCompilerUncached(d)));
    return r;
  }

  private readonly fixed = new Map<DependencyClause | Int32Array, string | null>();
  /** Per package: 1 when one of its dependencies has a compiler as candidate, -1 when none, 0 not known yet. */
  private dependsOnCompiler = new Int8Array(0);

  private fixedByCompilerUncached(d: DependencyClause): string | null {
    const forced = this.u.forcedPackages();
    for (const f of forced) {
      const q = this.u.packages[f];
      if (!d.atoms.some((a) => a.name === q.name) || d.candidates.includes(f)) continue;
      if (this.u.isInvariantCandidate(f)) return `the switch has the compiler ${packageId(q)}`;
      const compilers = forced.filter((c) => this.u.isInvariantCandidate(c)).map((c) => packageId(this.u.packages[c]));
      return `the switch has ${packageId(q)} (the compiler ${compilers.join(', ') || this.invariantText})`;
    }
    // `ocaml` is not forced by the compiler package but its installable version is the one depending
    // on the compiler.
    const compilers = forced.filter((c) => this.u.isInvariantCandidate(c));
    for (const name of new Set(d.atoms.map((a) => a.name))) {
      for (const q of this.u.byName.get(name) ?? []) {
        if (d.candidates.includes(q) || !this.installable(q)) continue;
        if (this.dependsOnCompiler.length !== this.u.size) this.dependsOnCompiler = new Int8Array(this.u.size);
        if (this.dependsOnCompiler[q] === 0) {
          this.dependsOnCompiler[q] = this.u.deps[q].some((c) => c.candidates.some((x) => compilers.includes(x))) ? 1 : -1;
        }
        if (this.dependsOnCompiler[q] === 1) {
          return `the switch has the compiler ${compilers.map((c) => packageId(this.u.packages[c])).join(', ')} and with it ${packageId(this.u.packages[q])}`;
        }
      }
    }
    return null;
  }

  /** The compiler package this package cannot be installed with, if it is a direct clash. */
  private compilerClash(i: number): string | null {
    if (this.invariantText === null || !this.u.isFixedFalse(i)) return null;
    // Which forced package it clashes with rests on static facts: kept per package.
    let r = this.clashes.get(i);
    if (r === undefined) this.clashes.set(i, (r = this.forcedClash(i)));
    return r;
  }

  private readonly clashes = new Map<number, string | null>();

  private forcedClash(i: number): string | null {
    const p = this.u.packages[i];
    for (const f of this.u.forcedPackages()) {
      const q = this.u.packages[f];
      if (f === i) continue;
      const what = this.u.isInvariantCandidate(f)
        ? `the compiler ${packageId(q)}`
        : `${packageId(q)}, which the compiler ${this.invariantText} requires`;
      if (q.name === p.name) return `conflicts with ${what} (another version of ${p.name})`;
      if (this.u.conflicts[i].has(f)) return `conflicts with ${what}`;
      const shared = p.conflictClass.find((c) => q.conflictClass.includes(c));
      if (shared !== undefined) return `conflicts with ${what} (conflict-class ${shared})`;
    }
    return null;
  }

  /**
   * The packages whose requirements clash: a small SAT instance on the dependency cone of `target`,
   * every package's dependencies guarded by a selector; the failed selectors, minimised by deletion.
   * (In small methods, each of which the JIT keeps optimised: one large function was deoptimised at
   * almost every call.)
   */
  private conflictCore(target: number, targetClauses: DependencyClause[]): string {
    const cone = this.coneOf(target, targetClauses);
    if (cone === null) return this.wideConflict(target, targetClauses);
    const desc = this.describeCone(target, targetClauses, cone);
    const core = this.coreOf(desc);
    if (core === null) return `${packageId(this.u.packages[target])} is not installable (its dependencies cannot be installed together)`;
    return this.coreText(target, desc, core);
  }

  /**
   * The cone, breadth first from the target, then the forced packages: a package's local index is its
   * position in it, marked by this call's stamp (`mark`, `localIdx`). Null for a wide cone (over
   * MAX_CORE_CONE packages before the forced ones): the walk stops there, only its size mattered.
   */
  private coneOf(target: number, targetClauses: DependencyClause[]): number[] | null {
    const u = this.u;
    const n = u.size;
    if (this.mark.length !== n) {
      this.mark = new Int32Array(n);
      this.localIdx = new Int32Array(n);
    }
    const stamp = ++this.stamp;
    const mark = this.mark;
    const localIdx = this.localIdx;
    const available = u.available;
    const targetPossible = this.possibleCandidates(targetClauses);
    const cone: number[] = [target];
    mark[target] = stamp;
    localIdx[target] = 0;
    for (let head = 0; head < cone.length; head++) {
      const i = cone[head];
      const lists = i === target ? targetPossible : this.possibleOf(i);
      for (let j = 0; j < lists.length; j++) {
        const cands = lists[j];
        for (let k = 0; k < cands.length; k++) {
          const c = cands[k];
          if (mark[c] !== stamp && available[c] && !u.isDead(c) && !u.isFixedFalse(c)) {
            mark[c] = stamp;
            localIdx[c] = cone.length;
            cone.push(c);
            if (cone.length > MAX_CORE_CONE) return null;
          }
        }
      }
    }
    for (const f of u.forcedPackages()) {
      if (mark[f] !== stamp) {
        mark[f] = stamp;
        localIdx[f] = cone.length;
        cone.push(f);
      }
    }
    return cone;
  }

  /**
   * Growable scratch holding the description of the current cone's SAT instance: everything the
   * solver is built from and searched with, in local variables (`describeCone`).
   */
  private ops = new Int32Array(1 << 16);
  private opsLen = 0;

  private op(x: number): void {
    if (this.opsLen === this.ops.length) {
      const a = new Int32Array(this.ops.length * 2);
      a.set(this.ops);
      this.ops = a;
    }
    this.ops[this.opsLen++] = x;
  }

  /**
   * The SAT instance of a cone (just computed by `coneOf`, whose marks it reads), as a description:
   * cone package k is variable k + 1 (the target 1), then the invariant's selector, then per package
   * the selector of its dependencies and, when it declares conflicts in the cone, the selector of
   * those. The description is: m; per package, its dependencies (count, then per dependency its
   * candidates in the cone as variables, in preference order) and its conflicts in the cone (count,
   * variables); the at-most-one groups (count, then each group's variables); the invariant's
   * clauses (count, then each clause's candidates in the cone). `buildSolver` builds from it the
   * very solver and brancher the direct construction would: so two cones with the same description
   * have the same core, in variables (`coreOf` solves each description once).
   */
  private describeCone(target: number, targetClauses: DependencyClause[], cone: number[]): CoreDescription {
    const u = this.u;
    const m = cone.length;
    const mark = this.mark;
    const stamp = this.stamp;
    const localIdx = this.localIdx;
    this.opsLen = 0;
    this.op(m);
    const selectors = new Map<number, number>();
    const conflictSelectors = new Map<number, number>();
    const invSel = m + 1;
    let nextVar = invSel;
    // The candidates that may be in the cone are the possible ones (`possibleCandidates`) and the target
    // itself, which is not among them when it is fixed false (as it mostly is: its installation was
    // refuted). Then a requirement that may hold the target (one of its name's, or of several names)
    // is read whole.
    const whole = u.isFixedFalse(target);
    const targetName = u.nameIndex[target];
    const targetPossible = this.possibleCandidates(targetClauses);
    for (let k = 0; k < m; k++) {
      const i = cone[k];
      selectors.set(++nextVar, i);
      const clauses = i === target ? targetClauses : u.deps[i];
      let lists = i === target ? targetPossible : this.possibleOf(i);
      if (whole) lists = clauses.map((d, j) => (d.name === -1 || d.name === targetName ? d.candidates : lists[j]));
      this.op(lists.length);
      for (let j = 0; j < lists.length; j++) {
        const cands = lists[j];
        const at = this.opsLen;
        this.op(0);
        for (let x = 0; x < cands.length; x++) {
          const c = cands[x];
          if (mark[c] === stamp) this.op(localIdx[c] + 1);
        }
        this.ops[at] = this.opsLen - at - 1;
      }
      const declared = u.declaredConflicts[i].packages;
      const at = this.opsLen;
      this.op(0);
      for (let x = 0; x < declared.length; x++) {
        const q = declared[x];
        if (mark[q] === stamp) this.op(localIdx[q] + 1);
      }
      const nConf = this.opsLen - at - 1;
      this.ops[at] = nConf;
      if (nConf > 0) conflictSelectors.set(++nextVar, i);
    }
    this.describeGroups(cone);
    const inv = u.invariant;
    this.op(inv.length);
    for (const d of inv) {
      const at = this.opsLen;
      this.op(0);
      const cands = d.candidates;
      for (let x = 0; x < cands.length; x++) {
        const c = cands[x];
        if (mark[c] === stamp) this.op(localIdx[c] + 1);
      }
      this.ops[at] = this.opsLen - at - 1;
    }
    return { m, invSel, selectors, conflictSelectors };
  }

  /**
   * At most one version of a name in the cone, in the order of `u.byName` (names in `nameIndex`
   * order, each name's versions by ascending index: the solver is built exactly as by a walk of every
   * name); then the conflict classes having a member in the cone, in the order of `u.conflictClasses`.
   */
  private describeGroups(cone: number[]): void {
    const u = this.u;
    const mark = this.mark;
    const stamp = this.stamp;
    const localIdx = this.localIdx;
    const countAt = this.opsLen;
    this.op(0);
    let groups = 0;
    const nameIndex = u.nameIndex;
    const byName = cone.slice().sort((a, b) => nameIndex[a] - nameIndex[b] || a - b);
    for (let a = 0; a < byName.length;) {
      let b = a + 1;
      while (b < byName.length && nameIndex[byName[b]] === nameIndex[byName[a]]) b++;
      if (b - a > 1) {
        groups++;
        this.op(b - a);
        for (let x = a; x < b; x++) this.op(localIdx[byName[x]] + 1);
      }
      a = b;
    }
    const classes = this.classIndex();
    const touched: number[] = [];
    for (const i of cone) for (const c of classes.of[i] ?? []) touched.push(c);
    touched.sort((a, b) => a - b);
    for (let x = 0; x < touched.length; x++) {
      if (x > 0 && touched[x] === touched[x - 1]) continue;
      const vs = classes.members[touched[x]].filter((i) => mark[i] === stamp);
      if (new Set(vs.map((i) => u.packages[i].name)).size > 1) {
        groups++;
        this.op(vs.length);
        for (const i of vs) this.op(localIdx[i] + 1);
      }
    }
    this.ops[countAt] = groups;
  }

  /** Cores already computed, by a hash of their description (then compared whole). */
  private readonly coreCache = new Map<number, { ops: Int32Array; core: Lit[] | null }[]>();

  /** The core of the description in `ops` (null: the target has an installation), solved once per description. */
  private coreOf(desc: CoreDescription): Lit[] | null {
    const ops = this.ops;
    const len = this.opsLen;
    let h = 0x811c9dc5;
    for (let k = 0; k < len; k++) h = Math.imul(h ^ ops[k], 0x01000193);
    let bucket = this.coreCache.get(h);
    if (bucket === undefined) this.coreCache.set(h, (bucket = []));
    search: for (const e of bucket) {
      if (e.ops.length !== len) continue;
      for (let k = 0; k < len; k++) if (e.ops[k] !== ops[k]) continue search;
      return e.core === null ? null : [...e.core];
    }
    const core = this.failedSelectors(this.buildSolver(), desc);
    bucket.push({ ops: ops.slice(0, len), core: core === null ? null : [...core] });
    return core;
  }

  /** The solver and brancher of the description in `ops`, built in the order of the description. */
  private buildSolver(): CoreInstance {
    const ops = this.ops;
    const m = ops[0];
    const s = new SatSolver();
    for (let k = 0; k < m; k++) s.newVar();
    const invSel = s.newVar();
    const localDeps: number[][][] = new Array<number[][]>(m);
    const lits: Lit[] = [];
    let p = 1;
    for (let k = 0; k < m; k++) p = this.buildPackage(s, k, p, localDeps, lits);
    const nGroups = ops[p++];
    for (let g = 0; g < nGroups; g++) {
      const n = ops[p++];
      s.addAtMostOne(Array.from(ops.subarray(p, p + n)));
      p += n;
    }
    const nInv = ops[p++];
    const invariantVars: number[][] = [];
    for (let c = 0; c < nInv; c++) {
      const n = ops[p++];
      const vars = Array.from(ops.subarray(p, p + n));
      p += n;
      s.addClause([negLit(invSel), ...vars.map(posLit)]);
      invariantVars.push(vars);
    }
    return { s, m, localDeps, invariantVars };
  }

  /**
   * Cone package `k`'s part of the description at `p` (its selector is the solver's next variable):
   * its dependencies, `¬sel ∨ ¬pkg ∨ candidates…`, then its conflicts under a selector of their own;
   * returns where the description goes on. Literals are given in ascending order (the order
   * `addClause` sorts them into: the clause is the same, its sort cheaper).
   */
  private buildPackage(s: SatSolver, k: number, p: number, localDeps: number[][][], lits: Lit[]): number {
    const ops = this.ops;
    const sel = s.newVar();
    const own = negLit(k + 1);
    const selLit = negLit(sel);
    const nDeps = ops[p++];
    const depVars: number[][] = [];
    for (let j = 0; j < nDeps; j++) {
      const n = ops[p++];
      const vars: number[] = [];
      lits.length = 0;
      lits.push(own);
      for (let x = 0; x < n; x++) {
        const v = ops[p++];
        vars.push(v);
        const l = posLit(v);
        let y = lits.length;
        lits.push(l);
        while (y > 0 && lits[y - 1] > l) {
          lits[y] = lits[y - 1];
          y--;
        }
        lits[y] = l;
      }
      lits.push(selLit); // the greatest: the selector is a later variable than every package
      s.addClause(lits);
      depVars.push(vars);
    }
    localDeps[k] = depVars;
    const nConf = ops[p++];
    if (nConf > 0) {
      const cselLit = negLit(s.newVar());
      for (let x = 0; x < nConf; x++) {
        const other = negLit(ops[p++]);
        lits.length = 0;
        if (other < own) lits.push(other, own);
        else lits.push(own, other);
        lits.push(cselLit);
        s.addClause(lits);
      }
    }
    return p;
  }

  /**
   * The failed selectors of the target's installation (the target is variable 1), minimised by
   * deletion when small; null when it has one.
   */
  private failedSelectors(inst: CoreInstance, desc: CoreDescription): Lit[] | null {
    const s = inst.s;
    const brancher = coreBrancher(inst);
    const base: Lit[] = [posLit(1)];
    let core: Lit[] = [posLit(desc.invSel), ...[...desc.selectors.keys(), ...desc.conflictSelectors.keys()].map(posLit)];
    const first = s.solve([...base, ...core], brancher);
    if (first.sat) return null;
    core = first.failed.filter((l) => !base.includes(l));
    // Deletion-based minimisation, kept cheap: small cores of small cones only.
    if (core.length <= 16 && inst.m <= 3000) {
      for (let k = 0; k < core.length;) {
        const without = core.filter((_, j) => j !== k);
        const r = s.solve([...base, ...without], brancher);
        if (!r.sat) core = r.failed.filter((l) => !base.includes(l));
        else k++;
      }
    }
    return core;
  }

  private coreText(target: number, inst: CoreDescription, core: Lit[]): string {
    const u = this.u;
    const order = (a: number, b: number) => (a === target ? -1 : b === target ? 1 : a - b);
    const requirers = core
      .map((l) => inst.selectors.get(l >> 1))
      .filter((i): i is number => i !== undefined)
      .sort(order)
      .map((i) => packageId(u.packages[i]));
    const conflicters = core
      .map((l) => inst.conflictSelectors.get(l >> 1))
      .filter((i): i is number => i !== undefined)
      .sort(order)
      .map((i) => `${packageId(u.packages[i])} conflicts with ${u.declaredConflicts[i].atoms.map(atomText).join(' | ')}`);
    const all = [...requirers, ...conflicters];
    const names = all.length > 8 ? [...all.slice(0, 8), `and ${all.length - 8} more`] : all;
    const withCompiler = core.includes(posLit(inst.invSel)) && this.invariantText !== null ? ` and the compiler ${this.invariantText}` : '';
    return `conflicting requirements of ${names.join(', ')}${withCompiler}`;
  }
}

/** A conflict core's selectors: cone package k is variable k + 1 (the target 1). */
interface CoreDescription {
  /** Cone size (packages are variables 1..m). */
  m: number;
  /** Guards the invariant's clauses. */
  invSel: number;
  /** Selector variable → package whose dependencies it guards. */
  selectors: Map<number, number>;
  /** Selector variable → package whose declared conflicts it guards. */
  conflictSelectors: Map<number, number>;
}

/** A conflict core's solver and what its brancher reads. */
interface CoreInstance {
  s: SatSolver;
  m: number;
  /** Per cone package, its dependencies' candidates in the cone, as variables (preference order). */
  localDeps: number[][][];
  /** The invariant's candidates in the cone, as variables. */
  invariantVars: number[][];
}

/**
 * Decide only what an installation needs: the first unmet dependency of an installed package (its
 * first possible candidate), the compiler first. Undecided packages are not installed.
 */
function coreBrancher(inst: CoreInstance): Brancher {
  const { m, localDeps, invariantVars } = inst;
  const firstOpen = (sv: SatSolver, vars: number[]): Lit => {
    let first = 0;
    for (const v of vars) {
      const val = sv.valueVar(v);
      if (val === 1) return 0;
      if (val === 0 && first === 0) first = posLit(v);
    }
    return first;
  };
  let scan = 0;
  let epoch = -1;
  return (sv) => {
    if (sv.backtracks !== epoch) {
      epoch = sv.backtracks;
      scan = 0;
    }
    for (const vars of invariantVars) {
      const l = firstOpen(sv, vars);
      if (l !== 0) return l;
    }
    for (; scan < sv.trailLength; scan++) {
      const l = sv.trailAt(scan);
      if (l & 1) continue;
      const v = l >> 1;
      if (v > m) continue; // a selector
      for (const vars of localDeps[v - 1]) {
        const pick = firstOpen(sv, vars);
        if (pick !== 0) return pick;
      }
    }
    return 0;
  };
}
