/** Typed run records: kinds and statuses checked, links as foreign keys, options read back through one function. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/store/database.js';
import {
  createRun,
  DEFAULT_RUN_OPTIONS,
  getRun,
  isRunKind,
  listRuns,
  readRunOptions,
  RUN_KINDS,
  setRunKind,
  type NewRun,
  type RunKind,
  type RunOptions,
} from '../../src/store/runs.js';
import { createResultRecorder, recordPlan } from '../../src/store/run-records.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import type { JobRecord } from '../../src/results/job-record.js';
import { fakeTargets } from '../support/plan-fixture-packages.js';

const options: RunOptions = {
  compilerName: 'next',
  compilerSourceTree: '/src/ocaml',
  jobs: 3,
  env: ['A=1', 'B=two words'],
  withTest: true,
  sandboxMode: 'host',
  timeoutMs: 90_000,
  memoryBytes: 512 * 1024 ** 2,
  builderVersion: 'opam-builder 7',
  platform: { arch: 'arm64', os: 'macos' },
  pins: ['fmt=/src/fmt'],
  pinned: ['fmt.~dev=/src/fmt (opam file: /src/fmt/opam)'],
};

function newRun(extra: Partial<NewRun> = {}): NewRun {
  return { compilerSpec: '5.2.0', repositories: ['/repo'], repositoryHash: 'h', targets: { kind: 'latest' }, options, ...extra };
}

function withDb(body: (db: Db) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-runs-'));
  const db = openDatabase(join(dir, 'db.sqlite'));
  try {
    body(db);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertForeignKeyFailure(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => (err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY');
}

test('typed options and links round-trip; nothing but RunOptions is stored', () =>
  withDb((db) => {
    const baseline = createRun(db, newRun({ kind: 'baseline' }));
    const candidate = createRun(db, newRun({ kind: 'candidate', against: baseline }));
    // A caller that smuggles another field (as the old options.against) does not get it stored.
    const retry = createRun(
      db,
      newRun({ kind: 'retry', against: baseline, retryOf: candidate, options: { ...options, against: 7 } as RunOptions }),
    );
    const c = getRun(db, candidate)!;
    assert.deepEqual(c.options, options);
    assert.equal(c.kind, 'candidate');
    assert.equal(c.against, baseline);
    assert.equal(c.retryOf, null);
    const r = getRun(db, retry)!;
    assert.deepEqual([r.kind, r.against, r.retryOf], ['retry', baseline, candidate]);
    assert.equal((r.options as unknown as Record<string, unknown>).against, undefined);
    assert.equal(getRun(db, baseline)!.against, null);

    assert.deepEqual(
      listRuns(db, { retryOf: candidate }).map((x) => x.id),
      [retry],
    );
    assert.deepEqual(
      listRuns(db, { against: baseline }).map((x) => x.id),
      [retry, candidate],
    );
    assert.deepEqual(listRuns(db, { kind: 'retry', retryOf: baseline }), []);
  }));

test('foreign keys are enforced: no run linked to, and no record of, a run that does not exist', () =>
  withDb((db) => {
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    assertForeignKeyFailure(() => createRun(db, newRun({ kind: 'candidate', against: 999 })));
    assertForeignKeyFailure(() => createRun(db, newRun({ kind: 'retry', retryOf: 999 })));
    assert.deepEqual(listRuns(db), [], 'the refused runs left nothing');

    assertForeignKeyFailure(() =>
      db.prepare(`INSERT INTO run_jobs (run_id, job_key, status, reason, cached, finished_at) VALUES (999, 'k', 'ok', '', 0, 'x')`).run(),
    );
    const plan = buildPlan(fakeTargets(['a.1'], { 'a.1': [] }), { builderVersion: 'b', platform: {} });
    assertForeignKeyFailure(() => recordPlan(db, 999, plan));
    const job = plan.jobs.get(plan.targets[0].key)!;
    const record: JobRecord = {
      job,
      status: 'ok',
      reason: '',
      rootCauseKey: null,
      rootCause: null,
      exitCode: 0,
      durationMs: 1,
      logPath: null,
      logTail: '',
      firstError: null,
      missingSystemPackages: [],
      cached: false,
    };
    assertForeignKeyFailure(() => createResultRecorder(db, 999)(record));
    assert.equal((db.prepare(`SELECT count(*) AS n FROM results`).get() as { n: number }).n, 0);

    // With the run there, the same records go in.
    const run = createRun(db, newRun());
    recordPlan(db, run, plan);
    createResultRecorder(db, run)(record);
    assert.equal((db.prepare(`SELECT count(*) AS n FROM run_jobs WHERE run_id = ?`).get(run) as { n: number }).n, 1);
    // A run others link to (or with records) cannot be deleted from under them.
    const linked = createRun(db, newRun({ against: run }));
    assertForeignKeyFailure(() => db.prepare(`DELETE FROM runs WHERE id = ?`).run(run));
    assert.ok(getRun(db, linked));
  }));

test('kind and status are checked by the schema', () =>
  withDb((db) => {
    const id = createRun(db, newRun());
    assert.equal(getRun(db, id)!.kind, 'check');
    const isCheckFailure = (err: unknown) => (err as { code?: string }).code === 'SQLITE_CONSTRAINT_CHECK';
    assert.throws(() => setRunKind(db, id, 'comparison' as RunKind), isCheckFailure);
    assert.throws(() => db.prepare(`UPDATE runs SET status = 'done' WHERE id = ?`).run(id), isCheckFailure);
    for (const kind of RUN_KINDS) setRunKind(db, id, kind);
    assert.equal(getRun(db, id)!.kind, 'rerun');
    assert.ok(isRunKind('retry') && !isRunKind('compare') && !isRunKind(undefined));
  }));

test('readRunOptions: old rows get defaults for what they lack, mistyped fields too; it never throws', () => {
  // As the first version wrote them: no compiler name, no source tree.
  assert.deepEqual(
    readRunOptions(
      JSON.stringify({
        jobs: 8,
        env: ['X=1'],
        withTest: true,
        sandbox: false,
        timeoutMs: 5000,
        memoryBytes: 10,
        builderVersion: 'b',
        platform: { os: 'linux' },
      }),
    ),
    {
      ...DEFAULT_RUN_OPTIONS,
      jobs: 8,
      env: ['X=1'],
      withTest: true,
      sandboxMode: 'host',
      timeoutMs: 5000,
      memoryBytes: 10,
      builderVersion: 'b',
      platform: { os: 'linux' },
    },
  );
  assert.deepEqual(
    readRunOptions(
      JSON.stringify({
        compilerName: 5,
        compilerSourceTree: 3,
        jobs: '4',
        env: ['A=1', 2, null],
        withTest: 'yes',
        timeoutMs: -1,
        memoryBytes: 1.5,
        platform: { os: 'linux', bits: 64 },
      }),
    ),
    { ...DEFAULT_RUN_OPTIONS, env: ['A=1'], platform: { os: 'linux' } },
  );
  // The sandbox mode: named since issue 25; rows before hold the boolean (true: confined); a bad value is the default.
  assert.equal(readRunOptions('{"sandbox":true}').sandboxMode, 'confined');
  assert.equal(readRunOptions('{"sandboxMode":"host"}').sandboxMode, 'host');
  assert.equal(readRunOptions('{"sandboxMode":"host","sandbox":true}').sandboxMode, 'host');
  assert.equal(readRunOptions('{"sandboxMode":"chroot","sandbox":false}').sandboxMode, 'host');
  assert.equal(readRunOptions('{"sandboxMode":"chroot"}').sandboxMode, 'confined');
  for (const text of ['', 'not json', '{"jobs":', 'null', '[1,2]', '"options"', '42', 'true', '{}', null])
    assert.deepEqual(readRunOptions(text), DEFAULT_RUN_OPTIONS, String(text));
  // The defaults are not shared: changing what one read returned changes no other.
  const a = readRunOptions('{}');
  a.env.push('X=1');
  a.platform.os = 'x';
  assert.deepEqual(readRunOptions('{}'), DEFAULT_RUN_OPTIONS);
});

test('a row with options that are not JSON reads with defaults', () =>
  withDb((db) => {
    const id = createRun(db, newRun());
    db.prepare(`UPDATE runs SET options = 'garbage{' WHERE id = ?`).run(id);
    assert.deepEqual(getRun(db, id)!.options, DEFAULT_RUN_OPTIONS);
    assert.equal(listRuns(db).length, 1);
  }));
