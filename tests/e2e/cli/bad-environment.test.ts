/**
 * ecocheck in a bad environment, driven as a user would: a corrupted or foreign database file, an
 * unwritable download cache, a full disk (a build filling it, then the database unable to grow), two
 * concurrent checks on one database. Each gives one clear line (no stack trace), leaves the files it
 * refused untouched, and keeps the results recorded before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { projectRoot } from '../../support/snapshot.js';
import { instantiateHostileRepo, type HostileRepoCopy } from '../../support/hostile-repo.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';
import { openDatabase } from '../../../src/store/database.js';
import { loadRunResults } from '../../../src/store/run-records.js';
import { listRuns } from '../../../src/store/runs.js';
import { skipWithout } from '../../support/missing-setup.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const sandboxArgs = sandboxAvailable().ok ? [] : ['--no-sandbox'];
const LIMITS = ['--timeout', '3s', '--memory', '256M', '--jobs', '2', ...sandboxArgs];

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function ecocheck(args: string[]): Outcome {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: projectRoot });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function check(repo: HostileRepoCopy, state: string, compiler: string, targets: string[], extra: string[] = []): string[] {
  return ['check', '--repo', repo.root, '--compiler', compiler, '--state-dir', state, ...LIMITS, ...extra, ...targets];
}

/** One line on stderr, nothing else (no stack trace). */
function assertOneLine(r: Outcome, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
}

/** Each run (oldest first) with its status and the status of each result, through the store's API. */
function recorded(state: string): { id: number; status: string; results: Record<string, string> }[] {
  const db = openDatabase(join(state, 'ecocheck.sqlite'), { readonly: true });
  try {
    return listRuns(db)
      .reverse()
      .map((r) => ({ id: r.id, status: r.status, results: Object.fromEntries(loadRunResults(db, r.id).map((x) => [x.id, x.status])) }));
  } finally {
    db.close();
  }
}

/** What `ecocheck runs` lists: the run ids, newest first. */
function listedRuns(state: string): number[] {
  const r = ecocheck(['runs', '--state-dir', state]);
  assert.equal(r.code, 0, r.stderr);
  return [...r.stdout.matchAll(/^#(\d+) /gm)].map((m) => Number(m[1]));
}

function scratchDir(): { dir: string; repo: HostileRepoCopy } {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-bad-env-'));
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  return { dir, repo: instantiateHostileRepo({ marker: 700_000 + Math.floor(Math.random() * 200_000), outside }, dir) };
}

/** Runs a root-only command; false when it is not permitted here. */
function tryRun(argv: string[]): boolean {
  return spawnSync(argv[0], argv.slice(1), { stdio: 'ignore' }).status === 0;
}

const mountAllowed = (() => {
  const probe = mkdtempSync(join(tmpdir(), 'ecocheck-mount-probe-'));
  try {
    if (!tryRun(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe])) return false;
    tryRun(['umount', probe]);
    return true;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();
const needsMount = skipWithout('mount', mountAllowed ? false : 'mounting a tmpfs is not permitted here');

test('a corrupted database file: one line naming it, exit 2, the file untouched', () => {
  const { dir, repo } = scratchDir();
  try {
    const state = join(dir, 'state');
    mkdirSync(state);
    const file = join(state, 'ecocheck.sqlite');
    const bytes = randomBytes(20_000);
    writeFileSync(file, bytes);
    for (const args of [check(repo, state, '1.0', ['well-behaved']), ['runs', '--state-dir', state], ['report', '--state-dir', state]]) {
      const r = ecocheck(args);
      assertOneLine(
        r,
        new RegExp(
          `^ecocheck: database ${file.replace(/[.]/g, '\\.')} is unusable: file is not a database; move it away to start a new one\\n$`,
        ),
      );
      assert.deepEqual(readFileSync(file), bytes, `${args[0]} left the file's bytes unchanged`);
    }
  } finally {
    repo.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a damaged ecocheck database: check refuses to write into it (one line, exit 2, bytes unchanged); its readable runs are still listed', () => {
  const { dir, repo } = scratchDir();
  try {
    const state = join(dir, 'state');
    const first = ecocheck(check(repo, state, '1.0', ['well-behaved']));
    assert.equal(first.code, 0, first.stderr);
    const file = join(state, 'ecocheck.sqlite');
    // Overwrite the page of one index (not read by `runs`) with random bytes.
    const db = new Database(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const page = (db.prepare(`SELECT rootpage FROM sqlite_master WHERE name = 'jobs_by_package'`).get() as { rootpage: number }).rootpage;
    db.close();
    const fd = openSync(file, 'r+');
    writeSync(fd, randomBytes(pageSize), 0, pageSize, (page - 1) * pageSize);
    closeSync(fd);
    const bytes = readFileSync(file);

    const r = ecocheck(check(repo, state, '1.0', ['well-behaved']));
    assertOneLine(
      r,
      new RegExp(`^ecocheck: database ${file.replace(/[.]/g, '\\.')} is damaged \\(.+\\); move it away to start a new one\\n$`),
    );
    assert.deepEqual(readFileSync(file), bytes, 'the damaged file was not written');
    assert.deepEqual(listedRuns(state), [1], 'the recorded run is still listed');
  } finally {
    repo.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a foreign SQLite database (another application's): one line naming it, exit 2, its bytes and data untouched", () => {
  const { dir, repo } = scratchDir();
  try {
    const state = join(dir, 'state');
    mkdirSync(state);
    const file = join(state, 'ecocheck.sqlite');
    const other = new Database(file);
    other.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('not ecocheck''s')`);
    other.close();
    const bytes = readFileSync(file);
    for (const args of [check(repo, state, '1.0', ['well-behaved']), ['runs', '--state-dir', state]]) {
      const r = ecocheck(args);
      assertOneLine(
        r,
        new RegExp(
          `^ecocheck: ${file.replace(/[.]/g, '\\.')} is not an ecocheck database \\(it holds other data\\); choose another --state-dir\\n$`,
        ),
      );
      assert.deepEqual(readFileSync(file), bytes, `${args[0]} left the file's bytes unchanged`);
    }
    const again = new Database(file, { readonly: true });
    assert.deepEqual(again.prepare('SELECT body FROM notes').all(), [{ body: "not ecocheck's" }]);
    assert.equal(again.pragma('journal_mode', { simple: true }), 'delete', 'not switched to WAL');
    again.close();
  } finally {
    repo.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unwritable download cache: one line naming it and --cache-dir, nothing recorded, earlier results kept', () => {
  const { dir, repo } = scratchDir();
  let readOnly: string | null = null;
  try {
    const state = join(dir, 'state');
    const first = ecocheck(check(repo, state, '1.0', ['well-behaved']));
    assert.equal(first.code, 0, first.stderr);

    // A cache path under a file (root cannot create a directory there either).
    const aFile = join(dir, 'a-file');
    writeFileSync(aFile, 'just a file\n');
    const underFile = ecocheck(check(repo, state, '1.0', ['well-behaved', 'slow-on-2'], ['--cache-dir', join(aFile, 'cache')]));
    assertOneLine(
      underFile,
      new RegExp(
        `^ecocheck: the download cache ${aFile}/cache cannot be used: ${aFile} is not a directory; choose another --cache-dir\\n$`,
      ),
    );

    // A read-only mount (chmod does not stop root; a read-only bind does).
    if (mountAllowed) {
      readOnly = join(dir, 'read-only');
      mkdirSync(readOnly);
      assert.ok(
        tryRun(['mount', '--bind', readOnly, readOnly]) && tryRun(['mount', '-o', 'remount,ro,bind', readOnly]),
        'read-only bind mount',
      );
      const ro = ecocheck(check(repo, state, '1.0', ['well-behaved', 'slow-on-2'], ['--cache-dir', join(readOnly, 'cache')]));
      assertOneLine(
        ro,
        new RegExp(
          `^ecocheck: the download cache ${readOnly}/cache is not writable \\(${readOnly}\\): read-only file system; choose another --cache-dir\\n$`,
        ),
      );
    }
    assert.deepEqual(listedRuns(state), [1], 'no run was recorded for the refused checks');
    assert.deepEqual(recorded(state), [{ id: 1, status: 'finished', results: { 'well-behaved.1.0': 'ok' } }]);
  } finally {
    if (readOnly) tryRun(['umount', readOnly]);
    repo.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'a full disk: a build filling it is an internal error (disk full, spurious); a database that cannot grow is one line; earlier results kept',
  { skip: needsMount },
  () => {
    const { dir, repo } = scratchDir();
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    let mounted = false;
    try {
      // 96 MiB: room for fills-disk's 64 MiB once (the baseline), not twice (the candidate's new prefix).
      assert.ok(tryRun(['mount', '-t', 'tmpfs', '-o', 'size=96m', 'tmpfs', disk]), 'mount the small disk');
      mounted = true;
      const state = join(disk, 'state');
      const baseline = ecocheck(check(repo, state, '1.0', ['well-behaved', 'fills-disk'], ['--baseline']));
      assert.equal(baseline.code, 0, baseline.stderr);

      // One build at a time: run beside fills-disk, well-behaved could hit the full disk too.
      const candidate = ecocheck(check(repo, state, '2.0', ['well-behaved', 'fills-disk'], ['--format', 'json', '--jobs', '1']));
      assert.equal(candidate.code, 0, `a disk-full failure is no regression: ${candidate.stderr}`);
      const report = JSON.parse(candidate.stdout) as {
        regressionsFound: boolean;
        packages: { key: string; category: string; candidate: { status: string; reason: string } | null }[];
      };
      const fills = report.packages.find((p) => p.key === 'fills-disk')!;
      assert.equal(fills.category, 'spurious');
      assert.equal(fills.candidate!.status, 'internal-error');
      assert.match(fills.candidate!.reason, /^disk full during build: output says: .*No space left on device/);
      assert.equal(report.packages.find((p) => p.key === 'well-behaved')!.category, 'still-ok');
      assert.equal(report.regressionsFound, false);
      const afterFill = recorded(state);
      assert.deepEqual(
        afterFill.map((r) => [r.id, r.status, r.results]),
        [
          [1, 'finished', { 'well-behaved.1.0': 'ok', 'fills-disk.1.0': 'ok' }],
          [2, 'finished', { 'well-behaved.1.0': 'ok', 'fills-disk.1.0': 'internal-error' }],
        ],
      );

      // Now fill what is left, so the database itself cannot grow.
      const ballast = openSync(join(disk, 'ballast'), 'w');
      const chunk = Buffer.alloc(64 * 1024);
      try {
        for (;;) writeSync(ballast, chunk);
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      } finally {
        closeSync(ballast);
      }
      const full = ecocheck(check(repo, state, '1.0', ['well-behaved', 'slow-on-2']));
      assertOneLine(
        full,
        new RegExp(
          `^ecocheck: cannot write the database ${state}/ecocheck\\.sqlite: database or disk is full \\(free some space on its disk\\); choose another --state-dir\\n$`,
        ),
      );
      // The earlier runs are still listed and their results load, on the full disk.
      assert.deepEqual(listedRuns(state), [2, 1]);
      assert.deepEqual(recorded(state), afterFill);
      const db = new Database(join(state, 'ecocheck.sqlite'), { readonly: true });
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      db.close();
    } finally {
      if (mounted) tryRun(['umount', disk]);
      repo.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('two checks on one database: the second refuses in one line naming the holder; the first finishes; the database is intact', async () => {
  const { dir, repo } = scratchDir();
  try {
    const state = join(dir, 'state');
    const earlier = ecocheck(check(repo, state, '1.0', ['well-behaved']));
    assert.equal(earlier.code, 0, earlier.stderr);
    // sleeps-forever keeps the first check busy for its 3 s timeout.
    const args = check(repo, state, '1.0', ['well-behaved', 'sleeps-forever']);
    const first = spawn(process.execPath, [bin, ...args], { cwd: projectRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    let firstErr = '';
    first.stderr!.on('data', (d) => (firstErr += d));
    const firstDone = new Promise<number | null>((resolve) => first.on('exit', (code) => resolve(code)));
    const lockHolder = (): number | null => {
      try {
        const db = new Database(join(state, 'ecocheck.sqlite'), { readonly: true, fileMustExist: true });
        try {
          return (db.prepare(`SELECT pid FROM locks WHERE name = 'run'`).get() as { pid: number } | undefined)?.pid ?? null;
        } finally {
          db.close();
        }
      } catch {
        return null;
      }
    };
    const t0 = Date.now();
    while (lockHolder() !== first.pid) {
      if (Date.now() - t0 > 30_000) {
        first.kill('SIGKILL');
        throw new Error(`the first check never took the lock: ${firstErr}`);
      }
      await sleep(20);
    }
    const second = ecocheck(args);
    const file = join(state, 'ecocheck.sqlite');
    assertOneLine(
      second,
      new RegExp(
        `^ecocheck: another ecocheck run \\(pid ${first.pid} on [^,]+, since [0-9T:.Z-]+\\) is running on ${file.replace(/[.]/g, '\\.')} \\(wait for it to finish\\); choose another --state-dir\\n$`,
      ),
    );
    assert.equal(await firstDone, 0, firstErr);
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();
    assert.deepEqual(listedRuns(state), [2, 1], 'the refused check recorded no run');
    assert.deepEqual(
      recorded(state).map((r) => [r.id, r.status, r.results]),
      [
        [1, 'finished', { 'well-behaved.1.0': 'ok' }],
        [2, 'finished', { 'well-behaved.1.0': 'ok', 'sleeps-forever.1.0': 'timeout' }],
      ],
    );
    assert.equal(lockHolder(), null, 'the lock was released');
  } finally {
    repo.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
