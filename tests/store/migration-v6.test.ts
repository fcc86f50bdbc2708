/**
 * Schema version 6 from a version-5 database as the old code wrote it: results named their layer by an
 * absolute path (`prefix`), which was right on one machine only. After the upgrade results name a layer
 * by its key; an ok result is reused wherever the layer store holds its key's layer complete, whatever
 * path it was recorded with (another machine, a moved state folder), and not reused where it does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { APPLICATION_ID, openDatabase } from '../../src/store/database.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { createCacheLookup, loadRunResults } from '../../src/store/run-records.js';
import { LocalLayerStore } from '../../src/builder/layer-store.js';
import { isReusableResult } from '../../src/session/cache-validity.js';

function buildV5(file: string, prefixOf: (key: string) => string): void {
  const db = new Database(file);
  for (const m of MIGRATIONS.filter((m) => m.version <= 5)) {
    db.exec(m.sql);
    m.fill?.(db, {});
  }
  db.pragma(`application_id = ${APPLICATION_ID}`);
  db.pragma('user_version = 5');
  db.prepare(
    `INSERT INTO runs (id, kind, compiler_spec, repositories, repository_hash, targets, options, status, started_at, job_count, target_count)
     VALUES (1, 'baseline', '5.2.0', '["/repo"]', 'h', '{"kind":"latest"}', '{}', 'finished', '2025-01-01T00:00:00.000Z', 3, 3)`,
  ).run();
  for (const [key, name, status] of [
    ['k-ok', 'fine', 'ok'],
    ['k-gone', 'gone', 'ok'],
    ['k-bad', 'broken', 'build-failed'],
  ] as const) {
    db.prepare(`INSERT INTO jobs (key, name, version, dependencies, first_run_id) VALUES (?, ?, '1', '[]', 1)`).run(key, name);
    db.prepare(`INSERT INTO run_targets (run_id, package_id, name, version, job_key, reason) VALUES (1, ?, ?, '1', ?, NULL)`).run(
      `${name}.1`,
      name,
      key,
    );
    db.prepare(
      `INSERT INTO run_jobs (run_id, job_key, status, reason, duration_ms, exit_code, log_path, log_tail, cached, finished_at, first_error, missing_depexts)
       VALUES (1, ?, ?, '', 10, 0, NULL, 'tail', 0, '2025-01-01T00:30:00.000Z', NULL, '')`,
    ).run(key, status);
    db.prepare(
      `INSERT INTO results (job_key, status, reason, duration_ms, exit_code, log_path, log_tail, prefix, run_id, finished_at, first_error, missing_depexts)
       VALUES (?, ?, '', 10, 0, NULL, 'tail', ?, 1, '2025-01-01T00:30:00.000Z', NULL, '')`,
    ).run(key, status, status === 'ok' ? prefixOf(key) : null);
  }
  db.close();
}

test('a version-5 database with absolute layer paths migrates to version 6: results kept, named by key, usable where the layer is', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-migration-v6-'));
  try {
    const file = join(dir, 'v5.sqlite');
    // Recorded on another machine: paths that do not exist here.
    buildV5(file, (key) => `/home/runner/.local/share/ecocheck/store/${key}`);
    // This machine's store holds the layer of k-ok (complete), not that of k-gone.
    const storeDir = join(dir, 'store');
    mkdirSync(join(storeDir, 'k-ok', 'lib'), { recursive: true });
    writeFileSync(join(storeDir, 'k-ok.done'), '{}\n');
    const layers = new LocalLayerStore(storeDir);

    const db = openDatabase(file);
    try {
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      const columns = (db.prepare(`SELECT name FROM pragma_table_info('results')`).all() as { name: string }[]).map((c) => c.name);
      assert.ok(!columns.includes('prefix'), `no layer path is kept: ${columns.join(', ')}`);
      assert.deepEqual(db.pragma('foreign_key_check'), []);
      // Every record is still there and reads as before.
      assert.deepEqual(
        loadRunResults(db, 1).map((r) => [r.id, r.status]),
        [
          ['broken.1', 'build-failed'],
          ['fine.1', 'ok'],
          ['gone.1', 'ok'],
        ],
      );
      const lookup = createCacheLookup(db);
      const ok = lookup('k-ok')!;
      assert.equal(ok.status, 'ok');
      assert.ok(!('prefix' in ok), 'a cached result names no path');
      // The old code asked whether the recorded path existed: here it does not, so it rebuilt. Now the
      // layer store answers for the key: the result stands where the layer is complete ...
      assert.equal(isReusableResult(ok, 'k-ok', layers), true);
      // ... not where it is missing, and a failure always stands (it has no layer).
      assert.equal(isReusableResult(lookup('k-gone')!, 'k-gone', layers), false);
      assert.equal(isReusableResult(lookup('k-bad')!, 'k-bad', layers), true);
    } finally {
      db.close();
    }
    // Opened again: nothing more to do.
    const again = openDatabase(file, { readonly: true });
    assert.equal(again.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
