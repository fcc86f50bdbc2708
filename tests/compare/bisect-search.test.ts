/**
 * The pure bisection (src/compare/bisect-search.ts) against simulated histories: each package breaks
 * at a known commit (or never, or before the good one), some commits cannot be judged (skip) or give a
 * spurious result a number of times. The number of tests is checked against ⌈log2(n)⌉ everywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../support/prng.js';
import { BisectSearch, ceilLog2, runBisect, type BisectInput, type StepVerdict } from '../../src/compare/bisect-search.js';

function commits(n: number): string[] {
  // The good commit, then n commits after it; the last is the bad one.
  return Array.from({ length: n + 1 }, (_, i) => `c${i}`);
}

interface History {
  /** Index of the first bad commit per package (0: already bad at the good end; Infinity: never bad). */
  breaksAt: Record<string, number>;
  /** Commits whose verdict is `skip` for every package. */
  skip?: Set<number>;
  /** Spurious results still owed at a commit, per package (`pkg@index` → how many before the real one). */
  spurious?: Map<string, number>;
}

function oracleOf(h: History, tested: number[] = []) {
  return async (t: { index: number; packages: string[] }): Promise<Record<string, StepVerdict>> => {
    tested.push(t.index);
    const out: Record<string, StepVerdict> = {};
    for (const p of t.packages) {
      const owed = h.spurious?.get(`${p}@${t.index}`) ?? 0;
      if (owed > 0) {
        h.spurious!.set(`${p}@${t.index}`, owed - 1);
        out[p] = 'spurious';
      } else if (h.skip?.has(t.index)) out[p] = 'skip';
      else out[p] = t.index >= h.breaksAt[p] ? 'bad' : 'good';
    }
    return out;
  };
}

async function bisect(n: number, h: History, extra: Partial<BisectInput> = {}) {
  const tested: number[] = [];
  const result = await runBisect({ commits: commits(n), packages: Object.keys(h.breaksAt), ...extra }, oracleOf(h, tested));
  return { ...result, tested };
}

test('ceilLog2', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 8, 9, 1000].map(ceilLog2), [0, 1, 2, 2, 3, 3, 4, 10]);
});

test('one package, every history of up to 40 commits: the first bad commit in ⌈log2(n)⌉ tests when it lies strictly inside the range', async () => {
  for (let n = 1; n <= 40; n++) {
    for (let b = 1; b <= n; b++) {
      const r = await bisect(n, { breaksAt: { pkg: b } });
      assert.deepEqual(r.outcomes, [{ kind: 'first-bad', package: 'pkg', commit: `c${b}`, index: b, confirmed: true }], `n=${n} b=${b}`);
      // Confirming an end the user named costs one test more, only when the answer is that end.
      const bound = ceilLog2(n) + (b === n ? 1 : 0) + (b === 1 ? 1 : 0);
      assert.ok(r.commitsTested <= bound, `n=${n} b=${b}: ${r.commitsTested} tests > ${bound}`);
      assert.equal(r.steps.length, r.commitsTested, 'no commit is tested twice without a spurious result');
      assert.ok(r.tested.every((i) => i >= 0 && i <= n));
    }
  }
});

test('the midpoint is tested first, and a test is never repeated on the answer found', async () => {
  const s = new BisectSearch({ commits: commits(8), packages: ['pkg'] });
  assert.deepEqual(s.next(), { kind: 'test', commit: 'c4', index: 4, packages: ['pkg'], attempt: 1 });
  s.record(4, { pkg: 'good' });
  assert.equal((s.next() as { index: number }).index, 6);
  s.record(6, { pkg: 'bad' });
  assert.equal((s.next() as { index: number }).index, 5);
  s.record(5, { pkg: 'bad' });
  assert.deepEqual(s.next(), { kind: 'done' });
  assert.deepEqual(s.outcomes(), [{ kind: 'first-bad', package: 'pkg', commit: 'c5', index: 5, confirmed: true }]);
  assert.equal(s.commitsTested, 3);
});

test('a package never broken in the range: the bad end is tested and found good', async () => {
  const r = await bisect(8, { breaksAt: { pkg: Infinity } });
  assert.deepEqual(r.outcomes, [{ kind: 'never-bad', package: 'pkg' }]);
  assert.ok(r.commitsTested <= ceilLog2(8) + 1);
  assert.equal(r.tested.at(-1), 8);
});

test('a package already broken at the good end: said so, not blamed on the first commit', async () => {
  const r = await bisect(8, { breaksAt: { pkg: 0 } });
  assert.deepEqual(r.outcomes, [{ kind: 'already-bad', package: 'pkg' }]);
  assert.equal(r.tested.at(-1), 0);
  assert.ok(r.commitsTested <= ceilLog2(8) + 1);
});

test('skip at the middle: a commit beside it is tested instead, and the answer is still exact when the skip does not hide it', async () => {
  const r = await bisect(8, { breaksAt: { pkg: 6 }, skip: new Set([4]) });
  assert.equal(r.tested[0], 4);
  assert.notEqual(r.tested[1], 4);
  assert.deepEqual(r.outcomes, [{ kind: 'first-bad', package: 'pkg', commit: 'c6', index: 6, confirmed: true }]);
  assert.ok(r.commitsTested <= ceilLog2(8) + 1);
});

test('skips next to the answer leave the candidates, oldest first, the bad one last', async () => {
  const r = await bisect(8, { breaksAt: { pkg: 5 }, skip: new Set([4]) });
  assert.deepEqual(r.outcomes, [{ kind: 'candidates', package: 'pkg', commits: ['c4', 'c5'], indexes: [4, 5] }]);
  const all = await bisect(4, { breaksAt: { pkg: 3 }, skip: new Set([1, 2, 3]) });
  // Nothing inside the range can be judged: every commit up to the bad end is a candidate.
  assert.deepEqual(all.outcomes, [{ kind: 'candidates', package: 'pkg', commits: ['c1', 'c2', 'c3', 'c4'], indexes: [1, 2, 3, 4] }]);
});

test('a spurious result is retried once at the same commit; twice spurious, the commit is skipped', async () => {
  const once = await bisect(8, { breaksAt: { pkg: 3 }, spurious: new Map([['pkg@4', 1]]) });
  assert.deepEqual(once.tested.slice(0, 2), [4, 4]);
  assert.equal(once.steps[1].attempt, 2);
  assert.deepEqual(once.outcomes, [{ kind: 'first-bad', package: 'pkg', commit: 'c3', index: 3, confirmed: true }]);
  assert.equal(once.commitsTested, ceilLog2(8), 'a retry is not a new compiler build');

  const twice = await bisect(8, { breaksAt: { pkg: 3 }, spurious: new Map([['pkg@4', 2]]) });
  assert.deepEqual(twice.tested.slice(0, 2), [4, 4]);
  assert.notEqual(twice.tested[2], 4, 'then skipped: another commit');
  assert.deepEqual(twice.outcomes, [{ kind: 'first-bad', package: 'pkg', commit: 'c3', index: 3, confirmed: true }]);

  const noRetry = await bisect(8, { breaksAt: { pkg: 3 }, spurious: new Map([['pkg@4', 1]]) }, { spuriousAttempts: 1 });
  assert.notEqual(noRetry.tested[1], 4);
});

test('two packages breaking at different commits split: each gets its own first bad commit', async () => {
  for (let n = 2; n <= 24; n++) {
    for (let a = 1; a <= n; a++) {
      for (let b = 1; b <= n; b++) {
        const r = await bisect(n, { breaksAt: { alpha: a, beta: b } });
        assert.deepEqual(
          r.outcomes.map((o) => (o.kind === 'first-bad' ? [o.package, o.index] : [o.package, o.kind])),
          [
            ['alpha', a],
            ['beta', b],
          ],
          `n=${n} a=${a} b=${b}`,
        );
        // Together while they agree, each its own search after: never more than two searches' worth.
        assert.ok(r.commitsTested <= 2 * (ceilLog2(n) + 1), `n=${n} a=${a} b=${b}: ${r.commitsTested}`);
        if (a === b && a !== 1 && a !== n) assert.ok(r.commitsTested <= ceilLog2(n), 'packages breaking together cost one search');
      }
    }
  }
});

test('several packages: one breaks, one never does, one was already broken; each is tested only where it is undecided', async () => {
  const r = await bisect(16, { breaksAt: { breaks: 11, fine: Infinity, broken: 0 } });
  assert.deepEqual(
    r.outcomes.map((o) => [o.package, o.kind, o.kind === 'first-bad' ? o.commit : null]),
    [
      ['breaks', 'first-bad', 'c11'],
      ['fine', 'never-bad', null],
      ['broken', 'already-bad', null],
    ],
  );
  for (const step of r.steps) assert.ok(Object.keys(step.verdicts).length > 0);
  // The first test serves all three.
  assert.deepEqual(Object.keys(r.steps[0].verdicts).sort(), ['breaks', 'broken', 'fine']);
});

test('a spurious result of one package does not make the others test again', async () => {
  const r = await bisect(8, { breaksAt: { a: 3, b: 3 }, spurious: new Map([['b@4', 1]]) });
  assert.deepEqual(Object.keys(r.steps[1].verdicts), ['b']);
  assert.equal(r.steps[1].index, 4);
  assert.deepEqual(
    r.outcomes.map((o) => o.kind === 'first-bad' && o.commit),
    ['c3', 'c3'],
  );
});

test('estimatedStepsLeft counts down to zero', async () => {
  const s = new BisectSearch({ commits: commits(16), packages: ['pkg'] });
  const estimates: number[] = [];
  for (let a = s.next(); a.kind === 'test'; a = s.next()) {
    estimates.push(s.estimatedStepsLeft());
    s.record(a.index, { pkg: a.index >= 9 ? 'bad' : 'good' });
  }
  assert.equal(s.estimatedStepsLeft(), 0);
  assert.ok(estimates[0] >= ceilLog2(16) && estimates[0] <= ceilLog2(16) + 1, `${estimates[0]}`);
  for (let i = 1; i < estimates.length; i++) assert.ok(estimates[i] <= estimates[i - 1]);
});

test('bad input is refused', () => {
  assert.throws(() => new BisectSearch({ commits: ['c0'], packages: ['p'] }), /good and a bad/);
  assert.throws(() => new BisectSearch({ commits: commits(2), packages: [] }), /package/);
  assert.throws(() => new BisectSearch({ commits: commits(2), packages: ['p', 'p'] }), /twice/);
  const s = new BisectSearch({ commits: commits(2), packages: ['p'] });
  assert.throws(() => s.record(5, { p: 'good' }), /index 5/);
  assert.throws(() => s.record(1, { q: 'good' }), /not a package/);
});

test('random histories with skips and spurious results: the answer is always the true first bad commit, or candidates holding it', async () => {
  const random = seededRandom(26);
  for (let round = 0; round < 2000; round++) {
    const n = 1 + Math.floor(random() * 30);
    const names = ['p', 'q', 'r'].slice(0, 1 + Math.floor(random() * 3));
    const breaksAt: Record<string, number> = {};
    // 0: already bad; n + 1: never bad; otherwise a commit of the range.
    for (const p of names) breaksAt[p] = Math.floor(random() * (n + 2));
    const skip = new Set<number>();
    for (let i = 1; i < n; i++) if (random() < 0.2) skip.add(i);
    const spurious = new Map<string, number>();
    for (const p of names) for (let i = 0; i <= n; i++) if (random() < 0.1) spurious.set(`${p}@${i}`, 1 + Math.floor(random() * 2));
    const r = await bisect(n, { breaksAt: { ...breaksAt }, skip, spurious: new Map(spurious) });
    const what = () =>
      `round ${round}: outcomes ${JSON.stringify(r.outcomes)} n=${n} breaks ${JSON.stringify(breaksAt)} skip [${[...skip]}] spurious ${JSON.stringify([...spurious])}`;
    for (const o of r.outcomes) {
      const b = breaksAt[o.package];
      switch (o.kind) {
        case 'first-bad':
          // Exact, unless the ends were skipped twice as spurious and taken as the user said.
          // The good end taken as the user said when it gave spurious results twice.
          if (b === 0 && (spurious.get(`${o.package}@0`) ?? 0) >= 2) break;
          if (o.confirmed) assert.equal(o.index, b, what());
          // Unconfirmed: the bad end, which gave spurious results twice, taken as the user said.
          else assert.ok(o.index === n && b >= n && (spurious.get(`${o.package}@${n}`) ?? 0) >= 2, what());
          break;
        case 'candidates':
          assert.ok(
            o.indexes.includes(b) ||
              (b > n && (spurious.get(`${o.package}@${n}`) ?? 0) >= 2) ||
              (b === 0 && (spurious.get(`${o.package}@0`) ?? 0) >= 2),
            what(),
          );
          assert.equal(
            o.indexes.at(-1),
            o.indexes.reduce((a, x) => Math.max(a, x)),
            'the bad one last',
          );
          assert.equal(o.indexes.length, new Set(o.indexes).size);
          break;
        case 'never-bad':
          assert.equal(b, n + 1, what());
          break;
        case 'already-bad':
          assert.equal(b, 0, what());
          break;
      }
    }
    // Never more compiler builds than commits, and no commit tested more than twice per package.
    assert.ok(r.commitsTested <= n + 1, what());
    const perPackage = new Map<string, number>();
    for (const s of r.steps)
      for (const p of Object.keys(s.verdicts)) perPackage.set(`${p}@${s.index}`, (perPackage.get(`${p}@${s.index}`) ?? 0) + 1);
    assert.ok(
      [...perPackage.values()].every((k) => k <= 2),
      what(),
    );
  }
});
