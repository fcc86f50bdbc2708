import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { openDatabase, APPLICATION_ID } from '../../src/store/database.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { StoreError } from '../../src/store/store-error.js';
import {
  createRun,
  DEFAULT_RUN_OPTIONS,
  finishRun,
  getRun,
  latestRun,
  listRuns,
  markAbandonedRuns,
  runStatusCounts,
  setRunKind,
} from '../../src/store/runs.js';
import {
  createCacheLookup,
  createResultRecorder,
  findNotInstallableTarget,
  findPackageJobs,
  loadRunResults,
  recordPlan,
} from '../../src/store/run-records.js';
import { acquireRunLock } from '../../src/store/run-lock.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { runPlan } from '../../src/run/scheduler.js';
import type { Builder } from '../../src/builder/builder.js';
import type { JobStatus } from '../../src/results/taxonomy.js';
import { fakePackage, fakeTargets } from '../support/plan-fixture-packages.js';
import { projectRoot } from '../support/snapshot.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ecocheck-store-'));
}

const newRun = {
  compilerSpec: '1.0',
  repositories: ['/repo'],
  repositoryHash: 'h',
  targets: { kind: 'latest' },
  options: { ...DEFAULT_RUN_OPTIONS, jobs: 2 },
};

test('a new database gets WAL, its application id and the latest schema; reopening keeps data', () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'db.sqlite');
    const db = openDatabase(file);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    const id = createRun(db, newRun);
    db.close();
    const again = openDatabase(file);
    assert.equal(getRun(again, id)!.compilerSpec, '1.0');
    assert.equal(getRun(again, id)!.status, 'running');
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupted or foreign file is refused with one line naming it', () => {
  const dir = tempDir();
  try {
    const garbage = join(dir, 'garbage.sqlite');
    writeFileSync(garbage, 'this is not a database at all, just text '.repeat(100));
    assert.throws(
      () => openDatabase(garbage),
      (err: unknown) => err instanceof StoreError && err.message.includes(garbage) && !err.message.includes('\n'),
    );
    const foreign = join(dir, 'foreign.sqlite');
    const other = new Database(foreign);
    other.exec('CREATE TABLE customers (id INTEGER)');
    other.close();
    assert.throws(
      () => openDatabase(foreign),
      (err: unknown) => err instanceof StoreError && /foreign\.sqlite is not an ecocheck database/.test(err.message),
    );
    const future = join(dir, 'future.sqlite');
    openDatabase(future).close();
    const f = new Database(future);
    f.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    f.close();
    assert.throws(() => openDatabase(future), /newer than this ecocheck knows/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('results of a run: recorded as they finish, cached when cacheable, read back per target', async () => {
  const dir = tempDir();
  try {
    const db = openDatabase(join(dir, 'db.sqlite'));
    const targets = fakeTargets(['c.1', 'z.1', 'w.1'], { 'c.1': ['b.1'], 'b.1': ['a.1'], 'a.1': [], 'z.1': [], 'w.1': [] });
    targets.push({ target: fakePackage('n.1'), outcome: { installable: false, reason: 'no compiler' } });
    const plan = buildPlan(targets, { builderVersion: 'b', platform: {} });
    const statuses: Record<string, JobStatus> = { 'b.1': 'build-failed', 'w.1': 'timeout' };
    let builds = 0;
    const builder: Builder = {
      version: 'b',
      async build(job) {
        builds++;
        const status = statuses[job.id] ?? 'ok';
        return {
          status,
          reason: status === 'ok' ? '' : `${status} here`,
          exitCode: status === 'ok' ? 0 : 1,
          durationMs: 12,
          logPath: `/logs/${job.id}`,
          logTail: `tail ${job.id}`,
          firstError: null,
          missingSystemPackages: [],
          prefix: status === 'ok' ? `/p/${job.key}` : null,
        };
      },
    };
    const run1 = createRun(db, newRun);
    recordPlan(db, run1, plan);
    const lookup = createCacheLookup(db);
    await runPlan(plan, builder, { concurrency: 2, lookupCached: (j) => lookup(j.key), onJobFinished: createResultRecorder(db, run1) });
    finishRun(db, run1, 'finished');
    assert.equal(builds, 4);
    const r1 = loadRunResults(db, run1);
    assert.deepEqual(
      r1.map((r) => [r.id, r.status, r.rootCause, r.cached]),
      [
        ['c.1', 'dependency-failed', 'b.1', false],
        ['n.1', 'not-installable', null, false],
        ['w.1', 'timeout', null, false],
        ['z.1', 'ok', null, false],
      ],
    );
    assert.equal(r1[1].reason, 'no compiler');
    assert.equal(r1[3].logTail, 'tail z.1');
    assert.equal(r1[3].durationMs, 12);
    assert.equal(r1[3].jobKey, plan.targets[1].key);

    // Second run: ok and build-failed are cache hits; the timeout is rebuilt; dependency-failed recomputed.
    builds = 0;
    const run2 = createRun(db, newRun);
    recordPlan(db, run2, plan);
    const out = await runPlan(plan, builder, {
      concurrency: 2,
      lookupCached: (j) => lookup(j.key),
      onJobFinished: createResultRecorder(db, run2),
    });
    finishRun(db, run2, 'finished');
    assert.equal(builds, 1);
    assert.equal(out.cacheHits, 3);
    const r2 = loadRunResults(db, run2);
    assert.deepEqual(
      r2.map((r) => [r.id, r.status, r.cached]),
      [
        ['c.1', 'dependency-failed', false],
        ['n.1', 'not-installable', false],
        ['w.1', 'timeout', false],
        ['z.1', 'ok', true],
      ],
    );
    assert.equal(r2[3].logTail, 'tail z.1', 'a cache hit reads its log tail from the cached result');
    const counts = runStatusCounts(db, run2);
    assert.deepEqual(counts.targets, { 'dependency-failed': 1, 'not-installable': 1, timeout: 1, ok: 1 });
    assert.equal(counts.cacheHits, 3);

    const b = findPackageJobs(db, 'b', null, null);
    assert.equal(b.length, 1);
    assert.equal(b[0].runId, run2);
    assert.equal(b[0].status, 'build-failed');
    assert.equal(b[0].logPath, '/logs/b.1');
    assert.equal(b[0].isTarget, false);
    assert.equal(findPackageJobs(db, 'b', '1', run1)[0].cached, false);
    assert.deepEqual(findPackageJobs(db, 'nope', null, null), []);
    assert.deepEqual(findNotInstallableTarget(db, run2, 'n', null), [{ id: 'n.1', reason: 'no compiler' }]);

    assert.deepEqual(
      listRuns(db).map((r) => r.id),
      [run2, run1],
    );
    setRunKind(db, run1, 'baseline', 'base 1.0');
    assert.equal(latestRun(db, { kind: 'baseline' })!.id, run1);
    assert.equal(getRun(db, run1)!.label, 'base 1.0');
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runs left running by a dead process are marked crashed', () => {
  const dir = tempDir();
  try {
    const db = openDatabase(join(dir, 'db.sqlite'));
    const id = createRun(db, newRun);
    db.prepare('UPDATE runs SET pid = 999999999 WHERE id = ?').run(id);
    const mine = createRun(db, newRun);
    assert.equal(markAbandonedRuns(db), 1);
    assert.equal(getRun(db, id)!.status, 'crashed');
    assert.equal(getRun(db, mine)!.status, 'running');
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run lock: a second process is refused with a clear message while the first holds it; a dead holder is taken over', () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'db.sqlite');
    const db = openDatabase(file);
    const release = acquireRunLock(db, file);
    const script = `
      import { openDatabase } from ${JSON.stringify(join(projectRoot, 'dist/src/store/database.js'))};
      import { acquireRunLock } from ${JSON.stringify(join(projectRoot, 'dist/src/store/run-lock.js'))};
      const db = openDatabase(process.argv[1]);
      try { acquireRunLock(db, process.argv[1]); console.log('acquired'); } catch (e) { console.log(e.name + ': ' + e.message); }`;
    const second = spawnSync(process.execPath, ['--input-type=module', '-e', script, file], { encoding: 'utf8' });
    assert.match(second.stdout, /^RunLockedError: another ecocheck run \(pid \d+ on .*\) is running on .*db\.sqlite \(wait for it/);
    release();
    assert.match(execFileSync(process.execPath, ['--input-type=module', '-e', script, file], { encoding: 'utf8' }), /^acquired/);
    // That child exited holding the lock: it is dead, so we take over.
    const again = acquireRunLock(db, file);
    again();
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a dependency failure with two roots keeps both through the store; one root is stored as before', async () => {
  const dir = tempDir();
  try {
    const db = openDatabase(join(dir, 'db.sqlite'));
    const targets = fakeTargets(['w.1', 'c.1'], { 'w.1': ['a.1', 'b.1'], 'c.1': ['a.1'], 'a.1': [], 'b.1': [] });
    const plan = buildPlan(targets, { builderVersion: 'b', platform: {} });
    const builder: Builder = {
      version: 'b',
      async build(job) {
        const failed = job.id === 'a.1' || job.id === 'b.1';
        return {
          status: failed ? 'build-failed' : 'ok',
          reason: '',
          exitCode: failed ? 1 : 0,
          durationMs: 1,
          logPath: null,
          logTail: '',
          firstError: null,
          missingSystemPackages: [],
          prefix: failed ? null : `/p/${job.key}`,
        };
      },
    };
    const run = createRun(db, newRun);
    recordPlan(db, run, plan);
    await runPlan(plan, builder, { concurrency: 1, onJobFinished: createResultRecorder(db, run) });
    finishRun(db, run, 'finished');
    const byId = new Map(loadRunResults(db, run).map((r) => [r.id, r]));
    const w = byId.get('w.1')!;
    assert.equal(w.status, 'dependency-failed');
    assert.deepEqual(new Set(w.rootCauses), new Set(['a.1', 'b.1']));
    assert.equal(w.rootCause, w.rootCauses![0]);
    assert.equal(byId.get('c.1')!.rootCause, 'a.1');
    assert.equal(byId.get('c.1')!.rootCauses, undefined, 'one root: the old column alone');
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a version-1 database is migrated: run_jobs gains root_causes', () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'v1.sqlite');
    const db = openDatabase(file);
    db.close();
    const raw = new Database(file);
    raw.exec('ALTER TABLE run_jobs DROP COLUMN root_causes');
    // Version 1's results named their layer by path (dropped by migration 6).
    raw.exec('ALTER TABLE results ADD COLUMN prefix TEXT');
    raw.pragma('user_version = 1');
    raw.close();
    const again = openDatabase(file);
    assert.equal(again.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.ok((again.prepare('PRAGMA table_info(run_jobs)').all() as { name: string }[]).some((c) => c.name === 'root_causes'));
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
