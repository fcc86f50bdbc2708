/**
 * The application layer's rules, without subprocesses: which baseline a run is compared with, which
 * packages a retry and a rerun build again (one rule), and which errors become which exit code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseBaseline, sameTargets } from '../../src/session/baseline-choice.js';
import { selectRebuild, type JobState } from '../../src/session/rebuild-selection.js';
import { DEFAULT_RUN_OPTIONS, type RunInfo } from '../../src/store/runs.js';
import type { JobStatus, PackageRunResult } from '../../src/results/taxonomy.js';

function run(id: number, extra: Partial<RunInfo> = {}): RunInfo {
  return {
    id,
    kind: 'baseline',
    label: null,
    compilerSpec: '4.14.2',
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

test('baseline choice: the newest finished baseline of the same targets and repositories', () => {
  const newestFirst = [run(5, { status: 'interrupted' }), run(4, { kind: 'candidate' }), run(3), run(2)];
  assert.equal(chooseBaseline(newestFirst, { id: -1, repositories: ['/repo'], targets: { kind: 'latest' }, pins: [] })?.id, 3);
  // Other targets or other repositories: none.
  assert.equal(chooseBaseline(newestFirst, { id: -1, repositories: ['/repo'], targets: { kind: 'all-versions' }, pins: [] }), null);
  assert.equal(chooseBaseline(newestFirst, { id: -1, repositories: ['/other'], targets: { kind: 'latest' }, pins: [] }), null);
  // Never the run itself.
  assert.equal(chooseBaseline([run(3)], { id: 3, repositories: ['/repo'], targets: { kind: 'latest' }, pins: [] }), null);
});

test('baseline choice: explicit targets are a set (order and repeats do not matter), repositories a list', () => {
  const b = run(1, { targets: { kind: 'explicit', specs: ['a', 'b.1.0'] } });
  assert.equal(
    chooseBaseline([b], { id: -1, repositories: ['/repo'], targets: { kind: 'explicit', specs: ['b.1.0', 'a', 'a'] }, pins: [] })?.id,
    1,
  );
  assert.equal(chooseBaseline([b], { id: -1, repositories: ['/repo'], targets: { kind: 'explicit', specs: ['a'] }, pins: [] }), null);
  assert.ok(sameTargets({ kind: 'latest' }, { kind: 'latest' }));
  assert.ok(!sameTargets({ kind: 'latest' }, { kind: 'explicit', specs: [] }));
  assert.ok(!sameTargets(null, { kind: 'latest' }));
});

test("baseline choice: an overlay in front of the baseline's repositories finds it; the same repositories win", () => {
  const under = run(2, { repositories: ['/opam-repository'] });
  const same = run(1, { repositories: ['/overlay', '/opam-repository'] });
  const overlaid = { id: -1, repositories: ['/overlay', '/opam-repository'], targets: { kind: 'latest' }, pins: [] };
  assert.equal(chooseBaseline([under], overlaid)?.id, 2);
  assert.equal(chooseBaseline([under, same], overlaid)?.id, 1, 'the same repositories come before a newer baseline under the overlays');
  // Behind, not in front: a baseline with an overlay is not one for the plain repository.
  assert.equal(chooseBaseline([same], { id: -1, repositories: ['/opam-repository'], targets: { kind: 'latest' }, pins: [] }), null);
  // The order of repositories matters (the first wins).
  assert.equal(
    chooseBaseline([run(3, { repositories: ['/b', '/a'] })], { id: -1, repositories: ['/a', '/b'], targets: { kind: 'latest' }, pins: [] }),
    null,
  );
});

function result(id: string, status: JobStatus, extra: Partial<PackageRunResult> = {}): PackageRunResult {
  const [name, ...v] = id.split('.');
  return {
    id,
    name,
    version: v.join('.'),
    status,
    reason: '',
    rootCause: null,
    jobKey: status === 'not-installable' ? null : `key-${id}`,
    durationMs: 1,
    exitCode: null,
    logPath: null,
    logTail: '',
    firstError: null,
    missingSystemPackages: [],
    cached: false,
    ...extra,
  };
}

const noJobs = new Map<string, JobState>();

test('rebuild: own failures and spurious results rebuild with their cached results forgotten; ok and not-installable do not', () => {
  const s = selectRebuild(
    [
      result('a.1', 'build-failed'),
      result('b.1', 'install-failed'),
      result('c.1', 'timeout'),
      result('d.1', 'ok'),
      result('e.1', 'not-installable'),
      result('f.1', 'fetch-failed'),
    ],
    { freshOnly: false, jobsOfRun: noJobs },
  );
  assert.deepEqual(s.ids, ['a.1', 'b.1', 'c.1', 'f.1']);
  assert.deepEqual(s.forgetKeys, ['key-a.1', 'key-b.1', 'key-c.1', 'key-f.1']);
});

test('rebuild: a dependency failure rebuilds through its roots, and the root that is no target is forgotten too', () => {
  const jobsOfRun = new Map<string, JobState>([['dep.1', { id: 'dep.1', status: 'build-failed', jobKey: 'key-dep.1', cached: false }]]);
  const s = selectRebuild(
    [
      result('a.1', 'build-failed'),
      result('x.1', 'dependency-failed', { rootCause: 'a.1' }),
      result('y.1', 'dependency-failed', { rootCause: 'dep.1', rootCauses: ['dep.1'] }),
    ],
    { freshOnly: false, jobsOfRun },
  );
  assert.deepEqual(s.ids, ['a.1', 'x.1', 'y.1']);
  assert.deepEqual(s.forgetKeys.sort(), ['key-a.1', 'key-dep.1']);
  // A cascade whose root is unknown (not recorded) has nothing to rebuild.
  assert.deepEqual(
    selectRebuild([result('z.1', 'dependency-failed', { rootCause: 'gone.1' })], { freshOnly: false, jobsOfRun: noJobs }).ids,
    [],
  );
});

test('rebuild for a retry (freshOnly): failures taken from the cache are confirmed, their cascades left too', () => {
  const jobsOfRun = new Map<string, JobState>([
    ['old.1', { id: 'old.1', status: 'build-failed', jobKey: 'key-old.1', cached: true }],
    ['new.1', { id: 'new.1', status: 'build-failed', jobKey: 'key-new.1', cached: false }],
  ]);
  const s = selectRebuild(
    [
      result('a.1', 'build-failed', { cached: true }),
      result('b.1', 'build-failed'),
      result('x.1', 'dependency-failed', { rootCause: 'old.1' }),
      result('y.1', 'dependency-failed', { rootCause: 'old.1', rootCauses: ['old.1', 'new.1'] }),
    ],
    { freshOnly: true, jobsOfRun },
  );
  assert.deepEqual(s.ids, ['b.1', 'y.1']);
  assert.deepEqual(s.forgetKeys.sort(), ['key-b.1', 'key-new.1'], 'only the fresh root of y is forgotten');
  // The same input for a rerun (not fresh only) takes them all.
  assert.deepEqual(selectRebuild([result('a.1', 'build-failed', { cached: true })], { freshOnly: false, jobsOfRun }).ids, ['a.1']);
});

test('baseline choice: the same pins, so a pinned baseline is never taken for an unpinned run, nor the reverse', () => {
  const plain = run(1);
  const pinned = run(2, { options: { ...DEFAULT_RUN_OPTIONS, pins: ['fmt=/src/fmt'] } });
  const query = { id: -1, repositories: ['/repo'], targets: { kind: 'latest' }, pins: [] as string[] };
  assert.equal(chooseBaseline([pinned, plain], query)?.id, 1);
  assert.equal(chooseBaseline([pinned, plain], { ...query, pins: ['fmt=/src/fmt'] })?.id, 2);
  assert.equal(chooseBaseline([plain], { ...query, pins: ['fmt=/src/other'] }), null);
});
