import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareRuns } from '../../src/compare/compare-runs.js';
import { parseRunSide, type RunSide } from '../support/run-side-json.js';
import {
  COMPARISON_CATEGORIES,
  JOB_STATUSES,
  type ComparisonCategory,
  type JobStatus,
  type PackageRunResult,
} from '../../src/results/taxonomy.js';
import { projectRoot } from '../support/snapshot.js';

function fixtureRun(file: string): RunSide {
  const path = join(projectRoot, 'fixtures', 'runs', file);
  return parseRunSide(JSON.parse(readFileSync(path, 'utf8')), path);
}

function result(id: string, status: JobStatus, extra: Partial<PackageRunResult> = {}): PackageRunResult {
  const dot = id.indexOf('.');
  return {
    id,
    name: id.slice(0, dot),
    version: id.slice(dot + 1),
    status,
    reason: '',
    rootCause: null,
    jobKey: status === 'not-installable' ? null : `key-${id}`,
    durationMs: 1000,
    exitCode: status === 'ok' ? 0 : 1,
    logPath: null,
    logTail: status === 'build-failed' ? `File "${id}.ml", line 1, characters 0-1:\nError: broken ${id}` : '',
    firstError: status === 'build-failed' ? `Error: broken ${id}` : null,
    missingSystemPackages: [],
    cached: false,
    ...extra,
  };
}

function side(label: string, results: PackageRunResult[]): RunSide {
  return { runId: label, label, compiler: `ocaml-base-compiler.${label}`, results };
}

test('fixture comparison: every package in exactly one category, counts add up to the union', () => {
  const b = fixtureRun('baseline-4.14.json');
  const c = fixtureRun('candidate-5.1.json');
  const cmp = compareRuns(b, c);
  const union = new Set([...b.results.map((r) => r.name), ...c.results.map((r) => r.name)]);
  assert.equal(cmp.packages.length, union.size);
  assert.deepEqual(new Set(cmp.packages.map((p) => p.key)).size, cmp.packages.length);
  const sum = COMPARISON_CATEGORIES.reduce((n, k) => n + cmp.counts[k], 0);
  assert.equal(sum, cmp.packages.length);
  for (const k of COMPARISON_CATEGORIES) assert.equal(cmp.counts[k], cmp.packages.filter((p) => p.category === k).length, k);
});

test('fixture comparison: categories of representative packages', () => {
  const cmp = compareRuns(fixtureRun('baseline-4.14.json'), fixtureRun('candidate-5.1.json'));
  const cat = (k: string) => cmp.packages.find((p) => p.key === k)?.category;
  const expected: [string, ComparisonCategory][] = [
    ['xml-light', 'regressed'],
    ['extlib', 'regressed'],
    ['cudf', 'dependency-regressed'],
    ['utop', 'dependency-regressed'],
    ['batteries', 'fixed'], // 3.5.1 failed, 3.8.0 builds: matched by name
    ['stdcompat', 'fixed'],
    ['coq-of-ocaml', 'still-failing'],
    ['ocaml-freestanding', 'still-failing'],
    ['lwt', 'still-ok'],
    ['camlp4', 'newly-not-installable'],
    ['js_of_ocaml-camlp4', 'newly-not-installable'], // absent from the candidate
    ['domainslib', 'newly-installable'],
    ['eio_linux', 'newly-installable'],
    ['picos', 'newly-installable'], // absent from the baseline
    ['coq', 'spurious'],
    ['ocurl', 'spurious'],
    ['irmin', 'spurious'], // its root (git) timed out
    ['owl', 'spurious'],
  ];
  for (const [k, want] of expected) assert.equal(cat(k), want, k);
  const batteries = cmp.packages.find((p) => p.key === 'batteries')!;
  assert.equal(batteries.matchedBy, 'name');
  assert.equal(batteries.baseline?.version, '3.5.1');
  assert.equal(batteries.candidate?.version, '3.8.0');
  assert.match(cmp.packages.find((p) => p.key === 'eio_linux')!.note ?? '', /build-failed/);
});

test('fixture comparison: dependency regressions are grouped under the package that regressed first', () => {
  const cmp = compareRuns(fixtureRun('baseline-4.14.json'), fixtureRun('candidate-5.1.json'));
  const extlib = cmp.rootCauses.find((rc) => rc.key === 'extlib')!;
  assert.equal(extlib.category, 'regressed');
  assert.equal(extlib.firstError, 'Error: Unbound value Obj.truncate');
  // mccs and sawja record an intermediate dependency (cudf, javalib) as their cause: followed to extlib.
  assert.ok(extlib.dependents.includes('mccs') && extlib.dependents.includes('sawja'));
  assert.equal(extlib.dependents.length, 12);
  assert.deepEqual(cmp.rootCauses.find((rc) => rc.key === 'camomile')!.dependents, ['lambda-term', 'utop', 'zed']);
  assert.equal(cmp.rootCauses[0].key, 'extlib', 'most dependents first');
  for (const p of cmp.packages.filter((p) => p.category === 'dependency-regressed')) {
    assert.ok(
      cmp.rootCauses.some((rc) => rc.key === p.rootCause && rc.dependents.includes(p.key)),
      p.key,
    );
  }
  // Every regression is a root cause (possibly of nothing else).
  assert.equal(cmp.rootCauses.filter((rc) => rc.category === 'regressed').length, cmp.counts.regressed);
});

test('fixture comparison: regressions clustered by first error', () => {
  const cmp = compareRuns(fixtureRun('baseline-4.14.json'), fixtureRun('candidate-5.1.json'));
  const stream = cmp.regressionClusters[0];
  assert.equal(stream.signature, 'Error: Unbound module Stream');
  assert.equal(stream.packages.length, 11);
  const linker = cmp.regressionClusters.find((c) => c.packages.includes('lablgl'))!;
  assert.deepEqual(linker.packages, ['lablgl', 'mlgmp']);
  assert.equal(
    cmp.regressionClusters.reduce((n, c) => n + c.packages.length, 0),
    cmp.counts.regressed,
  );
});

/**
 * The rules of the brief, written as a table of (baseline, candidate) → category, for every pair of
 * statuses and absence. `D` stands for a dependency failure whose root (`root.1`) regressed.
 */
type SideState = JobStatus | 'absent';
function expectedCategory(b: SideState, c: SideState): ComparisonCategory {
  const spurious = new Set<SideState>(['timeout', 'out-of-memory', 'disk-limit', 'fetch-failed', 'internal-error']);
  if (spurious.has(b) || spurious.has(c)) return 'spurious';
  const inst = (s: SideState) => s !== 'absent' && s !== 'not-installable';
  if (!inst(b) && !inst(c)) return 'still-failing';
  if (inst(b) && !inst(c)) return 'newly-not-installable';
  if (!inst(b) && inst(c)) return 'newly-installable';
  if (b === 'ok') return c === 'ok' ? 'still-ok' : c === 'dependency-failed' ? 'dependency-regressed' : 'regressed';
  return c === 'ok' ? 'fixed' : 'still-failing';
}

test('every pair of statuses gets the category the rules give, and counts add up', () => {
  const states: SideState[] = [...JOB_STATUSES, 'absent'];
  const base: PackageRunResult[] = [result('root.1', 'ok')];
  const cand: PackageRunResult[] = [result('root.1', 'build-failed')];
  const want = new Map<string, ComparisonCategory>();
  let i = 0;
  for (const b of states) {
    for (const c of states) {
      if (b === 'absent' && c === 'absent') continue;
      const id = `p${i++}.1.0`;
      if (b !== 'absent') base.push(result(id, b, b === 'dependency-failed' ? { rootCause: 'root.1' } : {}));
      if (c !== 'absent') cand.push(result(id, c, c === 'dependency-failed' ? { rootCause: 'root.1' } : {}));
      want.set(id.slice(0, id.indexOf('.')), expectedCategory(b, c));
    }
  }
  const cmp = compareRuns(side('a', base), side('b', cand));
  assert.equal(cmp.packages.length, want.size + 1);
  for (const [name, category] of want) assert.equal(cmp.packages.find((p) => p.key === name)?.category, category, name);
  assert.equal(
    COMPARISON_CATEGORIES.reduce((n, k) => n + cmp.counts[k], 0),
    cmp.packages.length,
  );
  // Every ok → dependency-failed is grouped under root, which regressed.
  const root = cmp.rootCauses.find((rc) => rc.key === 'root')!;
  assert.equal(root.category, 'regressed');
  assert.equal(root.dependents.length, cmp.counts['dependency-regressed']);
});

test('a dependency failure whose root is spurious is spurious, on either side', () => {
  const cmp = compareRuns(
    side('a', [
      result('net.1', 'fetch-failed'),
      result('x.1', 'dependency-failed', { rootCause: 'net.1' }),
      result('y.1', 'ok'),
      result('dep.1', 'ok'),
    ]),
    side('b', [
      result('net.1', 'ok'),
      result('x.1', 'ok'),
      result('y.1', 'dependency-failed', { rootCause: 'dep.1' }),
      result('dep.1', 'timeout'),
    ]),
  );
  const cat = (k: string) => cmp.packages.find((p) => p.key === k)!.category;
  assert.equal(cat('x'), 'spurious');
  assert.equal(cat('y'), 'spurious');
  assert.equal(cmp.counts['dependency-regressed'], 0);
  assert.equal(cmp.counts.fixed, 0);
});

test('a root outside the compared packages still groups its dependents', () => {
  const cmp = compareRuns(
    side('a', [result('a.1', 'ok'), result('b.1', 'ok')]),
    side('b', [
      result('a.1', 'dependency-failed', { rootCause: 'hidden-dep.2' }),
      result('b.1', 'dependency-failed', { rootCause: 'hidden-dep.2' }),
    ]),
  );
  assert.equal(cmp.counts['dependency-regressed'], 2);
  assert.deepEqual(cmp.rootCauses, [{ key: 'hidden-dep.2', category: null, firstError: '', dependents: ['a', 'b'] }]);
});

test('a package failing through two broken dependencies is a dependent of both roots, counted once', () => {
  const cmp = compareRuns(
    side('a', [result('p.1', 'ok'), result('q.1', 'ok'), result('w.1', 'ok'), result('v.1', 'ok')]),
    side('b', [
      result('p.1', 'build-failed'),
      result('q.1', 'build-failed'),
      result('w.1', 'dependency-failed', { rootCause: 'p.1', rootCauses: ['p.1', 'q.1'] }),
      // v fails through w only: its roots are w's (older records name just the first).
      result('v.1', 'dependency-failed', { rootCause: 'p.1', rootCauses: ['p.1', 'q.1'] }),
    ]),
  );
  assert.equal(cmp.counts.regressed, 2);
  assert.equal(cmp.counts['dependency-regressed'], 2);
  assert.equal(cmp.packages.length, 4);
  const w = cmp.packages.find((e) => e.key === 'w')!;
  assert.equal(w.rootCause, 'p');
  assert.deepEqual(w.rootCauses, ['p', 'q']);
  assert.equal(w.detail, 'dependencies p.1, q.1 failed');
  assert.deepEqual(
    cmp.rootCauses.map((rc) => [rc.key, rc.dependents]),
    [
      ['p', ['v', 'w']],
      ['q', ['v', 'w']],
    ],
  );
});

test('matching: by id first, then by name from the highest version; keys stay unique', () => {
  const cmp = compareRuns(
    side('a', [result('lib.1.0', 'ok'), result('lib.2.0', 'ok'), result('solo.1', 'ok'), result('gone.1', 'ok')]),
    side('b', [result('lib.2.0', 'build-failed'), result('lib.3.0', 'ok'), result('lib.1.5', 'ok'), result('solo.2', 'build-failed')]),
  );
  const byKey = new Map(cmp.packages.map((p) => [p.key, p]));
  // lib.2.0 pairs by id; then lib.1.0 (baseline) pairs with the higher leftover lib.3.0; lib.1.5 is new.
  assert.equal(byKey.get('lib.2.0')!.matchedBy, 'id');
  assert.equal(byKey.get('lib.2.0')!.category, 'regressed');
  assert.equal(byKey.get('lib.3.0')!.baseline?.id, 'lib.1.0');
  assert.equal(byKey.get('lib.3.0')!.matchedBy, 'name');
  assert.equal(byKey.get('lib.1.5')!.matchedBy, 'one-side');
  assert.equal(byKey.get('lib.1.5')!.category, 'newly-installable');
  // A name seen once is keyed by name even though the versions differ.
  assert.equal(byKey.get('solo')!.category, 'regressed');
  assert.equal(byKey.get('gone')!.category, 'newly-not-installable');
  assert.equal(cmp.packages.length, 5);
});

test('a dependency regression under a lib with several versions names the exact version key', () => {
  const cmp = compareRuns(
    side('a', [result('lib.1.0', 'ok'), result('lib.2.0', 'ok'), result('app.1', 'ok')]),
    side('b', [result('lib.1.0', 'ok'), result('lib.2.0', 'build-failed'), result('app.1', 'dependency-failed', { rootCause: 'lib.2.0' })]),
  );
  assert.equal(cmp.packages.find((p) => p.key === 'app')!.rootCause, 'lib.2.0');
  assert.deepEqual(cmp.rootCauses.find((rc) => rc.key === 'lib.2.0')!.dependents, ['app']);
});

test('a cycle of rootCause records does not hang', () => {
  const cmp = compareRuns(
    side('a', [result('a.1', 'ok'), result('b.1', 'ok')]),
    side('b', [result('a.1', 'dependency-failed', { rootCause: 'b.1' }), result('b.1', 'dependency-failed', { rootCause: 'a.1' })]),
  );
  assert.equal(cmp.counts['dependency-regressed'], 2);
});

test('parseRunSide: one-line errors naming the file and the record', () => {
  assert.throws(
    () => parseRunSide({ runId: 1, label: 'x', compiler: 'c', results: [{ name: 'a', version: '1', status: 'exploded' }] }, 'runs.json'),
    {
      message: 'runs.json: results[0]: unknown status "exploded"',
    },
  );
  assert.throws(() => parseRunSide([], 'runs.json'), { message: 'runs.json: top level: must be an object' });
  const ok = parseRunSide({ runId: 1, label: 'x', compiler: 'c', results: [{ name: 'a', version: '1', status: 'ok' }] }, 'r');
  assert.equal(ok.results[0].id, 'a.1');
});
