/**
 * A small CDCL SAT solver: two watched literals, first-UIP clause learning with non-chronological
 * backjumping, and incremental solving under assumptions (MiniSat style: each assumption is a decision
 * of its own level, learned clauses are kept between solves because they follow from the clauses alone).
 *
 * The decision heuristic is supplied by the caller (`Brancher`): the package encoding decides
 * "install the newest candidate of the first unsatisfied dependency", which keeps every solve inside
 * the dependency cone of its target and makes results deterministic; it may also report a conflict it
 * sees (`reportConflict`, e.g. a lower bound of an objective above its bound). The search is complete for any
 * brancher that only ever returns unassigned literals: learned clauses forbid every refuted partial
 * assignment, so the search ends with a model or with a conflict at the assumption levels.
 *
 * Objectives (`addObjective`): weighted sums Σ weight(v)·v, each of which a query may bound
 * (`setObjectiveBound`, pseudo-Boolean constraints Σ ≤ bound) under a guard assumption
 * (`setObjectiveGuard`). A bound is checked whenever one of its weighted variables becomes true; a
 * violation is a conflict whose clause is `¬guard ∨ ¬v1 ∨ … ∨ ¬vk` (true variables heavy enough to
 * exceed the bound). Clauses learned from it all hold `¬guard`, so they are harmless once the guard is
 * retired (`retireObjective` makes it false for good): the optimisation of one query never constrains
 * the next one.
 *
 * Variables are numbered from 1. A literal is `2 * v` (v true) or `2 * v + 1` (v false).
 */

export type Lit = number;

export function posLit(v: number): Lit {
  return v << 1;
}
export function negLit(v: number): Lit {
  return (v << 1) | 1;
}
export function litVar(l: Lit): number {
  return l >> 1;
}
export function litNeg(l: Lit): Lit {
  return l ^ 1;
}
export function litIsNeg(l: Lit): boolean {
  return (l & 1) === 1;
}

/**
 * Picks the next decision: an unassigned literal, or 0 when the assignment is complete (a model), or
 * `CONFLICT` after `SatSolver.reportConflict` (the brancher saw that no model extends the assignment).
 */
export type Brancher = (solver: SatSolver) => Lit;

export const CONFLICT = -1;

export type SolveResult =
  | { sat: true }
  /**
   * `failed` lists the assumptions (a subset) that together cannot hold; `exhausted`: the solve gave up
   * at its conflict limit (`solve`'s `maxConflicts`), nothing is known.
   */
  | { sat: false; failed: Lit[]; exhausted?: true };

/** What a deleted clause's slot holds (its literals are never read again). */
const NO_CLAUSE = new Int32Array(0);
/** Learned clauses between two purges of the clauses satisfied at level 0 (\`purgeSatisfied\`). */
const PURGE_EVERY = 50000;

const UNDEF = 0;
const TRUE = 1;
const FALSE = -1;

export class SatSolver {
  private nVars = 0;
  /** Per variable: 1 true, -1 false, 0 unassigned. Index 0 unused. */
  private assigns = new Int8Array(16);
  private levels = new Int32Array(16);
  /** Clause index that forced the variable, or -1 for decisions and level-0 units. */
  private reasons = new Int32Array(16);
  private seen = new Uint8Array(16);
  private trail = new Int32Array(16);
  private trailSize = 0;
  private trailLim: number[] = [];
  private qhead = 0;
  /** Clause literals; the first two are watched. */
  private clauses: Int32Array[] = [];
  private learnt: boolean[] = [];
  /**
   * Per literal L, the clauses watching ¬L (visited when L becomes true), as pairs (clause index,
   * blocker literal): when the blocker is true the clause is satisfied and is not even read.
   */
  private watches: number[][] = [[], []];
  /**
   * At-most-one groups (a package name's versions, a conflict class): per variable, the groups it is in.
   * They propagate natively: a member made true makes every other member false, with a binary reason
   * `¬other ∨ ¬member` built only when conflict analysis reads it.
   */
  private groupsOf: (number[] | undefined)[] = [undefined];
  private groups: Int32Array[] = [];
  /**
   * Triggered clauses: clauses containing `¬v` that only matter once `v` is true (a package's
   * dependencies). They are attached (watched) when `v` first becomes true, so a solve only pays for
   * the clauses of the packages it actually installs, not for the whole universe; `compact` detaches
   * them again between solves once too many have accumulated.
   */
  private triggered: (number[] | undefined)[] = [undefined];
  private attachedLazy = new Uint8Array(16);
  private lazyAttachedCount = 0;
  private deleted = new Uint8Array(16);
  private lazy = new Uint8Array(16);
  /** Detach triggered clauses (and forget long learned clauses) when this many are attached. */
  compactThreshold = 4000;
  /** False once the clause set is unsatisfiable without any assumption. */
  private ok = true;
  /** Per objective: weight per variable (0 for most), Σ weight of the variables true now, its bound. */
  private weights: Float64Array[] = [];
  private weightedSums: number[] = [];
  private bounds: number[] = [];
  /** The guard of the bounds (0: no bound in force). */
  private objectiveGuard = 0;
  /** Statistics, for benchmarks. */
  /** Counts backtracks and solve starts: a brancher caching a position in the trail resets it on change. */
  backtracks = 0;
  stats = { conflicts: 0, decisions: 0, propagations: 0, learnt: 0, solves: 0, watchVisits: 0 };

  get numVars(): number {
    return this.nVars;
  }

  newVar(): number {
    const v = ++this.nVars;
    if (v >= this.assigns.length) this.grow(v * 2);
    this.watches.push([], []);
    this.groupsOf.push(undefined);
    this.triggered.push(undefined);
    return v;
  }

  private grow(size: number): void {
    const g8 = (a: Int8Array) => {
      const b = new Int8Array(size);
      b.set(a);
      return b;
    };
    const g32 = (a: Int32Array) => {
      const b = new Int32Array(size);
      b.set(a);
      return b;
    };
    this.assigns = g8(this.assigns);
    this.levels = g32(this.levels);
    this.reasons = g32(this.reasons);
    const s = new Uint8Array(size);
    s.set(this.seen);
    this.seen = s;
    this.trail = g32(this.trail);
    this.weights = this.weights.map((old) => {
      const w = new Float64Array(size);
      w.set(old);
      return w;
    });
  }

  /** Value of a literal: 1 true, -1 false, 0 unassigned. */
  value(l: Lit): number {
    const a = this.assigns[l >> 1];
    return l & 1 ? -a : a;
  }

  valueVar(v: number): number {
    return this.assigns[v];
  }

  decisionLevel(): number {
    return this.trailLim.length;
  }

  /** The literals assigned so far, oldest first (valid after a satisfiable `solve` until the next call). */
  trailLiterals(): Int32Array {
    return this.trail.subarray(0, this.trailSize);
  }

  /** How many facts (level-0 assignments) there are: the trail's first literals. */
  get factCount(): number {
    return this.trailLim.length === 0 ? this.trailSize : this.trailLim[0];
  }

  private trueFactList = new Int32Array(0);
  private trueFactsAt = -1;

  /**
   * The true literals among the facts, in trail order (kept until the facts change). A trail starts
   * with thousands of facts, nearly all false (the packages no installation can hold): a walk over the
   * true literals of the trail reads these, then the trail from \`factCount\`, and meets the same
   * literals in the same order as a walk over the whole trail.
   */
  trueFacts(): Int32Array {
    const facts = this.factCount;
    if (this.trueFactsAt !== facts) {
      const out: number[] = [];
      for (let i = 0; i < facts; i++) if ((this.trail[i] & 1) === 0) out.push(this.trail[i]);
      this.trueFactList = Int32Array.from(out);
      this.trueFactsAt = facts;
    }
    return this.trueFactList;
  }

  get trailLength(): number {
    return this.trailSize;
  }

  trailAt(i: number): Lit {
    return this.trail[i];
  }

  /**
   * Adds a clause (only between solves). Duplicate literals are merged, tautologies dropped, literals
   * false at level 0 removed. Returns false when the clause set became unsatisfiable.
   */
  addClause(lits: readonly Lit[]): boolean {
    if (!this.ok) return false;
    if (this.trailLim.length > 0) this.cancelUntil(0);
    // Most callers give their literals in ascending order already (a universe's binary conflicts, a
    // conflict core's clauses): read as given, the same order the sort would give.
    let ascending = true;
    for (let k = 1; k < lits.length; k++) {
      if (lits[k - 1] > lits[k]) {
        ascending = false;
        break;
      }
    }
    const sorted = ascending ? lits : Array.from(lits).sort((a, b) => a - b);
    const out: number[] = [];
    let prev = -1;
    for (const l of sorted) {
      if (litVar(l) < 1 || litVar(l) > this.nVars) throw new Error(`SAT: literal of unknown variable ${litVar(l)}`);
      const val = this.value(l);
      if (val === TRUE || l === (prev ^ 1)) return true; // satisfied, or a tautology
      if (val === FALSE || l === prev) continue;
      out.push(l);
      prev = l;
    }
    if (out.length === 0) {
      this.ok = false;
      return false;
    }
    if (out.length === 1) {
      this.enqueue(out[0], -1);
      if (this.propagate() !== -1) this.ok = false;
      return this.ok;
    }
    this.attach(Int32Array.from(out), false);
    return true;
  }

  /**
   * Adds a clause between solves like `addClause`, but keeps the assignment of the last solve as far
   * as it can (a later `solve` keeping its prefix then keeps it too): with two literals not false
   * the clause is only watched; with one, the assignment goes back to the level of its last false
   * literal, where it implies that one (or is already met by it). Otherwise, or at a conflict, as
   * `addClause` (back to level 0). The literals must be distinct, of known variables, no tautology.
   */
  addClauseKeeping(lits: readonly Lit[]): void {
    if (!this.ok) return;
    if (this.trailLim.length === 0) {
      this.addClause(lits);
      return;
    }
    const c = Int32Array.from(lits);
    let nonFalse = 0;
    for (let k = 0; k < c.length && nonFalse < 2; k++) {
      if (this.value(c[k]) !== FALSE) {
        const t = c[nonFalse];
        c[nonFalse] = c[k];
        c[k] = t;
        nonFalse++;
      }
    }
    if (nonFalse === 0 || c.length < 2) {
      this.addClause(lits);
      return;
    }
    if (nonFalse === 1) {
      // Watch the false literal of the highest level with the other one, and go back to that level.
      let best = 1;
      for (let k = 2; k < c.length; k++) if (this.levels[c[k] >> 1] > this.levels[c[best] >> 1]) best = k;
      const t = c[1];
      c[1] = c[best];
      c[best] = t;
      const level = this.levels[c[1] >> 1];
      if (level === 0) {
        this.addClause(lits);
        return;
      }
      this.cancelUntil(level);
      const ci = this.attach(c, false);
      if (this.value(c[0]) === UNDEF) {
        this.enqueue(c[0], ci);
        if (this.propagate() !== -1) this.cancelUntil(0);
      }
      return;
    }
    this.attach(c, false);
  }

  /**
   * Adds a clause `¬trigger ∨ lits…` that is only watched once `trigger` is true (only between
   * solves). It propagates forward (trigger true → the remaining literals) and detects conflicts, but
   * does not propagate `¬trigger` before the trigger is tried.
   */
  addTriggeredClause(trigger: number, lits: ArrayLike<Lit>): void {
    if (!this.ok) return;
    if (lits.length === 0) {
      this.addClause([negLit(trigger)]);
      return;
    }
    // A trigger not assigned yet: the clause waits, whatever the assignment is.
    if (this.trailLim.length > 0 && this.assigns[trigger] !== UNDEF) this.cancelUntil(0);
    const c = new Int32Array(lits.length + 1);
    c[0] = negLit(trigger);
    for (let k = 0; k < lits.length; k++) c[k + 1] = lits[k];
    const idx = this.clauses.length;
    this.clauses.push(c);
    this.learnt.push(false);
    this.ensureClauseFlags(idx + 1);
    this.lazy[idx] = 1;
    (this.triggered[trigger] ??= []).push(idx);
    if (this.assigns[trigger] === TRUE) {
      // Already true at level 0: attach now.
      if (this.activate(idx) !== -1 || this.propagate() !== -1) this.ok = false;
    }
  }

  private ensureClauseFlags(n: number): void {
    if (n <= this.attachedLazy.length) return;
    const size = Math.max(n, this.attachedLazy.length * 2);
    const a = new Uint8Array(size);
    a.set(this.attachedLazy);
    this.attachedLazy = a;
    const d = new Uint8Array(size);
    d.set(this.deleted);
    this.deleted = d;
    const z = new Uint8Array(size);
    z.set(this.lazy);
    this.lazy = z;
  }

  /**
   * Watches a triggered clause whose trigger just became true. Returns the clause index when it is
   * in conflict, else -1 (having enqueued its unit literal if it has one).
   */
  private activate(ci: number): number {
    const c = this.clauses[ci];
    this.attachedLazy[ci] = 1;
    this.lazyAttachedCount++;
    // Move up to two non-false literals (true ones first) to the front.
    let nonFalse = 0;
    for (let pass = 0; pass < 2 && nonFalse < 2; pass++) {
      for (let k = nonFalse; k < c.length && nonFalse < 2; k++) {
        const val = this.value(c[k]);
        if ((pass === 0 && val === TRUE) || (pass === 1 && val === UNDEF)) {
          const t = c[nonFalse];
          c[nonFalse] = c[k];
          c[k] = t;
          nonFalse++;
        }
      }
    }
    // Fill the remaining watch slots with the false literals of the highest levels.
    for (let slot = nonFalse; slot < 2 && slot < c.length; slot++) {
      let best = slot;
      for (let k = slot + 1; k < c.length; k++) if (this.levels[c[k] >> 1] > this.levels[c[best] >> 1]) best = k;
      const t = c[slot];
      c[slot] = c[best];
      c[best] = t;
    }
    this.watches[c[0] ^ 1].push(ci, c[1]);
    this.watches[c[1] ^ 1].push(ci, c[0]);
    if (nonFalse === 0) return ci;
    if (nonFalse === 1 && this.value(c[0]) === UNDEF) this.enqueue(c[0], ci);
    return -1;
  }

  /**
   * Rebuilds the watch lists from the permanent clauses, detaching every triggered clause and dropping
   * learned clauses longer than `keepLearnt` literals. Only at level 0.
   */
  private compact(keepLearnt = 8): void {
    // The lists are refilled in place (their storage kept: a solve compacts hundreds of times), then
    // cut to their new length: the same lists as emptied and pushed to.
    const watches = this.watches;
    if (this.watchFill.length < watches.length) this.watchFill = new Int32Array(watches.length * 2);
    const fill = this.watchFill;
    fill.fill(0, 0, watches.length);
    this.lazyAttachedCount = 0;
    for (let ci = 0; ci < this.clauses.length; ci++) {
      const c = this.clauses[ci];
      if (this.deleted[ci]) continue;
      if (this.learnt[ci] && c.length > keepLearnt) {
        this.deleted[ci] = 1;
        this.clauses[ci] = NO_CLAUSE;
        continue;
      }
      if (!this.lazy[ci] && this.satisfiedAtLevelZero(c)) {
        // Never unit nor in conflict again (e.g. learned under a retired objective guard): dropping it
        // changes no propagation, only the cost of visiting it.
        this.deleted[ci] = 1;
        this.clauses[ci] = NO_CLAUSE;
        continue;
      }
      if (this.lazy[ci]) {
        this.attachedLazy[ci] = 0;
        continue;
      }
      const a = c[0] ^ 1;
      const wa = watches[a];
      let f = fill[a];
      wa[f++] = ci;
      wa[f++] = c[1];
      fill[a] = f;
      const b = c[1] ^ 1;
      const wb = watches[b];
      f = fill[b];
      wb[f++] = ci;
      wb[f++] = c[0];
      fill[b] = f;
    }
    for (let l = 0; l < watches.length; l++) if (watches[l].length !== fill[l]) watches[l].length = fill[l];
    // Triggers fixed true at level 0 keep their clauses attached.
    for (let i = 0; i < this.trailSize; i++) {
      const l = this.trail[i];
      if (l & 1) continue;
      for (const ci of this.triggered[l >> 1] ?? []) if (!this.attachedLazy[ci] && this.activate(ci) !== -1) this.ok = false;
    }
  }

  /** Scratch of `compact`: per literal, how much of its watch list is refilled. */
  private watchFill = new Int32Array(0);

  private satisfiedAtLevelZero(c: Int32Array): boolean {
    for (let k = 0; k < c.length; k++) {
      const l = c[k];
      if (this.levels[l >> 1] === 0 && this.value(l) === TRUE) return true;
    }
    return false;
  }

  /** At most one of `vars` is true (only between solves). */
  addAtMostOne(vars: readonly number[]): boolean {
    if (vars.length < 2 || !this.ok) return this.ok;
    if (this.trailLim.length > 0) this.cancelUntil(0);
    const g = this.groups.length;
    this.groups.push(Int32Array.from(vars));
    let trueCount = 0;
    for (const v of vars) {
      (this.groupsOf[v] ??= []).push(g);
      if (this.assigns[v] === TRUE) trueCount++;
    }
    if (trueCount > 1) {
      this.ok = false;
      return false;
    }
    if (trueCount === 1) {
      // Re-run propagation of the true member against the new group.
      for (const v of vars) {
        if (this.assigns[v] !== TRUE) continue;
        for (const q of vars) if (q !== v && this.assigns[q] === UNDEF) this.enqueue(negLit(q), -2 - v);
      }
      if (this.propagate() !== -1) this.ok = false;
    }
    return this.ok;
  }

  /** The literals of a reason (the implied literal first). */
  private reasonLits(r: number, implied: Lit): Int32Array {
    if (r <= -2) return Int32Array.of(implied, negLit(-2 - r));
    const c = this.clauses[r];
    if (c[0] !== implied) {
      const k = c.indexOf(implied);
      c[k] = c[0];
      c[0] = implied;
    }
    return c;
  }

  private attach(c: Int32Array, learnt: boolean): number {
    const idx = this.clauses.length;
    this.clauses.push(c);
    this.learnt.push(learnt);
    this.ensureClauseFlags(idx + 1);
    this.watches[c[0] ^ 1].push(idx, c[1]);
    this.watches[c[1] ^ 1].push(idx, c[0]);
    return idx;
  }

  private enqueue(l: Lit, reason: number): void {
    const v = l >> 1;
    this.assigns[v] = l & 1 ? FALSE : TRUE;
    this.levels[v] = this.trailLim.length;
    this.reasons[v] = reason;
    this.trail[this.trailSize++] = l;
    if ((l & 1) === 0) for (let k = 0; k < this.weights.length; k++) this.weightedSums[k] += this.weights[k][v];
  }

  /** Unit propagation; returns the index of a conflicting clause or -1. */
  private propagate(): number {
    const assigns = this.assigns;
    const clauses = this.clauses;
    const watches = this.watches;
    while (this.qhead < this.trailSize) {
      const p = this.trail[this.qhead++]; // p became true: visit clauses watching ¬p being false, i.e. watches[p]
      if (this.objectiveGuard !== 0 && (p & 1) === 0 && assigns[this.objectiveGuard] === TRUE) {
        for (let k = 0; k < this.weights.length; k++) {
          if (this.weightedSums[k] > this.bounds[k] && (this.weights[k][p >> 1] > 0 || p >> 1 === this.objectiveGuard)) {
            this.qhead = this.trailSize;
            return this.objectiveConflict(k, p >> 1);
          }
        }
      }
      const ws = watches[p];
      const falseLit = p ^ 1;
      let i = 0;
      let j = 0;
      const n = ws.length;
      this.stats.propagations++;
      this.stats.watchVisits += n >> 1;
      while (i < n) {
        const ci = ws[i];
        const blocker = ws[i + 1];
        i += 2;
        const ba = assigns[blocker >> 1];
        if ((blocker & 1 ? -ba : ba) === TRUE) {
          ws[j++] = ci;
          ws[j++] = blocker;
          continue;
        }
        const c = clauses[ci];
        if (c[0] === falseLit) {
          c[0] = c[1];
          c[1] = falseLit;
        } else if (c[1] !== falseLit) continue; // a stale watch (the clause moved on): drop it
        const first = c[0];
        const fa = assigns[first >> 1];
        const firstVal = first & 1 ? -fa : fa;
        if (firstVal === TRUE) {
          ws[j++] = ci;
          ws[j++] = first;
          continue;
        }
        let found = false;
        for (let k = 2; k < c.length; k++) {
          const l = c[k];
          const a = assigns[l >> 1];
          if ((l & 1 ? -a : a) !== FALSE) {
            c[1] = l;
            c[k] = falseLit;
            watches[l ^ 1].push(ci, first);
            found = true;
            break;
          }
        }
        if (found) continue;
        ws[j++] = ci;
        ws[j++] = first;
        if (firstVal === FALSE) {
          while (i < n) ws[j++] = ws[i++];
          ws.length = j;
          this.qhead = this.trailSize;
          return ci;
        }
        this.enqueue(first, ci);
      }
      if (j !== n) ws.length = j;
      if ((p & 1) === 0) {
        const v = p >> 1;
        const gs = this.groupsOf[v];
        if (gs !== undefined) {
          for (let gi = 0; gi < gs.length; gi++) {
            const members = this.groups[gs[gi]];
            for (let k = 0; k < members.length; k++) {
              const q = members[k];
              if (q === v) continue;
              const a = assigns[q];
              if (a === UNDEF) this.enqueue(negLit(q), -2 - v);
              else if (a === TRUE) {
                this.qhead = this.trailSize;
                return this.attach(Int32Array.of(negLit(v), negLit(q)), false);
              }
            }
          }
        }
        const lazy = this.triggered[v];
        if (lazy !== undefined) {
          for (let k = 0; k < lazy.length; k++) {
            const ci = lazy[k];
            if (this.attachedLazy[ci]) continue;
            if (this.activate(ci) !== -1) {
              this.qhead = this.trailSize;
              return ci;
            }
          }
        }
      }
    }
    return -1;
  }

  private cancelUntil(level: number): void {
    if (this.trailLim.length <= level) return;
    this.backtracks++;
    const lim = this.trailLim[level];
    for (let i = this.trailSize - 1; i >= lim; i--) {
      const l = this.trail[i];
      const v = l >> 1;
      this.assigns[v] = UNDEF;
      this.reasons[v] = -1;
      if ((l & 1) === 0) for (let k = 0; k < this.weights.length; k++) this.weightedSums[k] -= this.weights[k][v];
    }
    this.trailSize = lim;
    this.qhead = lim;
    this.trailLim.length = level;
  }

  /** First-UIP analysis; returns the learned clause (asserting literal first) and the backjump level. */
  private analyze(confl: number): { learnt: number[]; level: number } {
    const out: number[] = [0];
    let pathC = 0;
    let p = -1;
    let index = this.trailSize - 1;
    const level = this.trailLim.length;
    const toClear: number[] = [];
    let c: Int32Array = this.clauses[confl];
    for (;;) {
      for (let k = p === -1 ? 0 : 1; k < c.length; k++) {
        const q = c[k];
        const v = q >> 1;
        if (this.seen[v] || this.levels[v] === 0) continue;
        this.seen[v] = 1;
        toClear.push(v);
        if (this.levels[v] >= level) pathC++;
        else out.push(q);
      }
      while (!this.seen[this.trail[index] >> 1]) index--;
      p = this.trail[index];
      index--;
      const pv = p >> 1;
      this.seen[pv] = 0;
      pathC--;
      if (pathC <= 0) break;
      c = this.reasonLits(this.reasons[pv], p);
    }
    out[0] = p ^ 1;
    for (const v of toClear) this.seen[v] = 0;
    // Backjump to the second highest level of the clause, and watch a literal of that level.
    let bt = 0;
    if (out.length > 1) {
      let maxI = 1;
      for (let k = 2; k < out.length; k++) if (this.levels[out[k] >> 1] > this.levels[out[maxI] >> 1]) maxI = k;
      const t = out[1];
      out[1] = out[maxI];
      out[maxI] = t;
      bt = this.levels[out[1] >> 1];
    }
    return { learnt: out, level: bt };
  }

  /** The assumptions that imply ¬p (p being the assumption found false). */
  private analyzeFinal(p: Lit): Lit[] {
    const failed = [p];
    if (this.trailLim.length === 0) return failed;
    const v0 = p >> 1;
    this.seen[v0] = 1;
    for (let i = this.trailSize - 1; i >= this.trailLim[0]; i--) {
      const v = this.trail[i] >> 1;
      if (!this.seen[v]) continue;
      const r = this.reasons[v];
      if (r === -1) {
        // A decision below the failed assumption is an assumption (possibly its very negation).
        if (this.levels[v] > 0) failed.push(this.trail[i]);
      } else {
        const c = this.reasonLits(r, this.trail[i]);
        for (let k = 1; k < c.length; k++) if (this.levels[c[k] >> 1] > 0) this.seen[c[k] >> 1] = 1;
      }
      this.seen[v] = 0;
    }
    this.seen[v0] = 0;
    return failed;
  }

  /**
   * Solves under assumptions. On success the assignment stays readable (`value`, `trailLiterals`)
   * until the next call to `solve` or `addClause`.
   */
  solve(assumptions: readonly Lit[], branch: Brancher, maxConflicts = Infinity, keepPrefix = false): SolveResult {
    this.stats.solves++;
    const conflictLimit = this.stats.conflicts + maxConflicts;
    // With `keepPrefix`, the levels of the assumptions this call shares with the previous one (in the
    // same order, nothing added in between) are kept: their propagation is the same.
    let keep = 0;
    const previous = this.lastAssumptions;
    if (keepPrefix && previous !== null && !(this.lazyAttachedCount > this.compactThreshold)) {
      const limit = Math.min(previous.length, assumptions.length, this.trailLim.length);
      while (keep < limit && previous[keep] === assumptions[keep]) keep++;
    }
    this.lastAssumptions = keepPrefix ? [...assumptions] : null;
    this.cancelUntil(keep);
    this.backtracks++;
    if (keep === 0) {
      if (this.lazyAttachedCount > this.compactThreshold && this.ok) this.compact();
      if (!this.ok) return { sat: false, failed: [] };
      if (this.propagate() !== -1) {
        this.ok = false;
        return { sat: false, failed: [] };
      }
    }
    for (;;) {
      const confl = this.propagate();
      if (confl !== -1) {
        this.stats.conflicts++;
        if (this.stats.conflicts > conflictLimit) {
          this.cancelUntil(0);
          return { sat: false, failed: [], exhausted: true };
        }
        if (this.trailLim.length === 0) {
          this.ok = false;
          return { sat: false, failed: [] };
        }
        const { learnt, level } = this.analyze(confl);
        this.cancelUntil(level);
        if (learnt.length === 1) {
          // A fact: holds at level 0, where it is kept.
          this.cancelUntil(0);
          this.enqueue(learnt[0], -1);
        } else {
          const ci = this.attach(Int32Array.from(learnt), true);
          this.stats.learnt++;
          this.enqueue(learnt[0], ci);
        }
        continue;
      }
      // Assumptions first, one level each.
      let next = 0;
      while (this.trailLim.length < assumptions.length) {
        const a = assumptions[this.trailLim.length];
        const val = this.value(a);
        if (val === TRUE) {
          this.trailLim.push(this.trailSize); // dummy level
        } else if (val === FALSE) {
          const failed = this.analyzeFinal(a);
          return { sat: false, failed };
        } else {
          next = a;
          break;
        }
      }
      if (next === 0) {
        next = branch(this);
        if (next === 0) return { sat: true };
        if (next === CONFLICT) {
          this.stats.conflicts++;
          this.learnReported();
          continue;
        }
        if (this.value(next) !== UNDEF) throw new Error('SAT: the brancher chose an assigned literal');
        this.stats.decisions++;
      }
      this.trailLim.push(this.trailSize);
      this.enqueue(next, -1);
    }
  }

  /** The assumptions of the last `solve` that kept its prefix (null after any other). */
  private lastAssumptions: Lit[] | null = null;

  /** A new weighted sum (all weights 0, no bound); returns its index. */
  addObjective(): number {
    this.weights.push(new Float64Array(this.assigns.length));
    this.weightedSums.push(0);
    this.bounds.push(Infinity);
    return this.weights.length - 1;
  }

  /** Sets the weight of variable `v` in objective `k` (only between solves). */
  setWeight(k: number, v: number, w: number): void {
    if (this.trailLim.length > 0) this.cancelUntil(0);
    if (this.assigns[v] === TRUE) this.weightedSums[k] += w - this.weights[k][v];
    this.weights[k][v] = w;
  }

  weightOf(k: number, v: number): number {
    return this.weights[k][v];
  }

  /** The weights of objective `k` by variable (the solver's own array: read it, never write it). */
  weightsOf(k: number): Float64Array {
    return this.weights[k];
  }

  /**
   * The guard of the bounds: they hold only in the solves that assume it true (a variable used for
   * nothing else). Tightening bounds under the same guard keeps what was learned.
   */
  setObjectiveGuard(guard: number): void {
    if (this.trailLim.length > 0) this.cancelUntil(0);
    this.objectiveGuard = guard;
  }

  /** Σ weight of objective `k` ≤ bound while the guard holds (Infinity: no bound). */
  setObjectiveBound(k: number, bound: number): void {
    if (this.trailLim.length > 0) this.cancelUntil(0);
    this.bounds[k] = bound;
  }

  /** Ends the bounds: their guard becomes false at level 0, which satisfies every clause learned from them. */
  retireObjective(): void {
    const g = this.objectiveGuard;
    this.objectiveGuard = 0;
    this.bounds.fill(Infinity);
    if (g !== 0) this.addClause([negLit(g)]);
    if (this.ok && this.stats.learnt - this.learntAtPurge > PURGE_EVERY) this.purgeSatisfied();
  }

  private learntAtPurge = 0;

  /**
   * Drops from the watch lists the clauses satisfied at level 0 (above all those learned under a
   * retired objective guard), keeping the order of the others: such a clause never becomes unit nor
   * in conflict, so propagation, conflicts and what is learned stay exactly the same, only the cost of
   * visiting it goes (a plan learns millions of them, and \`compact\` runs only as triggered clauses
   * pile up). Triggered clauses are left to \`compact\`. Only at level 0.
   */
  private purgeSatisfied(): void {
    this.learntAtPurge = this.stats.learnt;
    if (this.trailLim.length > 0) this.cancelUntil(0);
    // Per clause: 0 not looked at yet, 1 kept, 2 dropped.
    const verdict = new Uint8Array(this.clauses.length);
    for (const ws of this.watches) {
      let j = 0;
      for (let i = 0; i < ws.length; i += 2) {
        const ci = ws[i];
        let v = verdict[ci];
        if (v === 0) {
          v = !this.lazy[ci] && !this.deleted[ci] && this.satisfiedAtLevelZero(this.clauses[ci]) ? 2 : 1;
          verdict[ci] = v;
          if (v === 2) {
            this.deleted[ci] = 1;
            this.clauses[ci] = NO_CLAUSE;
          }
        }
        if (v === 2) continue;
        ws[j++] = ci;
        ws[j++] = ws[i + 1];
      }
      ws.length = j;
    }
  }

  /** The bound of objective `k` (Infinity when none is in force). */
  boundOf(k: number): number {
    return this.objectiveGuard === 0 ? Infinity : this.bounds[k];
  }

  get guard(): number {
    return this.objectiveGuard;
  }

  get objectiveCount(): number {
    return this.weights.length;
  }

  /** Whether making `v` true now would keep every bound. */
  fitsBounds(v: number): boolean {
    if (this.objectiveGuard === 0) return true;
    for (let k = 0; k < this.weights.length; k++) if (this.weightedSums[k] + this.weights[k][v] > this.bounds[k]) return false;
    return true;
  }

  /** Σ weight of objective `k` over the variables true now (after a satisfiable solve: the model's). */
  weightedSum(k: number): number {
    return this.weightedSums[k];
  }

  /**
   * The clause of a violated bound: the guard, the variable that just became true and the heaviest
   * other true variables, until their weights alone exceed the bound; highest decision levels first
   * (so that the two watched literals are the last to be unassigned).
   */
  private objectiveConflict(k: number, last: number): number {
    const weights = this.weights[k];
    const bound = this.bounds[k];
    const heavy: number[] = [];
    const facts = this.trueFacts();
    for (let i = 0; i < facts.length; i++) {
      const l = facts[i];
      if (weights[l >> 1] > 0 && l >> 1 !== last) heavy.push(l >> 1);
    }
    for (let i = this.factCount; i < this.trailSize; i++) {
      const l = this.trail[i];
      if ((l & 1) === 0 && weights[l >> 1] > 0 && l >> 1 !== last) heavy.push(l >> 1);
    }
    heavy.sort((a, b) => weights[b] - weights[a] || this.levels[b] - this.levels[a]);
    // The variable that just became true comes first: the clause then has a literal of the current level.
    const picked: number[] = [this.objectiveGuard];
    let sum = 0;
    if (last !== this.objectiveGuard) {
      picked.push(last);
      sum = weights[last];
    }
    for (const v of heavy) {
      if (sum > bound) break;
      picked.push(v);
      sum += weights[v];
    }
    picked.sort((a, b) => this.levels[b] - this.levels[a]);
    this.stats.learnt++;
    return this.attach(
      Int32Array.from(picked, (v) => negLit(v)),
      true,
    );
  }

  private reported: Lit[] | null = null;

  /**
   * For a brancher: `lits` is a clause that follows from the clauses and the bounds and that the current
   * assignment falsifies (it must hold `¬guard` when it rests on a bound); return `CONFLICT` next.
   */
  reportConflict(lits: Lit[]): void {
    for (const l of lits) if (this.value(l) !== FALSE) throw new Error('SAT: a reported conflict must be false');
    this.reported = lits;
  }

  /** Learns from a reported conflict: back to its highest level, then the usual analysis. */
  private learnReported(): void {
    const lits = [...(this.reported ?? [])].sort((a, b) => this.levels[b >> 1] - this.levels[a >> 1]);
    this.reported = null;
    const top = lits.length === 0 ? 0 : this.levels[lits[0] >> 1];
    if (top === 0 || lits.length === 1) {
      // False at level 0: no model at all; a single literal: it is a fact.
      this.cancelUntil(0);
      if (lits.length === 0 || top === 0) this.ok = false;
      else this.enqueue(lits[0], -1);
      return;
    }
    this.cancelUntil(top);
    const ci = this.attach(Int32Array.from(lits), true);
    this.stats.learnt++;
    const { learnt, level } = this.analyze(ci);
    this.cancelUntil(level);
    if (learnt.length === 1) {
      this.cancelUntil(0);
      this.enqueue(learnt[0], -1);
    } else {
      const li = this.attach(Int32Array.from(learnt), true);
      this.stats.learnt++;
      this.enqueue(learnt[0], li);
    }
  }

  /** True when the clauses alone (no assumption) are already known unsatisfiable. */
  get inconsistent(): boolean {
    return !this.ok;
  }

  /** Level-0 value of a variable (facts), 0 when not fixed. */
  fixedValue(v: number): number {
    return this.levels[v] === 0 ? this.assigns[v] : 0;
  }

  /** Number of clauses (original and learned). */
  get numClauses(): number {
    return this.clauses.length;
  }
}
