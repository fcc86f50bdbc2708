/**
 * `ecocheck check` / `runs` / `log` driven as a user would, on the shell fixture ecosystem: every status
 * and every cascade's root, a rerun from the cache, an edited opam file rebuilding only its reverse
 * dependencies, kill -9 and Ctrl-C in the middle of a run, a second concurrent check, a corrupted
 * database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { projectRoot } from '../../support/snapshot.js';
import { instantiateEcosystem } from '../../support/fixture-ecosystem.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';
import { openDatabase } from '../../../src/store/database.js';
import { loadRunResults } from '../../../src/store/run-records.js';
import { listRuns } from '../../../src/store/runs.js';
import type { PackageRunResult } from '../../../src/results/taxonomy.js';
import { resolveStatePaths } from '../../../src/session/state-paths.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const sandboxArgs = sandboxAvailable().ok ? [] : ['--no-sandbox'];

function ecocheck(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: projectRoot });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function checkArgs(repo: string, state: string, compiler: string, extra: string[] = []): string[] {
  return ['check', '--repo', repo, '--compiler', compiler, '--state-dir', state, '--jobs', '2', ...sandboxArgs, ...extra];
}

/** The results each run recorded, by run id (oldest first), read through the store's API. */
function runResults(state: string): { id: number; status: string; results: Map<string, PackageRunResult> }[] {
  const db = openDatabase(join(state, 'ecocheck.sqlite'));
  try {
    return listRuns(db)
      .reverse()
      .map((r) => ({ id: r.id, status: r.status, results: new Map(loadRunResults(db, r.id).map((x) => [x.id, x])) }));
  } finally {
    db.close();
  }
}

function statuses(results: Map<string, PackageRunResult>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, r] of [...results].sort()) out[id] = r.status === 'dependency-failed' ? `dependency-failed(${r.rootCause})` : r.status;
  return out;
}

function builtIds(results: Map<string, PackageRunResult>): string[] {
  return [...results.values()]
    .filter((r) => r.jobKey !== null && !r.cached && r.status !== 'dependency-failed')
    .map((r) => r.id)
    .sort();
}

/** Every path under `root` with its size and modification time. */
function treeListing(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      const st = statSync(p);
      out.push(`${p} ${st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out.sort();
}

function tempState(): string {
  return mkdtempSync(join(tmpdir(), 'ecocheck-cli-state-'));
}

test('check on the fixture ecosystem: every status, cascades attributed to their root, on both compilers', () => {
  const eco = instantiateEcosystem();
  const state = tempState();
  try {
    const before = treeListing(eco.root);
    const r1 = ecocheck(checkArgs(eco.root, state, '1.0'));
    // A run compared with nothing exits 1 when packages failed (src/cli/exit-codes.ts); this one has failures.
    assert.equal(r1.code, 1, r1.stderr);
    assert.match(r1.stderr, /^run #1 \(compiler 1\.0\): 14 targets: /m);
    const r2 = ecocheck(checkArgs(eco.root, state, '2.0'));
    assert.equal(r2.code, 1, r2.stderr);
    const [run1, run2] = runResults(state);
    assert.equal(run1.status, 'finished');
    assert.deepEqual(statuses(run1.results), {
      'bad-checksum.1.0': 'fetch-failed',
      'broken-install.1.0': 'install-failed',
      'chain-a.1.0': 'ok',
      'chain-b.1.0': 'ok',
      'chain-c.1.0': 'ok',
      'depopt-user.1.0': 'ok',
      'installer.1.0': 'ok',
      'legacy-lib.1.0': 'ok',
      'needs-new.1.0': 'not-installable',
      'ocaml-base-compiler.1.0': 'ok',
      'ocaml.1.0': 'ok',
      'optional-feature.1.0': 'ok',
      'patched.1.0': 'ok',
      'stdext.1.0': 'ok',
    });
    assert.deepEqual(statuses(run2.results), {
      'bad-checksum.1.0': 'fetch-failed',
      'broken-install.1.0': 'install-failed',
      'chain-a.1.0': 'build-failed',
      'chain-b.1.0': 'dependency-failed(chain-a.1.0)',
      'chain-c.1.0': 'dependency-failed(chain-a.1.0)',
      'depopt-user.1.0': 'ok',
      'installer.1.0': 'ok',
      'legacy-lib.1.0': 'build-failed',
      'needs-new.1.0': 'ok',
      'ocaml-base-compiler.2.0': 'ok',
      'ocaml.2.0': 'ok',
      'optional-feature.1.0': 'ok',
      'patched.1.0': 'ok',
      'stdext.1.0': 'ok',
    });
    assert.match(run1.results.get('needs-new.1.0')!.reason, /ocaml/);
    assert.deepEqual(treeListing(eco.root), before, 'nothing was written into the repository');
    assert.match(r2.stderr, /dependency-failed +chain-c\.1\.0: dependency chain-a\.1\.0 failed/);
    // plan computes the same jobs check built: same keys, a DAG closed under its edges, the chain as critical path.
    const planned = ecocheck(['plan', '--repo', eco.root, '--compiler', '1.0', '--json']);
    assert.equal(planned.code, 0, planned.stderr);
    const dag = JSON.parse(planned.stdout) as {
      jobCount: number;
      edgeCount: number;
      criticalPath: { id: string }[];
      targets: { id: string; key: string }[];
      notInstallable: { id: string }[];
      jobs: { key: string; dependencies: string[] }[];
    };
    for (const t of dag.targets) assert.equal(t.key, run1.results.get(t.id)!.jobKey, t.id);
    assert.deepEqual(
      dag.notInstallable.map((t) => t.id),
      ['needs-new.1.0'],
    );
    const keys = new Set(dag.jobs.map((j) => j.key));
    assert.equal(keys.size, dag.jobCount);
    assert.equal(
      dag.jobs.reduce((n, j) => n + j.dependencies.length, 0),
      dag.edgeCount,
    );
    for (const j of dag.jobs) for (const d of j.dependencies) assert.ok(keys.has(d));
    assert.deepEqual(
      dag.criticalPath.map((j) => j.id),
      ['ocaml-base-compiler.1.0', 'ocaml.1.0', 'stdext.1.0', 'chain-a.1.0', 'chain-b.1.0', 'chain-c.1.0'],
    );
    const text = ecocheck(['plan', '--repo', eco.root, '--compiler', '2.0']);
    assert.match(text.stdout, /^jobs: \d+\nedges: \d+\ncritical path: 6 jobs: ocaml-base-compiler\.2\.0 -> ocaml\.2\.0 -> /m);
    // runs and log read the same records.
    const runs = ecocheck(['runs', '--state-dir', state]);
    assert.equal(runs.code, 0);
    assert.match(runs.stdout, /#2 +check +finished +2\.0 /);
    const log = ecocheck(['log', 'chain-a', '--state-dir', state]);
    assert.equal(log.code, 0, log.stderr);
    assert.match(log.stdout, /^== chain-a\.1\.0 \(run #2, job [0-9a-f]{12}\): build-failed: /);
    const cascade = ecocheck(['log', 'chain-c.1.0', '--state-dir', state, '--run', '2']);
    assert.match(cascade.stdout, /not built: its dependency chain-a\.1\.0 failed/);
    const okLog = ecocheck(['log', 'chain-c', '--run', '1', '--state-dir', state]);
    assert.match(okLog.stdout, /^== chain-c\.1\.0 \(run #1, .*\): ok\n/);
  } finally {
    eco.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});

test('a rerun builds nothing cacheable; editing one opam file rebuilds only it and its reverse dependencies', () => {
  const eco = instantiateEcosystem();
  const state = tempState();
  try {
    assert.equal(ecocheck(checkArgs(eco.root, state, '1.0')).code, 1, 'the fixture ecosystem has failures');
    const again = ecocheck(checkArgs(eco.root, state, '1.0'));
    assert.equal(again.code, 1, again.stderr);
    appendFileSync(join(eco.root, 'packages', 'chain-a', 'chain-a.1.0', 'opam'), '# an edit that changes the file\n');
    const edited = ecocheck(checkArgs(eco.root, state, '1.0'));
    assert.equal(edited.code, 1, edited.stderr);
    const [first, second, third] = runResults(state);
    assert.equal(builtIds(first.results).length, 13);
    // fetch-failed is spurious, so never cached: the only job a rerun tries again.
    assert.deepEqual(builtIds(second.results), ['bad-checksum.1.0']);
    assert.match(again.stderr, /^jobs: 1 built, 12 cached/m);
    assert.deepEqual(builtIds(third.results), ['bad-checksum.1.0', 'chain-a.1.0', 'chain-b.1.0', 'chain-c.1.0']);
    assert.deepEqual(statuses(third.results), statuses(first.results));
    assert.notEqual(third.results.get('chain-b.1.0')!.jobKey, first.results.get('chain-b.1.0')!.jobKey);
    assert.equal(third.results.get('stdext.1.0')!.jobKey, first.results.get('stdext.1.0')!.jobKey);
  } finally {
    eco.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});

/** Adds packages that each sleep a little while building, so a run can be stopped in its middle. */
function addSleepers(root: string, count: number, seconds: number): string[] {
  const ids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const dir = join(root, 'packages', `sleeper-${i}`, `sleeper-${i}.1.0`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'opam'), `opam-version: "2.0"\ndepends: ["ocaml"]\nbuild: ["sleep" "${seconds}"]\n`);
    ids.push(`sleeper-${i}.1.0`);
  }
  return ids;
}

/** Number of job results the running check has written so far. */
function finishedCount(state: string): number {
  try {
    const db = new Database(join(state, 'ecocheck.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare(`SELECT count(*) AS n FROM run_jobs WHERE run_id = (SELECT max(id) FROM runs)`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

for (const how of ['SIGKILL', 'SIGINT'] as const) {
  test(`${how} in the middle of a run, then rerun: no finished result lost, only unfinished jobs built`, async () => {
    const eco = instantiateEcosystem();
    const state = tempState();
    try {
      const sleepers = addSleepers(eco.root, 8, 0.6);
      const args = checkArgs(eco.root, state, '1.0', sleepers);
      const child = spawn(process.execPath, [bin, ...args], { cwd: projectRoot, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      let exitedEarly = false;
      const done = exited(child).then((e) => ((exitedEarly = true), e));
      // The compiler, ocaml and a few sleepers are finished: stop it while others are building.
      await waitFor(() => {
        if (exitedEarly) throw new Error('the check ended before it could be stopped');
        return finishedCount(state) >= 4;
      }, 'four finished jobs').catch((err: Error) => {
        child.kill('SIGKILL');
        throw new Error(`${err.message}; the check said: ${stderr}`);
      });
      child.kill(how);
      const end = await done;
      if (how === 'SIGKILL') assert.equal(end.signal, 'SIGKILL');
      else assert.equal(end.code, 130, stderr);

      if (how === 'SIGINT') {
        // The interrupted builds' partial prefixes are gone: every prefix left in the store is complete.
        const store = join(state, 'store');
        for (const entry of existsSync(store) ? readdirSync(store) : [])
          if (!entry.includes('.')) assert.ok(existsSync(join(store, `${entry}.done`)), `partial prefix ${entry} left behind`);
      }
      const [stopped] = runResults(state);
      const finishedBefore = [...stopped.results.values()].filter((r) => r.jobKey !== null);
      assert.ok(finishedBefore.length >= 2, 'some targets finished before the stop');
      assert.ok(finishedBefore.length < sleepers.length, 'the stop came before the end');
      for (const r of finishedBefore) assert.equal(r.status, 'ok', r.id);

      // kill -9 leaves the builds in flight in their scratch folders (named with the killed pid); the next run removes them.
      // Their unfinished layers (the store's .incoming) are named and removed the same way.
      const owned = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []).filter((n) => n.includes(`-pid${child.pid}-`));
      const killedScratch = () => [...owned(join(state, 'build')), ...owned(join(state, 'store', '.incoming'))];
      const leftAtStop = killedScratch();
      if (how === 'SIGINT') assert.deepEqual(leftAtStop, [], 'an interrupted run removes its own scratch folders');
      const rerun = ecocheck(args);
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.deepEqual(killedScratch(), [], `the stopped run's scratch folders (${leftAtStop.length} at the stop) are removed by the next`);
      const [first, second] = runResults(state);
      assert.equal(first.status, how === 'SIGKILL' ? 'crashed' : 'interrupted');
      assert.equal(second.status, 'finished');
      for (const id of sleepers) assert.equal(second.results.get(id)!.status, 'ok', id);
      const builtAgain = builtIds(second.results);
      for (const r of finishedBefore) assert.ok(!builtAgain.includes(r.id), `${r.id} finished before the stop and was rebuilt`);
      assert.deepEqual(builtAgain, sleepers.filter((id) => !first.results.has(id)).sort());
    } finally {
      eco.dispose();
      rmSync(state, { recursive: true, force: true });
    }
  });
}

test('a second check on the same database is refused while the first runs', async () => {
  const eco = instantiateEcosystem();
  const state = tempState();
  try {
    const sleepers = addSleepers(eco.root, 4, 0.5);
    const args = checkArgs(eco.root, state, '1.0', sleepers);
    const first = spawn(process.execPath, [bin, ...args], { cwd: projectRoot, stdio: 'ignore' });
    const done = exited(first);
    await waitFor(() => finishedCount(state) >= 1, 'the first check to start building');
    const second = ecocheck(args);
    assert.equal(second.code, 2);
    assert.match(
      second.stderr,
      /^ecocheck: another ecocheck run \(pid \d+ .*\) is running on .*ecocheck\.sqlite \(wait for it to finish\); choose another --state-dir$/m,
    );
    assert.equal(second.stderr.trim().split('\n').length, 1);
    assert.equal((await done).code, 0);
    assert.equal(ecocheck(args).code, 0, 'once the first is done, the next check runs');
  } finally {
    eco.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});

test('usage and database errors are one line, exit 2', () => {
  const eco = instantiateEcosystem();
  const state = tempState();
  try {
    writeFileSync(join(state, 'ecocheck.sqlite'), 'garbage, not sqlite '.repeat(200));
    const corrupt = ecocheck(checkArgs(eco.root, state, '1.0', ['stdext']));
    assert.equal(corrupt.code, 2);
    assert.match(
      corrupt.stderr,
      /^ecocheck: database .*ecocheck\.sqlite is unusable: file is not a database; move it away to start a new one\n$/,
    );
    const unknown = ecocheck(checkArgs(eco.root, join(state, 'other'), '1.0', ['no-such-package']));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^ecocheck: unknown package 'no-such-package'/);
    const jobs = ecocheck(checkArgs(eco.root, state, '1.0', ['--jobs', '0']));
    assert.equal(jobs.code, 2);
    assert.match(jobs.stderr, /--jobs 0: expected a positive integer/);
    const inside = ecocheck(['check', '--repo', eco.root, '--compiler', '1.0', '--state-dir', join(eco.root, 'state'), ...sandboxArgs]);
    assert.equal(inside.code, 2);
    assert.match(inside.stderr, /inside the repository/);
  } finally {
    eco.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});

test('state paths: XDG data and cache folders by default, all under --state-dir when given', () => {
  const env = { HOME: '/home/u', XDG_DATA_HOME: '/xdg/data', XDG_CACHE_HOME: '/xdg/cache' };
  assert.deepEqual(resolveStatePaths({}, env), {
    database: '/xdg/data/ecocheck/ecocheck.sqlite',
    storeDir: '/xdg/data/ecocheck/store',
    logDir: '/xdg/data/ecocheck/logs',
    buildRoot: '/xdg/cache/ecocheck/build',
    downloadCache: '/xdg/cache/ecocheck/downloads',
    repositoryCache: '/xdg/cache/ecocheck/repositories',
    hostAnswers: '/xdg/cache/ecocheck/host-packages.json',
  });
  // Unset or relative XDG values fall back to the spec's defaults under HOME.
  const fallback = resolveStatePaths({}, { HOME: '/home/u', XDG_DATA_HOME: 'relative' });
  assert.equal(fallback.database, '/home/u/.local/share/ecocheck/ecocheck.sqlite');
  assert.equal(fallback.downloadCache, '/home/u/.cache/ecocheck/downloads');
  const moved = resolveStatePaths({ stateDir: '/s', cacheDir: '/dl' }, env);
  assert.deepEqual(moved, {
    database: '/s/ecocheck.sqlite',
    storeDir: '/s/store',
    logDir: '/s/logs',
    buildRoot: '/s/build',
    downloadCache: '/dl',
    repositoryCache: '/s/repositories',
    hostAnswers: '/s/host-packages.json',
  });
  // Turned off: no folder at all, with or without a state dir.
  const off = { ...env, ECOCHECK_REPOSITORY_CACHE: 'off', ECOCHECK_HOST_ANSWERS: 'off' };
  for (const paths of [resolveStatePaths({}, off), resolveStatePaths({ stateDir: '/s' }, off)]) {
    assert.equal(paths.repositoryCache, null);
    assert.equal(paths.hostAnswers, null);
  }
});
