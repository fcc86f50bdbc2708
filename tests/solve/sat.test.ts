import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SatSolver, negLit, posLit, litVar, litIsNeg, type Lit, type Brancher } from '../../src/solve/sat.js';
import { seededRandom as rng } from '../support/prng.js';

/** Decides the lowest unassigned variable, false first (a plain, complete brancher). */
const lowestFalse: Brancher = (s) => {
  for (let v = 1; v <= s.numVars; v++) if (s.valueVar(v) === 0) return negLit(v);
  return 0;
};

function bruteForceSat(n: number, clauses: Lit[][], assumptions: Lit[] = []): boolean {
  for (let m = 0; m < 1 << n; m++) {
    const val = (l: Lit) => {
      const bit = ((m >> (litVar(l) - 1)) & 1) === 1;
      return litIsNeg(l) ? !bit : bit;
    };
    if (assumptions.every(val) && clauses.every((c) => c.some(val))) return true;
  }
  return false;
}

function modelSatisfies(s: SatSolver, clauses: Lit[][]): boolean {
  return clauses.every((c) => c.some((l) => s.value(l) === 1 || (s.value(l) === 0 && litIsNeg(l))));
}

test('unit propagation and a simple model', () => {
  const s = new SatSolver();
  const a = s.newVar();
  const b = s.newVar();
  const c = s.newVar();
  s.addClause([negLit(a), posLit(b)]);
  s.addClause([negLit(b), posLit(c)]);
  const r = s.solve([posLit(a)], lowestFalse);
  assert.equal(r.sat, true);
  assert.equal(s.valueVar(b), 1);
  assert.equal(s.valueVar(c), 1);
});

test('failed assumptions are reported', () => {
  const s = new SatSolver();
  const a = s.newVar();
  const b = s.newVar();
  const x = s.newVar();
  s.addClause([negLit(a), negLit(b)]);
  const r = s.solve([posLit(x), posLit(a), posLit(b)], lowestFalse);
  assert.equal(r.sat, false);
  if (!r.sat) assert.deepEqual([...r.failed].sort(), [posLit(a), posLit(b)].sort());
  // The solver stays usable: without the conflicting pair it is satisfiable.
  assert.equal(s.solve([posLit(a)], lowestFalse).sat, true);
  assert.equal(s.valueVar(b), -1);
});

test('pigeonhole 6 into 5 is unsatisfiable, 5 into 5 is satisfiable', () => {
  for (const [pigeons, holes, expected] of [
    [6, 5, false],
    [5, 5, true],
  ] as const) {
    const s = new SatSolver();
    const x: number[][] = [];
    for (let p = 0; p < pigeons; p++) {
      x.push([]);
      for (let h = 0; h < holes; h++) x[p].push(s.newVar());
    }
    const clauses: Lit[][] = [];
    for (let p = 0; p < pigeons; p++) clauses.push(x[p].map(posLit));
    for (let h = 0; h < holes; h++)
      for (let p = 0; p < pigeons; p++) for (let q = p + 1; q < pigeons; q++) clauses.push([negLit(x[p][h]), negLit(x[q][h])]);
    for (const c of clauses) s.addClause(c);
    const r = s.solve([], lowestFalse);
    assert.equal(r.sat, expected);
    if (r.sat) assert.ok(modelSatisfies(s, clauses));
  }
});

/**
 * A random 3-SAT instance of n variables and n × (ratio + rand() × spread) clauses, given to a new
 * solver: the solver, n and the clauses (for brute force).
 */
function random3Sat(rand: () => number, n: number, ratio: number, spread: number): { s: SatSolver; n: number; clauses: Lit[][] } {
  const m = Math.floor(n * (ratio + rand() * spread));
  const s = new SatSolver();
  for (let v = 0; v < n; v++) s.newVar();
  const clauses: Lit[][] = [];
  for (let i = 0; i < m; i++) {
    const c: Lit[] = [];
    for (let k = 0; k < 3; k++) {
      const v = 1 + Math.floor(rand() * n);
      c.push(rand() < 0.5 ? posLit(v) : negLit(v));
    }
    clauses.push(c);
    s.addClause(c);
  }
  return { s, n, clauses };
}

test('random 3-SAT agrees with brute force, incrementally under assumptions', () => {
  const rand = rng(42);
  for (let round = 0; round < 300; round++) {
    const { s, n, clauses } = random3Sat(rand, 4 + Math.floor(rand() * 9), 2, 4);
    // Several solves on the same instance, keeping learned clauses between them.
    for (let q = 0; q < 4; q++) {
      const assumptions: Lit[] = [];
      for (let k = 0; k < q; k++) {
        const v = 1 + Math.floor(rand() * n);
        assumptions.push(rand() < 0.5 ? posLit(v) : negLit(v));
      }
      const expected = bruteForceSat(n, clauses, assumptions);
      const r = s.solve(assumptions, lowestFalse);
      assert.equal(r.sat, expected, `round ${round} query ${q}`);
      if (r.sat) {
        assert.ok(modelSatisfies(s, clauses), `model of round ${round}`);
        for (const a of assumptions) assert.equal(s.value(a), 1);
      } else {
        // The failed assumptions alone are already unsatisfiable.
        assert.equal(bruteForceSat(n, clauses, r.failed), false);
      }
    }
  }
});

test('at-most-one groups agree with brute force over their pairwise clauses', () => {
  const rand = rng(7);
  for (let round = 0; round < 300; round++) {
    const n = 5 + Math.floor(rand() * 8);
    const s = new SatSolver();
    for (let v = 0; v < n; v++) s.newVar();
    const clauses: Lit[][] = [];
    const m = Math.floor(n * (1 + rand() * 3));
    for (let i = 0; i < m; i++) {
      const c: Lit[] = [];
      const len = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < len; k++) {
        const v = 1 + Math.floor(rand() * n);
        c.push(rand() < 0.7 ? posLit(v) : negLit(v));
      }
      clauses.push(c);
      s.addClause(c);
    }
    const groups = 1 + Math.floor(rand() * 3);
    for (let g = 0; g < groups; g++) {
      const members = new Set<number>();
      const size = 2 + Math.floor(rand() * 4);
      for (let k = 0; k < size; k++) members.add(1 + Math.floor(rand() * n));
      const vs = [...members];
      s.addAtMostOne(vs);
      for (let a = 0; a < vs.length; a++) for (let b = a + 1; b < vs.length; b++) clauses.push([negLit(vs[a]), negLit(vs[b])]);
    }
    for (let q = 0; q < 3; q++) {
      const assumptions: Lit[] = [];
      for (let k = 0; k < q + 1; k++) assumptions.push(posLit(1 + Math.floor(rand() * n)));
      const expected = bruteForceSat(n, clauses, assumptions);
      const r = s.solve(assumptions, lowestFalse);
      assert.equal(r.sat, expected, `round ${round} query ${q}`);
      if (r.sat) assert.ok(modelSatisfies(s, clauses));
      else assert.equal(bruteForceSat(n, clauses, r.failed), false);
    }
  }
});

test('triggered clauses: same answers as plain clauses, before and after compaction', () => {
  const rand = rng(99);
  for (let round = 0; round < 200; round++) {
    const n = 5 + Math.floor(rand() * 8);
    const s = new SatSolver();
    s.compactThreshold = 3; // compact often
    for (let v = 0; v < n; v++) s.newVar();
    const clauses: Lit[][] = [];
    const m = Math.floor(n * (1 + rand() * 3));
    for (let i = 0; i < m; i++) {
      const trigger = 1 + Math.floor(rand() * n);
      const c: Lit[] = [];
      const len = Math.floor(rand() * 4);
      for (let k = 0; k < len; k++) {
        const v = 1 + Math.floor(rand() * n);
        c.push(rand() < 0.7 ? posLit(v) : negLit(v));
      }
      clauses.push([negLit(trigger), ...c]);
      if (rand() < 0.7) s.addTriggeredClause(trigger, c);
      else s.addClause([negLit(trigger), ...c]);
    }
    for (let g = 0; g < 2; g++) {
      const vs = [...new Set([1 + Math.floor(rand() * n), 1 + Math.floor(rand() * n), 1 + Math.floor(rand() * n)])];
      s.addAtMostOne(vs);
      for (let a = 0; a < vs.length; a++) for (let b = a + 1; b < vs.length; b++) clauses.push([negLit(vs[a]), negLit(vs[b])]);
    }
    for (let q = 0; q < 6; q++) {
      const assumptions: Lit[] = [posLit(1 + Math.floor(rand() * n))];
      if (rand() < 0.5) assumptions.push(posLit(1 + Math.floor(rand() * n)));
      const expected = bruteForceSat(n, clauses, assumptions);
      const r = s.solve(assumptions, lowestFalse);
      assert.equal(r.sat, expected, `round ${round} query ${q}`);
      if (r.sat) assert.ok(modelSatisfies(s, clauses));
      else assert.equal(bruteForceSat(n, clauses, r.failed), false);
    }
  }
});

test('solves keeping the shared prefix of their assumptions agree with brute force (cores take turns so)', () => {
  const rand = rng(7);
  for (let round = 0; round < 200; round++) {
    const { s, n, clauses } = random3Sat(rand, 6 + Math.floor(rand() * 8), 2, 3);
    // A sequence of queries each changing the tail of the previous one's assumptions (as the cores do).
    let assumptions: Lit[] = [];
    for (let q = 0; q < 6; q++) {
      const cut = Math.floor(rand() * (assumptions.length + 1));
      assumptions = assumptions.slice(0, cut);
      const more = Math.floor(rand() * 3);
      for (let k = 0; k < more; k++) {
        const v = 1 + Math.floor(rand() * n);
        assumptions.push(rand() < 0.5 ? posLit(v) : negLit(v));
      }
      const r = s.solve(assumptions, lowestFalse, Infinity, true);
      assert.equal(r.sat, bruteForceSat(n, clauses, assumptions), `round ${round} query ${q}`);
      if (r.sat) {
        assert.ok(modelSatisfies(s, clauses), `model of round ${round}`);
        for (const a of assumptions) assert.equal(s.value(a), 1);
      } else assert.equal(bruteForceSat(n, clauses, r.failed), false);
    }
  }
});

test('a solve keeping the prefix does not propagate its shared assumptions again', () => {
  const s = new SatSolver();
  const chain = Array.from({ length: 60 }, () => s.newVar());
  for (let k = 0; k + 1 < chain.length; k++) s.addClause([negLit(chain[k]), posLit(chain[k + 1])]);
  const x = s.newVar();
  const y = s.newVar();
  const cost = (assumptions: Lit[], keep: boolean): number => {
    const before = s.stats.propagations;
    assert.equal(s.solve(assumptions, lowestFalse, Infinity, keep).sat, true);
    return s.stats.propagations - before;
  };
  assert.ok(cost([posLit(chain[0]), posLit(x)], true) >= 60);
  // The chain's 60 implications stay at the first assumption's level.
  assert.ok(cost([posLit(chain[0]), posLit(y)], true) < 10);
  assert.ok(cost([posLit(chain[0]), posLit(x)], false) >= 60);
});

test('clauses added keeping the assignment (addClauseKeeping) give the answers of a fresh solver', () => {
  const rand = rng(99);
  for (let round = 0; round < 200; round++) {
    const n = 6 + Math.floor(rand() * 7);
    const s = new SatSolver();
    for (let v = 0; v < n; v++) s.newVar();
    const clauses: Lit[][] = [];
    const randomClause = (): Lit[] => {
      const vars = new Set<number>();
      while (vars.size < 3) vars.add(1 + Math.floor(rand() * n));
      return [...vars].map((v) => (rand() < 0.5 ? posLit(v) : negLit(v)));
    };
    for (let i = 0; i < n * 2; i++) {
      const c = randomClause();
      clauses.push(c);
      s.addClause(c);
    }
    const assumptions: Lit[] = [];
    for (let k = 0; k < 3; k++) assumptions.push(rand() < 0.5 ? posLit(1 + k) : negLit(1 + k));
    for (let q = 0; q < 5; q++) {
      const r = s.solve(assumptions, lowestFalse, Infinity, true);
      assert.equal(r.sat, bruteForceSat(n, clauses, assumptions), `round ${round} query ${q}`);
      if (r.sat) assert.ok(modelSatisfies(s, clauses), `model of round ${round} query ${q}`);
      // New clauses while the last assignment is still there.
      const c = randomClause();
      clauses.push(c);
      s.addClauseKeeping(c);
    }
  }
});
