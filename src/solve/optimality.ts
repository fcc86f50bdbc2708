/**
 * A cheap proof that a first installation is already opam's optimum, so that the optimisation loop
 * (`Universe.optimalModel`: models under ever tighter bounds, ending with an unsatisfiable solve per
 * criteria level) can be skipped. On the real snapshot the first installation of nearly every target is
 * the optimum, and proving it with the SAT core costs ~20× finding it.
 *
 * The proof is a lower bound per criteria level, in opam's order, met by the installation: when
 * every level's bound equals its cost, no installation is better and the loop would return this one
 * unchanged (it only replaces the installation by a strictly better one). Sound facts only:
 *
 * - `possible`: the packages that can be in an installation keeping the switch (the base): available,
 *   not known uninstallable, no other version of a base name, not in conflict (or a conflict class)
 *   with a base package, and every dependency clause with a possible candidate (a fixpoint). Computed
 *   once per universe.
 * - Forced names: the target is in every installation; a dependency clause not satisfied by the base
 *   whose allowed candidates all have one name forces that name, with those versions. A name forced
 *   with several versions forces what every one of its versions forces (versions: the union). A
 *   version all of whose candidates of some clause are ruled out is ruled out itself.
 * - The bound of a level: the sum, over the forced names, of the least weight among their versions.
 * - Once a level's bound is met, any optimal installation has each forced name at one of its
 *   least-weight versions and every other name at weight 0 in that level: the next levels only
 *   allow those (`allowed`), which forces more.
 *
 * When a bound is not met (a real choice, or a bound too weak), nothing is concluded: the caller runs
 * the optimisation loop as before.
 */

/** What the proof reads from the encoded universe (`Universe` implements it). */
export interface ProofUniverse {
  readonly size: number;
  /** Per package: the index of its name. */
  readonly nameIndex: Int32Array;
  /** Per package: its dependency clauses' candidates. */
  clausesOf(i: number): readonly { candidates: Int32Array }[];
  /** Per package: the packages with a dependency clause it is a candidate of (repeats allowed). */
  dependents(i: number): Iterable<number>;
  /** Per package: the packages it conflicts with. */
  conflictsOf(i: number): Iterable<number>;
  /** The weight of package `i` in criteria level `k`. */
  weight(k: number, i: number): number;
  readonly levels: number;
}

/** Per level whose bound was met: the least-weight versions of each forced name (others must weigh 0). */
type Restriction = Map<number, Set<number>>;

export class OptimalityProof {
  /** Stamps for per-call scratch marks (candidates seen, versions kept). */
  private readonly mark: Int32Array;
  private stamp = 0;

  constructor(
    private readonly u: ProofUniverse,
    /** Per package: 1 when it can be in an installation that keeps the base. */
    private readonly possible: Uint8Array,
    /** Per package: 1 when in the base (weight 0 everywhere, satisfies every clause it is a candidate of). */
    private readonly inBase: Uint8Array,
  ) {
    this.mark = new Int32Array(u.size);
  }

  /**
   * Whether no installation holding `target` and the base is better than one of cost `costs` (per level)
   * under opam's criteria. `extraClauses`: the target's with-test clauses, when they are in force.
   */
  proves(target: number, costs: readonly number[], extraClauses: readonly { candidates: Int32Array }[] = []): boolean {
    const restrictions: Restriction[] = [];
    for (let k = 0; k < this.u.levels; k++) {
      if (costs[k] === 0) {
        // Met by any bound: every package added weighs 0 in this level.
        restrictions.push(new Map());
        continue;
      }
      const allowed = (v: number): boolean => {
        if (this.inBase[v]) return true;
        if (!this.possible[v]) return false;
        for (let j = 0; j < restrictions.length; j++) {
          const versions = restrictions[j].get(this.u.nameIndex[v]);
          if (versions !== undefined ? !versions.has(v) : this.u.weight(j, v) !== 0) return false;
        }
        return true;
      };
      const forced = this.forcedNames(target, allowed, extraClauses);
      if (forced === null) return false;
      let bound = 0;
      const restriction: Restriction = new Map();
      for (const [name, versions] of forced) {
        let least = Infinity;
        for (const v of versions) least = Math.min(least, this.u.weight(k, v));
        bound += least;
        restriction.set(name, new Set([...versions].filter((v) => this.u.weight(k, v) === least)));
      }
      if (Math.abs(bound - costs[k]) > 1e-9) return false;
      restrictions.push(restriction);
    }
    return true;
  }

  /** The packages (other than `target`) every installation of `target` keeping the base holds. */
  forcedPackages(target: number): number[] {
    const forced = this.forcedVersions(target);
    if (forced === null) return [];
    const out: number[] = [];
    for (const versions of forced.values()) if (versions.length === 1 && versions[0] !== target) out.push(versions[0]);
    return out.sort((a, b) => a - b);
  }

  /**
   * The names every installation of `target` keeping the base holds, each with the versions it can
   * have (the base's names apart); null when there is none. `extraClauses` as for `proves`.
   */
  forcedVersions(
    target: number,
    extraClauses: readonly { candidates: Int32Array }[] = OptimalityProof.NO_CLAUSES,
  ): ReadonlyMap<number, readonly number[]> | null {
    // The same target is asked twice in a row (the reuse of an optimum, then the cores): kept once.
    const last = this.lastForced;
    if (last !== null && last.target === target && last.extra === extraClauses) return last.forced;
    const forced = this.forcedNames(target, (v) => this.inBase[v] === 1 || this.possible[v] === 1, extraClauses);
    this.lastForced = { target, extra: extraClauses, forced };
    return forced;
  }

  private lastForced: { target: number; extra: readonly { candidates: Int32Array }[]; forced: Map<number, number[]> | null } | null = null;
  private static readonly NO_CLAUSES: readonly { candidates: Int32Array }[] = [];

  /**
   * Whether no package that can be in an installation keeping the base, other than the members of
   * `set` and the other versions of their names, has a member of `set` among the candidates of a
   * dependency clause.
   */
  closedFromAbove(set: readonly number[]): boolean {
    const names = new Set(set.map((x) => this.u.nameIndex[x]));
    for (const x of set) {
      for (const owner of this.u.dependents(x)) {
        if (names.has(this.u.nameIndex[owner])) continue;
        if (this.possible[owner] === 1 || this.inBase[owner] === 1) return false;
      }
    }
    return true;
  }

  /**
   * The names every allowed installation of `target` holds, each with the versions it can have (never
   * a base name: the base satisfies the clauses it is a candidate of); null when the target itself is
   * ruled out (no allowed installation: nothing to conclude).
   */
  private forcedNames(
    target: number,
    allowed: (v: number) => boolean,
    extraClauses: readonly { candidates: Int32Array }[],
  ): Map<number, number[]> | null {
    const u = this.u;
    const forced = new Map<number, Set<number>>([[u.nameIndex[target], new Set([target])]]);
    /** Packages in conflict with a package every allowed installation holds (a name forced to one version). */
    const excluded = new Set<number>(u.conflictsOf(target));
    const singles = new Set<number>([target]);
    /** Per name read while deducing a forced name (a candidate's name): the forced names to deduce again when it changes. */
    const readers = new Map<number, number[]>();
    let reading = -1;
    // A candidate of a forced name outside that name's versions is ruled out (one version per name).
    const allowedHere = (x: number): boolean => {
      const nx = u.nameIndex[x];
      const r = readers.get(nx);
      // Repeats (the same reader reading again later) only wake it once more: harmless.
      if (r === undefined) readers.set(nx, [reading]);
      else if (r[r.length - 1] !== reading) r.push(reading);
      if (excluded.has(x) || !allowed(x)) return false;
      const versions = forced.get(nx);
      return versions === undefined || versions.has(x);
    };
    // A worklist to the fixpoint: a name is deduced again when a name its versions read narrows, or a
    // package it read is excluded (every deduction only narrows: the fixpoint does not depend on the order).
    const queue: number[] = [u.nameIndex[target]];
    const queued = new Set<number>(queue);
    const wake = (name: number): void => {
      for (const f of readers.get(name) ?? []) {
        if (!queued.has(f)) {
          queued.add(f);
          queue.push(f);
        }
      }
    };
    const changedName = (name: number): void => {
      wake(name);
      const versions = forced.get(name);
      if (versions === undefined || versions.size !== 1) return;
      const [only] = versions;
      if (singles.has(only)) return;
      singles.add(only);
      for (const q of u.conflictsOf(only)) {
        if (excluded.has(q)) continue;
        excluded.add(q);
        wake(u.nameIndex[q]);
      }
    };
    while (queue.length > 0) {
      const name = queue.shift() as number;
      queued.delete(name);
      const versions = forced.get(name) as Set<number>;
      reading = name;
      /** What every version left forces: name → versions (union over those versions). */
      let common: Map<number, Set<number>> | null = null;
      let narrowed = false;
      for (const v of [...versions]) {
        const local = this.forcedBy(v, allowedHere, v === target ? extraClauses : []);
        if (local === null) {
          // v has a clause with no allowed candidate: ruled out.
          versions.delete(v);
          narrowed = true;
          continue;
        }
        if (common === null) {
          common = new Map([...local].map(([n, c]) => [n, new Set(c)]));
        } else {
          for (const [n, c] of common) {
            const l = local.get(n);
            if (l === undefined) common.delete(n);
            else for (const x of l) c.add(x);
          }
        }
      }
      if (versions.size === 0) return null;
      if (narrowed) {
        // Deduced again too: its own versions' union may narrow further.
        if (!queued.has(name)) {
          queued.add(name);
          queue.push(name);
        }
        changedName(name);
      }
      for (const [n, cands] of common ?? []) {
        const before = forced.get(n);
        if (before === undefined) {
          forced.set(n, cands);
          queued.add(n);
          queue.push(n);
          changedName(n);
        } else {
          let changed = false;
          for (const x of [...before]) {
            if (!cands.has(x)) {
              before.delete(x);
              changed = true;
            }
          }
          if (before.size === 0) return null;
          if (changed) {
            if (!queued.has(n)) {
              queued.add(n);
              queue.push(n);
            }
            changedName(n);
          }
        }
      }
    }
    return new Map([...forced].map(([n, v]) => [n, [...v]]));
  }

  /**
   * The names version `v` forces (its clauses unsatisfied by the base whose allowed candidates have one
   * name), each with the allowed candidates (intersected over its clauses); null when a clause has no
   * allowed candidate.
   */
  private forcedBy(v: number, allowed: (v: number) => boolean, extra: readonly { candidates: Int32Array }[]): Map<number, number[]> | null {
    const u = this.u;
    const out = new Map<number, number[]>();
    const clauses = extra.length === 0 ? u.clausesOf(v) : [...u.clausesOf(v), ...extra];
    for (const d of clauses) {
      const c = d.candidates;
      let name = -2;
      let satisfied = false;
      const cands: number[] = [];
      for (let k = 0; k < c.length; k++) {
        const x = c[k];
        if (this.inBase[x]) {
          satisfied = true;
          break;
        }
        if (!allowed(x)) continue;
        const nx = u.nameIndex[x];
        name = name === -2 ? nx : name === nx ? name : -1;
        // Two names: a choice, whatever the other candidates are (even one of the base).
        if (name === -1) break;
        cands.push(x);
      }
      if (satisfied) continue;
      if (cands.length === 0) return null;
      if (name < 0) continue; // several names: a choice, nothing forced
      const before = out.get(name);
      if (before === undefined) out.set(name, cands);
      else {
        const stamp = ++this.stamp;
        for (const x of cands) this.mark[x] = stamp;
        out.set(
          name,
          before.filter((x) => this.mark[x] === stamp),
        );
        if ((out.get(name) as number[]).length === 0) return null;
      }
    }
    return out;
  }
}
