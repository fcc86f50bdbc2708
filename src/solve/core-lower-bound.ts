/**
 * A lower bound of one criteria level from unsatisfiable cores (core-guided MaxSAT, OLL), so that the
 * optimisation loop (`Universe.optimalModel`) can skip the solve that proves its last installation
 * optimal: on the real snapshot that last, unsatisfiable, solve is most of the loop's conflicts (a
 * CDCL search refuting `Σ weight ≤ cost − 1` with clauses), while cores are found by propagation and
 * short searches.
 *
 * A level's sum is split into indicators: per name N and j ≥ 1, `y(N, j)` = "N is installed at a
 * version of weight ≥ j" (the weight of N's version is Σ_j y(N, j); weights are integers). A selector
 * variable s(N, j) is made once per (level, name, j), with the clauses `¬s ∨ ¬p` for the versions p of
 * weight ≥ j: assuming s says y(N, j) is false. The indicators between two weights of versions that
 * can be installed with the base hold together in every installation: one soft assumption stands for
 * them, weighing their number. The soft assumptions are those selectors, for the names that can be
 * in the installation. Solving with the query's assumptions (the guard of the earlier levels' bounds
 * first) and the soft ones, an unsatisfiable answer names a core: soft assumptions one of which at
 * least fails in every installation. Each core adds its least weight w to the bound (weighted OLL, as
 * RC2): every soft assumption of the core gives w to a new counter (a totaliser) over the core's
 * failures, whose "at most one of them fails" (¬o_2) becomes a soft assumption of weight w; one left
 * with no weight is dropped, a selector replaced by its name's next one (y(N, j') for the next weight),
 * and a counter output o_i passes w to o_{i+1}. Names every installation holds
 * (`OptimalityProof.forcedVersions`) start with their least weight counted: those indicators hold
 * everywhere. A model under every soft assumption costs exactly the bound (when no core was too large
 * for a counter): the bound is the optimum, and the model an optimal installation of the level.
 * Otherwise the bound ends at the goal (nothing more needed) or at a conflict budget (the bound found
 * so far holds, it is only weaker).
 *
 * Cores are shared between targets. The names every installation of the target holds are assumed
 * first (a variable per name implying one of its versions); a core whose hard assumptions are only
 * such names and the base's packages holds for every target that forces those names, whatever else
 * it needs: it is kept per level, and a later bound takes it at once (as if the solver had found it)
 * when its names are forced and its selectors are soft assumptions of that bound. On
 * ocaml-system.4.13.1 the same dune / ocaml-secondary-compiler core was otherwise searched for again
 * by nearly every target.
 *
 * The selectors' clauses stay in the solver (they hold whatever is assumed later: a selector is never
 * forced but by them). The counters' clauses all hold the negated guard, so they are satisfied once
 * the guard is retired, and their variables are reused by later counters.
 */
import { negLit, posLit, type Brancher, type Lit, type SatSolver } from './sat.js';

/** Cores larger than this are only counted (their soft assumptions dropped), without a counter. */
const MAX_COUNTER_INPUTS = 48;

/** A soft assumption: a selector (name, j) or the output `i` (at least i fail) of a counter. */
type Soft = ({ kind: 'selector'; name: number; j: number; top: number } | { kind: 'counter'; outputs: number[]; i: number }) & {
  weight: number;
};

export class CoreLowerBound {
  /** Per level, per name, the selector variable of each j (index j − 1), made on first use. */
  private readonly selectors: Map<number, number[]>[];
  /** Counter variables free for reuse, and those in use with the guard their clauses hold. */
  private freeVars: number[] = [];
  private usedVars: { guard: number; vars: number[] }[] = [];

  /**
   * How the last `bound` ended: a model of the optimum cost (`optimum`) or one after a core too large
   * for a counter (`model`, not necessarily optimal), the goal, the budget, or a core of hard assumptions.
   */
  lastEnd: 'optimum' | 'model' | 'goal' | 'budget' | 'hard' = 'goal';
  /** Cores too large for a counter, only counted. */
  largeCores = 0;
  /** Cores taken from earlier optimisations (`known`) instead of being searched for again. */
  reusedCores = 0;
  /** Per name index: the variable "some version of it is installed", made on first use. */
  private readonly nameVars = new Map<number, number>();
  /**
   * Per level, cores that hold in every installation keeping the base that holds some names: found
   * under assumptions made only of the base, such names and selectors, they stay cores for every later
   * target every installation of which holds those names. Keyed by their literals.
   */
  private readonly known: Map<string, { names: Lit[]; selectors: Lit[] }>[];

  constructor(
    private readonly sat: SatSolver,
    /** Per name index: its package indices. */
    private readonly versionsOf: readonly (readonly number[])[],
    /** The weight of package `i` in level `k` (integers). */
    private readonly weight: (k: number, i: number) => number,
    levels: number,
  ) {
    this.selectors = Array.from({ length: levels }, () => new Map());
    this.known = Array.from({ length: levels }, () => new Map());
  }

  /** The literal "some version of `name` is installed" (a variable implying one of its versions). */
  private nameLit(name: number): Lit {
    let v = this.nameVars.get(name);
    if (v === undefined) {
      v = this.sat.newVar();
      this.sat.addClause([negLit(v), ...this.versionsOf[name].map((i) => posLit(i + 1))]);
      this.nameVars.set(name, v);
    }
    return posLit(v);
  }

  private selector(k: number, name: number, j: number): number {
    let list = this.selectors[k].get(name);
    if (list === undefined) this.selectors[k].set(name, (list = []));
    let s = list[j - 1];
    if (s === undefined) {
      s = this.sat.newVar();
      for (const i of this.versionsOf[name]) if (this.weight(k, i) >= j) this.sat.addTriggeredClause(s, [negLit(i + 1)]);
      list[j - 1] = s;
    }
    return s;
  }

  /**
   * A lower bound of level `k`'s sum over the installations under `assumptions` (the first is the
   * guard of the bounds in force), from the names `names` (those that can be installed), `forced`
   * giving per name every installation holds its possible versions; it stops as soon as it reaches
   * `goal`, and after `budget` conflicts.
   */
  bound(
    k: number,
    assumptions: readonly Lit[],
    guard: number,
    names: Iterable<number>,
    forced: ReadonlyMap<number, readonly number[]>,
    possible: Uint8Array,
    goal: number,
    budget: number,
    brancher: Brancher,
    /** Assumptions (among `assumptions`) that hold for every target: the base's packages. */
    shared: ReadonlySet<Lit> = new Set(),
  ): { lb: number; softs: Lit[] } {
    this.releaseVars();
    const inUse: number[] = [];
    this.usedVars.push({ guard, vars: inUse });
    /** Soft assumptions by literal (each assumed true), with their weights. */
    const soft = new Map<Lit, Soft>();
    let lb = 0;
    for (const name of names) {
      let from = 0;
      const versions = forced.get(name);
      if (versions !== undefined) {
        let least = Infinity;
        for (const v of versions) least = Math.min(least, this.weight(k, v));
        if (least !== Infinity) {
          lb += least;
          from = least;
        }
      }
      this.addSelector(soft, k, name, from, possible);
    }
    this.lastEnd = 'goal';
    /** Whether every core became a counter (a model under every soft assumption is then an optimum). */
    let exact = true;
    /**
     * A core taken: its least weight added to the bound; its failures, each as the literals one of
     * which is true when it fails (the versions of weight ≥ j for a selector, o_i for a counter
     * output). Each soft assumption gives `least` of its weight to the new counter and keeps the rest;
     * one that has none left is dropped, a selector replaced by its name's next one, and a counter
     * output gives way to the next (which gains `least`).
     */
    const take = (core: readonly Lit[]): void => {
      let least = Infinity;
      for (const l of core) least = Math.min(least, (soft.get(l) as Soft).weight);
      lb += least;
      const failures: Lit[][] = [];
      for (const l of core) {
        const s = soft.get(l) as Soft;
        failures.push(s.kind === 'selector' ? this.heavyVersions(k, s.name, s.j) : [l ^ 1]);
        if (s.weight > least) s.weight -= least;
        else soft.delete(l);
        if (s.kind === 'selector') {
          if (!soft.has(l)) this.addSelector(soft, k, s.name, s.top, possible);
        } else if (s.i + 1 <= s.outputs.length) {
          const next = negLit(s.outputs[s.i]);
          const before = soft.get(next);
          if (before !== undefined) before.weight += least;
          else soft.set(next, { kind: 'counter', outputs: s.outputs, i: s.i + 1, weight: least });
        }
      }
      if (failures.length > MAX_COUNTER_INPUTS) {
        this.largeCores++;
        exact = false;
      } else if (failures.length >= 2) {
        const outputs = this.counter(failures, guard, inUse);
        soft.set(negLit(outputs[1]), { kind: 'counter', outputs, i: 2, weight: least });
      }
    };
    // The names every installation holds, assumed first: a core that needs only them (and the base)
    // of the hard assumptions holds for every target that forces those names too.
    const names0 = [...forced.keys()].sort((a, b) => a - b).map((name) => this.nameLit(name));
    const held = new Set(names0);
    // The cores earlier targets found that hold here, taken as if found again (in the order found).
    for (const c of this.known[k].values()) {
      if (lb >= goal) break;
      if (!c.names.every((l) => held.has(l))) continue;
      if (!c.selectors.every((l) => (soft.get(l) as Soft | undefined)?.kind === 'selector')) continue;
      this.reusedCores++;
      take(c.selectors);
    }
    const start = this.sat.stats.conflicts;
    while (lb < goal) {
      const left = budget - (this.sat.stats.conflicts - start);
      if (left <= 0) {
        this.lastEnd = 'budget';
        break;
      }
      const r = this.sat.solve([...names0, ...assumptions, posLit(guard), ...soft.keys()], brancher, left, true);
      if (r.sat) {
        this.lastEnd = exact ? 'optimum' : 'model';
        break;
      }
      if (r.exhausted === true) {
        this.lastEnd = 'budget';
        break;
      }
      const core: Lit[] = r.failed.filter((l) => soft.has(l));
      if (core.length === 0) {
        this.lastEnd = 'hard';
        break;
      }
      // Found under the base, held names and selectors only: a core for every target forcing those names.
      if (r.failed.every((l) => held.has(l) || shared.has(l) || (soft.get(l) as Soft | undefined)?.kind === 'selector')) {
        const names = r.failed.filter((l) => held.has(l)).sort((a, b) => a - b);
        const selectors = [...core].sort((a, b) => a - b);
        const key = `${names.join(',')}|${selectors.join(',')}`;
        if (!this.known[k].has(key)) this.known[k].set(key, { names, selectors });
      }
      take(core);
    }
    return { lb, softs: [...soft.keys()] };
  }

  /**
   * The soft assumption "no version of `name` weighs more than `from`", weighing what the next
   * possible weight adds: versions that cannot be installed with the base do not count, so the
   * indicators between two possible weights are one (they hold together in every installation).
   */
  private addSelector(soft: Map<Lit, Soft>, k: number, name: number, from: number, possible: Uint8Array): void {
    let next = Infinity;
    for (const i of this.versionsOf[name]) {
      const w = this.weight(k, i);
      if (w > from && w < next && possible[i] === 1) next = w;
    }
    if (next === Infinity) return;
    soft.set(posLit(this.selector(k, name, from + 1)), { kind: 'selector', name, j: from + 1, top: next, weight: next - from });
  }

  /** Counter variables of retired guards (their clauses satisfied for good) become free again. */
  private releaseVars(): void {
    const kept: { guard: number; vars: number[] }[] = [];
    for (const u of this.usedVars) {
      if (this.sat.fixedValue(u.guard) !== -1) kept.push(u);
      else for (const v of u.vars) if (this.sat.fixedValue(v) === 0) this.freeVars.push(v);
    }
    this.usedVars = kept;
  }

  private auxVar(inUse: number[]): number {
    const v = this.freeVars.pop() ?? this.sat.newVar();
    inUse.push(v);
    return v;
  }

  /** The versions of `name` of weight ≥ j in level `k`, as true literals. */
  private heavyVersions(k: number, name: number, j: number): Lit[] {
    const out: Lit[] = [];
    for (const i of this.versionsOf[name]) if (this.weight(k, i) >= j) out.push(posLit(i + 1));
    return out;
  }

  /**
   * A totaliser over `inputs` (each true when one of its literals is): outputs o_1…o_n (as
   * variables, index i − 1) with "at least i inputs true → o_i", every clause holding ¬guard.
   */
  private counter(inputs: readonly (readonly Lit[])[], guard: number, inUse: number[]): number[] {
    if (inputs.length === 1) {
      const o = this.auxVar(inUse);
      for (const l of inputs[0]) this.sat.addClauseKeeping([negLit(guard), l ^ 1, posLit(o)]);
      return [o];
    }
    const half = inputs.length >> 1;
    const a = this.counter(inputs.slice(0, half), guard, inUse);
    const b = this.counter(inputs.slice(half), guard, inUse);
    const out: number[] = [];
    for (let i = 0; i < a.length + b.length; i++) out.push(this.auxVar(inUse));
    for (let i = 0; i <= a.length; i++) {
      for (let j = 0; j <= b.length; j++) {
        if (i + j === 0) continue;
        const lits = [negLit(guard), posLit(out[i + j - 1])];
        if (i > 0) lits.push(negLit(a[i - 1]));
        if (j > 0) lits.push(negLit(b[j - 1]));
        this.sat.addClauseKeeping(lits);
      }
    }
    return out;
  }
}
