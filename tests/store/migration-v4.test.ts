/**
 * Schema version 4 from a version-3 database as the old code wrote it: the builder's verdicts (first error,
 * missing system packages) become columns, filled once from the stored log tails with the builder's own
 * extractor, so compare reads them as data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { APPLICATION_ID, openDatabase } from '../../src/store/database.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { createCacheLookup, loadRunResults } from '../../src/store/run-records.js';
import { openStateDatabase } from '../../src/session/state-database.js';

/** A failed build's log tail as the version-3 builder wrote it: its notes after the failing command. */
const DEPEXTS_TAIL = [
  '# depexts: libgmp-dev libmpfr-dev; not installed: libgmp-dev libmpfr-dev',
  '$ make    # cwd: /build',
  'gcc -c gmp_stubs.c',
  'gmp_stubs.c:1:10: fatal error: gmp.h: No such file or directory',
  '[exit code 2 after 0.1 s]',
  '# first error: gmp_stubs.c:1:10: fatal error: gmp.h: No such file or directory',
  '# missing system packages (depexts): libgmp-dev libmpfr-dev',
  '# build-failed: missing system packages (depexts): libgmp-dev libmpfr-dev; build failed at `make`: gmp_stubs.c:1:10: fatal error: gmp.h: No such file or directory (120 ms)',
].join('\n');

/** An older tail without notes: the first error is read from the command's output. */
const PLAIN_TAIL = [
  '$ dune build    # cwd: /build',
  'File "src/x.ml", line 3, characters 4-10:',
  'Error: Unbound module Stream',
  '[exit code 1 after 2 s]',
].join('\n');

function buildV3(file: string): void {
  const db = new Database(file);
  for (const m of MIGRATIONS.filter((m) => m.version <= 3)) db.exec(m.sql);
  db.pragma(`application_id = ${APPLICATION_ID}`);
  db.pragma('user_version = 3');
  const run = db.prepare(
    `INSERT INTO runs (id, kind, compiler_spec, repositories, repository_hash, targets, options, status, started_at, job_count, target_count)
     VALUES (?, 'check', '5.2.0', '["/repo"]', 'h', '{"kind":"latest"}', '{}', 'finished', '2024-01-01T00:00:00.000Z', 3, 3)`,
  );
  run.run(1);
  run.run(2);
  const job = db.prepare(`INSERT INTO jobs (key, name, version, dependencies, first_run_id) VALUES (?, ?, '1', '[]', 1)`);
  const target = db.prepare(`INSERT INTO run_targets (run_id, package_id, name, version, job_key, reason) VALUES (?, ?, ?, '1', ?, NULL)`);
  const runJob = db.prepare(
    `INSERT INTO run_jobs (run_id, job_key, status, reason, duration_ms, exit_code, log_path, log_tail, cached, finished_at)
     VALUES (?, ?, ?, 'why', 10, ?, NULL, ?, ?, '2024-01-01T00:30:00.000Z')`,
  );
  const result = db.prepare(
    `INSERT INTO results (job_key, status, reason, duration_ms, exit_code, log_path, log_tail, prefix, run_id, finished_at)
     VALUES (?, ?, 'why', 10, ?, NULL, ?, NULL, 1, '2024-01-01T00:30:00.000Z')`,
  );
  for (const [key, name, status, exit, tail] of [
    ['kz', 'zarith', 'build-failed', 2, DEPEXTS_TAIL],
    ['ks', 'stream-user', 'build-failed', 1, PLAIN_TAIL],
    ['ko', 'fine', 'ok', 0, '# ok (3 ms)'],
  ] as const) {
    job.run(key, name);
    target.run(1, `${name}.1`, name, key);
    target.run(2, `${name}.1`, name, key);
    runJob.run(1, key, status, exit, tail, 0);
    runJob.run(2, key, status, exit, null, 1); // a cache hit: its tail is the results row's
    result.run(key, status, exit, tail);
  }
  db.close();
}

test('a version-3 database migrates to version 4: first_error and missing_depexts filled from the stored log tails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-migration-v4-'));
  try {
    const file = join(dir, 'v3.sqlite');
    buildV3(file);
    // The builder's reader is the opener's to give: the session's opener, which every verb that writes
    // uses, gives it (the store imports no builder).
    const db = openStateDatabase(file);
    try {
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION, 'through 4 to the latest');
      assert.deepEqual(db.pragma('foreign_key_check'), []);
      const results = db.prepare(`SELECT job_key, first_error, missing_depexts FROM results ORDER BY job_key`).all();
      assert.deepEqual(results, [
        { job_key: 'ko', first_error: null, missing_depexts: '' },
        { job_key: 'ks', first_error: 'Error: Unbound module Stream', missing_depexts: '' },
        {
          job_key: 'kz',
          first_error: 'gmp_stubs.c:1:10: fatal error: gmp.h: No such file or directory',
          missing_depexts: 'libgmp-dev libmpfr-dev',
        },
      ]);
      const runJobs = db.prepare(`SELECT run_id, job_key, first_error, missing_depexts FROM run_jobs ORDER BY run_id, job_key`).all();
      assert.deepEqual(runJobs, [
        { run_id: 1, job_key: 'ko', first_error: null, missing_depexts: '' },
        { run_id: 1, job_key: 'ks', first_error: 'Error: Unbound module Stream', missing_depexts: '' },
        {
          run_id: 1,
          job_key: 'kz',
          first_error: 'gmp_stubs.c:1:10: fatal error: gmp.h: No such file or directory',
          missing_depexts: 'libgmp-dev libmpfr-dev',
        },
        // Cache hits keep no copy: they read their results row.
        { run_id: 2, job_key: 'ko', first_error: null, missing_depexts: null },
        { run_id: 2, job_key: 'ks', first_error: null, missing_depexts: null },
        { run_id: 2, job_key: 'kz', first_error: null, missing_depexts: null },
      ]);

      // The readers give them as data: the run's own records, and a cache hit's through its results row.
      const verdicts = (runId: number) =>
        Object.fromEntries(loadRunResults(db, runId).map((r) => [r.id, [r.firstError, r.missingSystemPackages]]));
      const expected = {
        'fine.1': [null, []],
        'stream-user.1': ['Error: Unbound module Stream', []],
        'zarith.1': ['gmp_stubs.c:1:10: fatal error: gmp.h: No such file or directory', ['libgmp-dev', 'libmpfr-dev']],
      };
      assert.deepEqual(verdicts(1), expected);
      assert.deepEqual(verdicts(2), expected);
      const hit = createCacheLookup(db)('kz')!;
      assert.deepEqual([hit.firstError, hit.missingSystemPackages], expected['zarith.1']);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without the log reader, an upgrade leaves the verdicts of older records NULL: not recorded, never wrong', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-migration-v4-'));
  try {
    const file = join(dir, 'v3.sqlite');
    buildV3(file);
    const db = openDatabase(file);
    try {
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.deepEqual(db.prepare(`SELECT DISTINCT first_error, missing_depexts FROM results`).all(), [
        { first_error: null, missing_depexts: null },
      ]);
      assert.deepEqual(
        loadRunResults(db, 1).map((r) => [r.firstError, r.missingSystemPackages]),
        [
          [null, []],
          [null, []],
          [null, []],
        ],
      );
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
