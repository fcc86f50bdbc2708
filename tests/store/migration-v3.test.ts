/**
 * Schema version 3 from a version-2 database as the old code wrote it: every row kept, the links between
 * runs moved from options.against into foreign-key columns, dangling links dropped, unknown kinds mapped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { APPLICATION_ID, openDatabase } from '../../src/store/database.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { createRun, DEFAULT_RUN_OPTIONS, getRun, listRuns } from '../../src/store/runs.js';
import { loadRunResults } from '../../src/store/run-records.js';
import type { PackageRunResult } from '../../src/results/taxonomy.js';

/** The options object check-run.ts wrote before version 3 (against inside). */
function oldOptions(against: number | null, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    compilerName: 'next',
    compilerSourceTree: null,
    against,
    jobs: 4,
    env: ['OPAMVAR=1'],
    withTest: false,
    sandbox: true,
    timeoutMs: 60_000,
    memoryBytes: 1024,
    builderVersion: 'b1',
    platform: { arch: 'x86_64', os: 'linux' },
    ...extra,
  });
}

/** A version-2 database built with the v1 and v2 SQL, and rows as the version-2 code wrote them. */
function buildV2(file: string): void {
  const db = new Database(file);
  db.exec(MIGRATIONS[0].sql);
  db.exec(MIGRATIONS[1].sql);
  db.pragma(`application_id = ${APPLICATION_ID}`);
  db.pragma('user_version = 2');
  const run = db.prepare(
    `INSERT INTO runs (id, kind, label, compiler_spec, repositories, repository_hash, targets, options, status, pid, started_at, finished_at, job_count, target_count)
     VALUES (?, ?, ?, ?, '["/repo"]', 'h', '{"kind":"latest"}', ?, ?, 1, '2024-01-01T00:00:00.000Z', '2024-01-01T01:00:00.000Z', ?, ?)`,
  );
  run.run(1, 'baseline', 'baseline', '5.1.1', oldOptions(null, { compilerName: 'baseline' }), 'finished', 2, 2);
  run.run(2, 'candidate', 'next', '5.2.0', oldOptions(1), 'finished', 2, 2);
  run.run(3, 'retry', 'retry 1 of #2', '5.2.0', oldOptions(2), 'finished', 1, 1);
  run.run(4, 'check', null, '5.2.0', 'this is {not json', 'crashed', 0, 0);
  run.run(5, 'candidate', 'next', '5.2.0', oldOptions(99), 'finished', 0, 0); // its baseline was deleted
  run.run(6, 'compare', null, '5.2.0', JSON.stringify({ jobs: 2, env: [], sandbox: false }), 'finished', 0, 0); // an old kind; options before compiler names
  run.run(7, 'rerun', 'next', '5.2.0', oldOptions(1), 'interrupted', 0, 0);
  run.run(8, 'retry', 'retry 1 of #98', '5.2.0', oldOptions(98), 'finished', 0, 0); // its candidate was deleted
  run.run(9, 'check', null, '5.2.0', '[1, 2]', 'weird', 0, 0); // JSON but not an object; a status outside the list
  const job = db.prepare(`INSERT INTO jobs (key, name, version, dependencies, first_run_id) VALUES (?, ?, ?, '[]', 1)`);
  job.run('ka', 'a', '1');
  job.run('kb', 'b', '1');
  const target = db.prepare(`INSERT INTO run_targets (run_id, package_id, name, version, job_key, reason) VALUES (?, ?, ?, '1', ?, ?)`);
  const runJob = db.prepare(
    `INSERT INTO run_jobs (run_id, job_key, status, reason, root_cause_key, root_cause, root_causes, duration_ms, exit_code, log_path, log_tail, cached, finished_at)
     VALUES (?, ?, ?, '', NULL, NULL, NULL, 10, ?, ?, ?, ?, '2024-01-01T00:30:00.000Z')`,
  );
  const result = db.prepare(
    `INSERT INTO results (job_key, status, reason, duration_ms, exit_code, log_path, log_tail, prefix, run_id, finished_at)
     VALUES (?, ?, '', 10, ?, NULL, ?, NULL, ?, '2024-01-01T00:30:00.000Z')`,
  );
  for (const r of [1, 2]) {
    target.run(r, 'a.1', 'a', 'ka', null);
    target.run(r, 'n.1', 'n', null, 'no compiler');
  }
  runJob.run(1, 'ka', 'ok', 0, '/logs/a', 'tail a', 0);
  runJob.run(2, 'ka', 'ok', 0, null, null, 1);
  result.run('ka', 'ok', 0, 'tail a', 1);
  target.run(3, 'b.1', 'b', 'kb', null);
  runJob.run(3, 'kb', 'build-failed', 2, '/logs/b', 'tail b', 0);
  result.run('kb', 'build-failed', 2, 'tail b', 3);
  // Records of run 42, whose row was deleted by hand; and runs up to 100 existed once.
  target.run(42, 'c.1', 'c', 'kc', null);
  runJob.run(42, 'kc', 'ok', 0, null, 'tail c', 0);
  db.prepare(`UPDATE sqlite_sequence SET seq = 100 WHERE name = 'runs'`).run();
  db.close();
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ecocheck-migration-'));
}

function counts(db: Database.Database): Record<string, number> {
  const n = (t: string) => (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
  return { runs: n('runs'), jobs: n('jobs'), results: n('results'), run_jobs: n('run_jobs'), run_targets: n('run_targets') };
}

test('a version-2 database migrates to version 3: every row kept, links in columns, against gone from options', () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'v2.sqlite');
    buildV2(file);
    const raw = new Database(file);
    const before = counts(raw);
    raw.close();
    // The results as the v2 rows read, on a copy given the later verdict columns (empty) for today's reader;
    // the verdicts, filled in by migration 4 (tests/store/migration-v4.test.ts), are left out of the comparison.
    const withoutVerdicts = (rs: PackageRunResult[]) => rs.map(({ firstError: _f, missingSystemPackages: _m, ...rest }) => rest);
    const v2Results = (() => {
      const copy = join(dir, 'v2-copy.sqlite');
      copyFileSync(file, copy);
      const d = new Database(copy);
      try {
        for (const t of ['results', 'run_jobs'])
          d.exec(`ALTER TABLE ${t} ADD COLUMN first_error TEXT; ALTER TABLE ${t} ADD COLUMN missing_depexts TEXT;`);
        return [1, 2, 3].map((id) => withoutVerdicts(loadRunResults(d, id)));
      } finally {
        d.close();
      }
    })();

    const db = openDatabase(file);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION, 'on through version 3 to the latest');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    // One run more: the stand-in for run 42, whose records are kept.
    assert.deepEqual(counts(db), { ...before, runs: before.runs + 1 });
    assert.deepEqual(
      [1, 2, 3].map((id) => withoutVerdicts(loadRunResults(db, id))),
      v2Results,
    );

    const links = Object.fromEntries(listRuns(db).map((r) => [r.id, [r.kind, r.against, r.retryOf]]));
    assert.deepEqual(links, {
      1: ['baseline', null, null],
      2: ['candidate', 1, null],
      3: ['retry', 1, 2], // retries candidate 2, compared with 2's baseline
      4: ['check', null, null],
      5: ['candidate', null, null], // its baseline no longer exists
      6: ['check', null, null], // 'compare' is no kind any more
      7: ['rerun', 1, null], // which run it reran was never recorded
      8: ['retry', null, null],
      9: ['check', null, null],
      42: ['check', null, null],
    });
    const standIn = getRun(db, 42)!;
    assert.equal(standIn.status, 'crashed');
    assert.equal(standIn.jobCount, 1);
    assert.equal(standIn.targetCount, 1);
    assert.equal(loadRunResults(db, 42)[0].logTail, 'tail c');
    assert.equal(getRun(db, 9)!.status, 'crashed', 'a status outside the list');

    // against left the JSON; every other field is kept as it was written.
    const options = db.prepare(`SELECT id, options FROM runs ORDER BY id`).all() as { id: number; options: string }[];
    for (const o of options) if (o.id !== 4) assert.equal(JSON.parse(o.options).against, undefined, `run ${o.id}`);
    assert.equal(options.find((o) => o.id === 4)!.options, 'this is {not json', 'text that is not JSON is kept as it was');
    assert.deepEqual(getRun(db, 2)!.options, {
      compilerName: 'next',
      compilerSourceTree: null,
      jobs: 4,
      env: ['OPAMVAR=1'],
      withTest: false,
      // The row's `sandbox: true`, as a mode.
      sandboxMode: 'confined',
      timeoutMs: 60_000,
      memoryBytes: 1024,
      builderVersion: 'b1',
      platform: { arch: 'x86_64', os: 'linux' },
      // Fields later than the row: their defaults.
      pins: [],
      pinned: [],
    });
    assert.deepEqual(getRun(db, 4)!.options, DEFAULT_RUN_OPTIONS);
    assert.deepEqual(getRun(db, 6)!.options, { ...DEFAULT_RUN_OPTIONS, jobs: 2, sandboxMode: 'host' });

    // The indexes are back, and new ones on the links (and, from migration 5, on merged runs' import hash).
    const indexes = (
      db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`).all() as { name: string }[]
    ).map((r) => r.name);
    assert.deepEqual(indexes, [
      'jobs_by_package',
      'results_by_run',
      'run_jobs_by_key',
      'run_targets_by_name',
      'runs_by_against',
      'runs_by_import_hash',
      'runs_by_retry_of',
    ]);
    // Ids keep counting past the runs deleted before the migration.
    const next = createRun(db, {
      compilerSpec: '5.2.0',
      repositories: ['/repo'],
      repositoryHash: 'h',
      targets: { kind: 'latest' },
      options: DEFAULT_RUN_OPTIONS,
      against: 1,
    });
    assert.equal(next, 101);
    assert.deepEqual(
      listRuns(db, { kind: 'retry', retryOf: 2 }).map((r) => r.id),
      [3],
    );
    db.close();

    // Reopening does not migrate again.
    const again = openDatabase(file);
    assert.equal(getRun(again, 3)!.retryOf, 2);
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a version-1 database and an empty file both reach version 3 (and the latest)', () => {
  const dir = tempDir();
  try {
    const v1 = join(dir, 'v1.sqlite');
    const raw = new Database(v1);
    raw.exec(MIGRATIONS[0].sql);
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    raw.pragma('user_version = 1');
    const insert = raw.prepare(
      `INSERT INTO runs (kind, compiler_spec, repositories, repository_hash, targets, options, status, started_at) VALUES (?, '1', '[]', 'h', '{}', ?, 'finished', 'x')`,
    );
    insert.run('baseline', '{"jobs": 2}');
    insert.run('candidate', '{"jobs": 2, "against": 1}');
    raw.close();
    const db = openDatabase(v1);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.ok((db.prepare('PRAGMA table_info(run_jobs)').all() as { name: string }[]).some((c) => c.name === 'root_causes'));
    assert.equal(getRun(db, 2)!.against, 1);
    assert.equal(getRun(db, 2)!.options.jobs, 2);
    db.close();
    const fresh = openDatabase(join(dir, 'new.sqlite'));
    assert.equal(fresh.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    fresh.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
