/**
 * The bisection of `ecocheck bisect`, as a pure search: given the commits from a good one to a bad one
 * (oldest first) and the packages to follow, it says which commit to test next and with which
 * packages, takes each test's verdicts, and ends with each package's first bad commit. No I/O: the
 * session builds the compiler at a commit and classifies the packages' results (the oracle).
 *
 * - One package: a binary search over the candidates between its last good and first bad commit,
 *   testing the midpoint: at most ⌈log2(n)⌉ tests for n commits after the good one, and one more only
 *   when the answer is an end the user named and no test has confirmed it: the bad end when every test
 *   was good (the package may never break in the range), the good end when every test was bad (it may
 *   have been broken all along).
 * - Several packages are followed together (one compiler build serves them all) and split when a test
 *   is good for some and bad for others: each keeps its own range, and so gets its own first bad commit.
 * - `skip` (the commit cannot be judged: the compiler does not build there) is `git bisect skip`: the
 *   commit is left out and the untested commit nearest the midpoint is tested instead; if only skipped
 *   commits remain between the last good and the first bad, the answer is the candidates, not one commit.
 * - `spurious` (timeout, out-of-memory, disk limit, fetch failure, internal error: src/results/taxonomy.ts)
 *   says nothing about the package: the same commit is tested again for it, and a second spurious result
 *   makes it a skip.
 */

/** A package's verdict at one commit, as the session classifies its result. */
export type StepVerdict = 'good' | 'bad' | 'skip' | 'spurious';

export interface BisectInput {
  /** Oldest first: the good commit, the commits after it, the bad commit last (at least two). */
  commits: readonly string[];
  /** The packages followed, in the order reports list them. */
  packages: readonly string[];
  /** How many spurious results at one commit make a skip (default 2: retried once). */
  spuriousAttempts?: number;
}

/** The next thing to do: test `packages` at `commit` (its index in the input), or nothing left. */
export type BisectAction = { kind: 'test'; commit: string; index: number; packages: string[]; attempt: number } | { kind: 'done' };

/** One test made: where, for which packages, and what each gave. */
export interface BisectStep {
  commit: string;
  index: number;
  /** 1, or 2 and more for a test repeated after a spurious result. */
  attempt: number;
  verdicts: Record<string, StepVerdict>;
}

/** How the bisection of one package ended. */
export type PackageOutcome =
  /** `commit` is the first bad one; `confirmed` when a test found it bad (false: the bad end, assumed). */
  | { kind: 'first-bad'; package: string; commit: string; index: number; confirmed: boolean }
  /** Skipped commits leave several candidates (oldest first, the last one is bad): the first bad is one of them. */
  | { kind: 'candidates'; package: string; commits: string[]; indexes: number[] }
  /** Good at the bad end too: it does not break in the range. */
  | { kind: 'never-bad'; package: string }
  /** Bad at the good end already: it does not break in the range, it was broken before. */
  | { kind: 'already-bad'; package: string };

export interface BisectResult {
  outcomes: PackageOutcome[];
  steps: BisectStep[];
  /** Distinct commits tested: the compiler builds the bisection needed. */
  commitsTested: number;
}

interface PackageState {
  /** Index of the newest commit known good, and of the oldest known bad. */
  lo: number;
  hi: number;
  loTested: boolean;
  hiTested: boolean;
  skipped: Set<number>;
  spurious: Map<number, number>;
  end: 'never-bad' | 'already-bad' | null;
}

/** ⌈log2(n)⌉ for n ≥ 1: the tests a binary search needs to tell n candidates apart. */
export function ceilLog2(n: number): number {
  let steps = 0;
  while (2 ** steps < n) steps++;
  return steps;
}

export class BisectSearch {
  readonly commits: readonly string[];
  readonly packages: readonly string[];
  private readonly attempts: number;
  private readonly state = new Map<string, PackageState>();
  /** Retries owed after a spurious result: commit index → packages. */
  private readonly retries = new Map<number, Set<string>>();
  private readonly history: BisectStep[] = [];

  constructor(input: BisectInput) {
    if (input.commits.length < 2) throw new RangeError('a bisection needs a good and a bad commit');
    if (input.packages.length === 0) throw new RangeError('a bisection needs a package to follow');
    if (new Set(input.packages).size !== input.packages.length) throw new RangeError('a package is named twice');
    this.commits = [...input.commits];
    this.packages = [...input.packages];
    this.attempts = Math.max(1, input.spuriousAttempts ?? 2);
    const last = this.commits.length - 1;
    for (const p of this.packages)
      this.state.set(p, { lo: 0, hi: last, loTested: false, hiTested: false, skipped: new Set(), spurious: new Map(), end: null });
  }

  get steps(): readonly BisectStep[] {
    return this.history;
  }

  /** Distinct commits tested so far. */
  get commitsTested(): number {
    return new Set(this.history.map((s) => s.index)).size;
  }

  /** The index a package wants tested next, or null when its answer is known. */
  private wanted(s: PackageState): number | null {
    if (s.end !== null) return null;
    const mid = s.lo + Math.floor((s.hi - s.lo) / 2);
    // The untested, unskipped commit nearest the midpoint (the later one first on a tie).
    for (let d = 0; mid + d < s.hi || mid - d > s.lo; d++) {
      for (const i of [mid + d, mid - d]) if (i > s.lo && i < s.hi && !s.skipped.has(i)) return i;
    }
    const last = this.commits.length - 1;
    // Only the ends the user named are left: confirm the one the answer rests on, once (the bad end
    // first: a package good there never breaks in the range, whatever the good end says).
    if (s.hi === last && !s.hiTested && !s.skipped.has(last)) return last;
    if (s.lo === 0 && !s.loTested && !s.skipped.has(0)) return 0;
    return null;
  }

  next(): BisectAction {
    for (const [index, packages] of this.retries) {
      const list = this.packages.filter((p) => packages.has(p));
      const attempt = Math.max(...list.map((p) => this.state.get(p)!.spurious.get(index) ?? 0)) + 1;
      return { kind: 'test', commit: this.commits[index], index, packages: list, attempt };
    }
    // The commit most packages want; on a tie, the one the first of them (in the input's order) wants.
    const votes = new Map<number, number>();
    for (const p of this.packages) {
      const w = this.wanted(this.state.get(p)!);
      if (w !== null) votes.set(w, (votes.get(w) ?? 0) + 1);
    }
    if (votes.size === 0) return { kind: 'done' };
    const best = Math.max(...votes.values());
    const index = [...votes.entries()].find(([, n]) => n === best)![0];
    // Tested there too: every package for which that commit is still undecided (the compiler is built anyway).
    const packages = this.packages.filter((p) => {
      const s = this.state.get(p)!;
      if (s.end !== null) return false;
      return (index > s.lo && index < s.hi && !s.skipped.has(index)) || this.wanted(s) === index;
    });
    return { kind: 'test', commit: this.commits[index], index, packages, attempt: 1 };
  }

  /** The verdicts of a test at commit `index` (a package left out: not tested there). */
  record(index: number, verdicts: Readonly<Record<string, StepVerdict>>, attempt = 1): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.commits.length) throw new RangeError(`no commit at index ${index}`);
    const pending = this.retries.get(index);
    for (const [p, verdict] of Object.entries(verdicts)) {
      const s = this.state.get(p);
      if (s === undefined) throw new RangeError(`${p} is not a package of this bisection`);
      pending?.delete(p);
      if (s.end !== null) continue;
      switch (verdict) {
        case 'good':
          if (index === s.hi) s.end = 'never-bad';
          else if (index >= s.lo) {
            s.lo = index;
            s.loTested = true;
          }
          break;
        case 'bad':
          if (index === s.lo) s.end = 'already-bad';
          else if (index <= s.hi) {
            s.hi = index;
            s.hiTested = true;
          }
          break;
        case 'skip':
          s.skipped.add(index);
          break;
        case 'spurious': {
          const n = (s.spurious.get(index) ?? 0) + 1;
          s.spurious.set(index, n);
          if (n >= this.attempts) s.skipped.add(index);
          else {
            const set = this.retries.get(index) ?? new Set<string>();
            set.add(p);
            this.retries.set(index, set);
          }
          break;
        }
      }
    }
    if (pending !== undefined && pending.size === 0) this.retries.delete(index);
    this.history.push({ commit: this.commits[index], index, attempt, verdicts: { ...verdicts } });
  }

  /** Each package's answer; only meaningful once `next()` is done. */
  outcomes(): PackageOutcome[] {
    return this.packages.map((p): PackageOutcome => {
      const s = this.state.get(p)!;
      if (s.end !== null) return { kind: s.end, package: p };
      const between = [...s.skipped].filter((i) => i > s.lo && i < s.hi).sort((a, b) => a - b);
      if (between.length === 0) return { kind: 'first-bad', package: p, commit: this.commits[s.hi], index: s.hi, confirmed: s.hiTested };
      const indexes = [...between, s.hi];
      return { kind: 'candidates', package: p, commits: indexes.map((i) => this.commits[i]), indexes };
    });
  }

  /**
   * Tests still to make, at most: a binary search over what remains of each distinct range, plus the
   * confirmation of an end. For the progress line's estimate.
   */
  estimatedStepsLeft(): number {
    const ranges = new Set<string>();
    let left = this.retries.size;
    for (const p of this.packages) {
      const s = this.state.get(p)!;
      if (s.end !== null || this.wanted(s) === null) continue;
      const key = `${s.lo}:${s.hi}`;
      if (ranges.has(key)) continue;
      ranges.add(key);
      const open = Array.from({ length: s.hi - s.lo - 1 }, (_, k) => s.lo + 1 + k).filter((i) => !s.skipped.has(i)).length;
      left += Math.max(1, ceilLog2(open + 1));
    }
    return left;
  }
}

/**
 * Runs a bisection to its end with `oracle` testing the packages at a commit; `onStep` hears of each
 * test before it starts (progress). Packages the oracle leaves out of its answer count as skipped there.
 */
export async function runBisect(
  input: BisectInput,
  oracle: (test: Extract<BisectAction, { kind: 'test' }>) => Promise<Readonly<Record<string, StepVerdict>>>,
  onStep?: (test: Extract<BisectAction, { kind: 'test' }>, search: BisectSearch) => void,
): Promise<BisectResult> {
  const search = new BisectSearch(input);
  for (let action = search.next(); action.kind === 'test'; action = search.next()) {
    onStep?.(action, search);
    const answer = await oracle(action);
    const verdicts: Record<string, StepVerdict> = {};
    for (const p of action.packages) verdicts[p] = answer[p] ?? 'skip';
    search.record(action.index, verdicts, action.attempt);
  }
  return { outcomes: search.outcomes(), steps: [...search.steps], commitsTested: search.commitsTested };
}
