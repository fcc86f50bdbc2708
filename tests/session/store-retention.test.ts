/**
 * Which layers `gc` keeps, without disks: a run needs its ok jobs and their whole build closures; the
 * newest baseline of each comparison, the newest run(s) and the named runs are kept (a retry with its
 * candidate); `maxBytes` removes the newest runs' layers least recently used first, never a layer a
 * baseline or a named run needs, and says when the bound cannot be met.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClosure, decideRetention, keptRunReasons, newestBaselines, type RetentionInput } from '../../src/session/store-retention.js';
import { DEFAULT_RUN_OPTIONS, type RunInfo } from '../../src/store/runs.js';

function run(id: number, extra: Partial<RunInfo> = {}): RunInfo {
  return {
    id,
    kind: 'candidate',
    label: null,
    compilerSpec: '5.3.0',
    repositories: ['/repo'],
    repositoryHash: 'h',
    targets: { kind: 'latest' },
    options: { ...DEFAULT_RUN_OPTIONS },
    against: null,
    retryOf: null,
    status: 'finished',
    pid: null,
    startedAt: '2026-12-01T00:00:00Z',
    finishedAt: '2026-12-01T00:01:00Z',
    jobCount: 0,
    targetCount: 0,
    ...extra,
  };
}

/**
 * Keys: c1 (compiler of baseline) ← a1 ← b1 ; c2 (compiler of the candidates) ← a2 ← b2, a2 ← x2 (only
 * the old candidate's); shared s (no dependency). Run 1 baseline {c1,a1,b1,s}; run 2 old candidate
 * {c2,a2,x2,s}; run 3 retry of 2 {x2}; run 4 new candidate {c2,a2,b2}: its ok jobs recorded without
 * a2's dependency c2 listed (a cached job's closure must come from the jobs table).
 */
function input(): RetentionInput {
  const deps = new Map<string, string[]>([
    ['c1', []],
    ['a1', ['c1']],
    ['b1', ['a1']],
    ['c2', []],
    ['a2', ['c2']],
    ['b2', ['a2']],
    ['x2', ['a2']],
    ['s', []],
  ]);
  const sizes: Record<string, number> = { c1: 100, a1: 10, b1: 10, c2: 100, a2: 20, b2: 30, x2: 40, s: 5, orphan: 7 };
  return {
    runs: [run(1, { kind: 'baseline' }), run(2), run(3, { kind: 'retry', retryOf: 2 }), run(4)],
    okKeysByRun: new Map([
      [1, ['c1', 'a1', 'b1', 's']],
      [2, ['c2', 'a2', 'x2', 's']],
      [3, ['x2']],
      [4, ['b2']],
    ]),
    dependencies: deps,
    layers: Object.entries(sizes).map(([name, bytes]) => ({ name, bytes })),
    baseBytes: 50,
    leftovers: [{ name: 'k.tmp-12', bytes: 3 }],
    lastRunOfKey: new Map([
      ['c1', 1],
      ['a1', 1],
      ['b1', 1],
      ['s', 2],
      ['x2', 3],
      ['c2', 4],
      ['a2', 4],
      ['b2', 4],
    ]),
  };
}

const removedNames = (d: ReturnType<typeof decideRetention>) => d.remove.map((r) => r.name).sort();

test('build closure: the keys and every dependency, transitively; unknown keys stand alone', () => {
  const deps = input().dependencies;
  assert.deepEqual([...buildClosure(['b2'], deps)].sort(), ['a2', 'b2', 'c2']);
  assert.deepEqual([...buildClosure(['zz', 'a1'], deps)].sort(), ['a1', 'c1', 'zz']);
});

test('by default: the newest baseline and the newest run with their closures; the rest and leftovers go', () => {
  const d = decideRetention(input(), { keepRuns: [], keepNewest: 1, maxBytes: null });
  assert.deepEqual(
    d.keptRuns.map((r) => [r.id, r.why]),
    [
      [4, ['newest run']],
      [1, ['newest baseline']],
    ],
  );
  // Run 4 recorded only b2 as ok, yet its closure (a2, c2) is kept: a rerun of it is all cache hits.
  assert.deepEqual([...d.keep].sort(), ['a1', 'a2', 'b1', 'b2', 'c1', 'c2', 's']);
  assert.deepEqual(removedNames(d), ['k.tmp-12', 'orphan', 'x2']);
  assert.equal(d.remove.find((r) => r.name === 'k.tmp-12')?.why, 'leftover');
  assert.equal(d.remove.find((r) => r.name === 'x2')?.why, 'needed by no kept run');
  assert.equal(d.totalBytes, 50 + 322 + 3);
  assert.equal(d.keptBytes, 50 + 100 + 10 + 10 + 5 + 100 + 20 + 30);
  assert.ok(d.maxSizeMet);
});

test('--keep-run keeps a run (and its retries); --keep-newest N counts runs that are not retries', () => {
  const named = decideRetention(input(), { keepRuns: [2], keepNewest: 1, maxBytes: null });
  assert.deepEqual(removedNames(named), ['k.tmp-12', 'orphan']);
  assert.deepEqual(named.keptRuns.find((r) => r.id === 3)?.why, ['named'], 'the retry of a named run is kept with it');
  const two = keptRunReasons(input().runs, { keepRuns: [], keepNewest: 2 });
  assert.deepEqual([...two.keys()].sort(), [1, 2, 3, 4]);
  const none = decideRetention(input(), { keepRuns: [], keepNewest: 0, maxBytes: null });
  assert.deepEqual([...none.keep].sort(), ['a1', 'b1', 'c1', 's']);
});

test('the newest finished baseline of each repositories, targets and pins set is kept', () => {
  const runs = [
    run(1, { kind: 'baseline' }),
    run(2, { kind: 'baseline' }),
    run(3, { kind: 'baseline', status: 'crashed' }),
    run(4, { kind: 'baseline', targets: { kind: 'explicit', specs: ['a', 'b'] } }),
    run(5, { kind: 'baseline', targets: { kind: 'explicit', specs: ['b', 'a'] } }),
    run(6, { kind: 'baseline', repositories: ['/overlay', '/repo'] }),
    run(7, { kind: 'baseline', options: { ...DEFAULT_RUN_OPTIONS, pins: ['x=/src'] } }),
  ];
  assert.deepEqual(newestBaselines(runs).sort(), [2, 5, 6, 7]);
});

test('--max-size: the newest runs yield least recently used first, dependents first; baselines and named runs never', () => {
  // Kept by default: 325 bytes (50 of them base). The yielding keys {c2, a2, b2} were all last used by
  // run 4: dependents first, b2 (closure 3), a2 (2), c2 (1); bound 280 is met once b2 and a2 went.
  const d = decideRetention(input(), { keepRuns: [], keepNewest: 1, maxBytes: 280 });
  assert.deepEqual(
    d.remove.filter((r) => r.why === 'over --max-size').map((r) => r.name),
    ['b2', 'a2'],
  );
  assert.equal(d.keptBytes, 275);
  assert.ok(d.maxSizeMet);
  // s is needed by the baseline: never removed even when the bound cannot be met.
  const tight = decideRetention(input(), { keepRuns: [], keepNewest: 1, maxBytes: 10 });
  assert.equal(tight.maxSizeMet, false);
  assert.deepEqual([...tight.keep].sort(), ['a1', 'b1', 'c1', 's']);
  assert.equal(tight.keptBytes, 50 + 125);
  // A named run is protected like the baseline.
  const named = decideRetention(input(), { keepRuns: [4], keepNewest: 1, maxBytes: 10 });
  assert.deepEqual([...named.keep].sort(), ['a1', 'a2', 'b1', 'b2', 'c1', 'c2', 's']);
  assert.equal(named.maxSizeMet, false);
  // Older last use goes first: with runs 2 (and its retry 3) and 4 kept as newest, x2 (last used by 3)
  // goes before run 4's layers.
  const older = decideRetention(input(), { keepRuns: [], keepNewest: 2, maxBytes: 330 });
  assert.deepEqual(
    older.remove.filter((r) => r.why === 'over --max-size').map((r) => r.name),
    ['x2'],
  );
});
