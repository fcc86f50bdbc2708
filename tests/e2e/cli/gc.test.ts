/**
 * `ecocheck gc` and `ecocheck status` on the shell fixture ecosystem, as a user types them: a baseline on
 * compiler 1.0, then two candidates on 2.0 whose compiler package changed between them (so they share no
 * layer); `gc --dry-run` lists the old candidate's layers and removes nothing; `gc` removes exactly them
 * and keeps the baseline whole; a rerun of the baseline is all cache hits; a check of the removed
 * candidate builds again what went and gets the same results. `--max-size`, the run lock, `status`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../support/snapshot.js';
import { instantiateEcosystem } from '../../support/fixture-ecosystem.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';
import { isLayerComplete } from '../../../src/builder/layer-store.js';
import { openDatabase } from '../../../src/store/database.js';
import { listRuns } from '../../../src/store/runs.js';
import { okJobKeysByRun } from '../../../src/store/layer-needs.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const sandboxArgs = sandboxAvailable().ok ? [] : ['--no-sandbox'];

function ecocheck(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: projectRoot });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Every target but bad-checksum (a fetch failure is never cached: it is tried again by every run). */
const TARGETS = [
  'broken-install',
  'chain-c',
  'depopt-user',
  'installer',
  'legacy-lib',
  'needs-new',
  'optional-feature',
  'patched',
  'stdext',
];

interface RunJobRow {
  job_key: string;
  status: string;
  cached: number;
  name: string;
  version: string;
}

function withDb<T>(state: string, f: (db: ReturnType<typeof openDatabase>) => T): T {
  const db = openDatabase(join(state, 'ecocheck.sqlite'));
  try {
    return f(db);
  } finally {
    db.close();
  }
}

function runJobs(state: string, runId: number): RunJobRow[] {
  return withDb(
    state,
    (db) =>
      db
        .prepare(
          `SELECT rj.job_key, rj.status, rj.cached, j.name, j.version FROM run_jobs rj JOIN jobs j ON j.key = rj.job_key WHERE rj.run_id = ? ORDER BY j.name`,
        )
        .all(runId) as RunJobRow[],
  );
}

/** Jobs a run built (not from the cache; a dependency-failed job is never built). */
function built(rows: RunJobRow[]): string[] {
  return rows
    .filter((r) => r.cached === 0 && r.status !== 'dependency-failed')
    .map((r) => `${r.name}.${r.version}`)
    .sort();
}

function statuses(rows: RunJobRow[]): Record<string, string> {
  return Object.fromEntries(rows.map((r) => [`${r.name}.${r.version}`, r.status]));
}

function newestRunId(state: string, kind?: 'baseline' | 'candidate'): number {
  return withDb(state, (db) => listRuns(db).find((r) => kind === undefined || r.kind === kind)!.id);
}

/** The space of a tree as `gc` counts it: st_blocks × 512 of every entry, links not followed, hard links once. */
function blocksOf(paths: string[]): number {
  const seen = new Set<string>();
  let bytes = 0;
  const walk = (p: string) => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (st.nlink > 1 && !st.isDirectory()) {
      if (seen.has(`${st.dev}:${st.ino}`)) return;
      seen.add(`${st.dev}:${st.ino}`);
    }
    bytes += st.blocks * 512;
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  for (const p of paths) walk(p);
  return bytes;
}

test('gc keeps the baseline whole and the newest candidate, removes the old candidate; reruns are cache hits or rebuild what went', () => {
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-gc-'));
  const store = join(state, 'store');
  try {
    const common = ['--repo', eco.root, '--state-dir', state, '--jobs', '2', ...sandboxArgs];
    const base = ecocheck(['check', '--baseline', '--compiler', '1.0', ...common, ...TARGETS]);
    assert.equal(base.code, 0, base.stderr);
    const baselineId = newestRunId(state, 'baseline');
    const cand1 = ecocheck(['check', '--compiler', '2.0', ...common, ...TARGETS]);
    assert.equal(cand1.code, 1, cand1.stderr);
    const cand1Id = newestRunId(state, 'candidate');
    const cand1Jobs = runJobs(state, cand1Id);
    // The 2.0 compiler package changes: every job of the next candidate has a new key.
    const compilerOpam = join(eco.root, 'packages', 'ocaml-base-compiler', 'ocaml-base-compiler.2.0', 'opam');
    const original = readFileSync(compilerOpam, 'utf8');
    writeFileSync(compilerOpam, original.replace(/^synopsis: "([^"]*)"/m, 'synopsis: "$1 (patched)"'));
    assert.notEqual(readFileSync(compilerOpam, 'utf8'), original);
    const cand2 = ecocheck(['check', '--compiler', '2.0', ...common, ...TARGETS]);
    assert.equal(cand2.code, 1, cand2.stderr);
    const cand2Id = newestRunId(state, 'candidate');
    assert.ok(cand2Id > cand1Id);
    writeFileSync(compilerOpam, original);

    const needs = withDb(state, (db) => okJobKeysByRun(db));
    const baselineKeys = needs.get(baselineId)!;
    const cand1Keys = needs.get(cand1Id)!;
    const cand2Keys = needs.get(cand2Id)!;
    assert.ok(baselineKeys.length >= 8 && cand1Keys.length >= 5, `${baselineKeys.length} ${cand1Keys.length}`);
    assert.deepEqual(
      cand1Keys.filter((k) => cand2Keys.includes(k) || baselineKeys.includes(k)),
      [],
      'the old candidate shares no layer',
    );
    for (const k of [...baselineKeys, ...cand1Keys, ...cand2Keys]) assert.ok(isLayerComplete(store, k), k);
    const storeBefore = readdirSync(store).sort();

    // status: the figures agree with the files.
    const st = ecocheck(['status', '--state-dir', state, '--json']);
    assert.equal(st.code, 0, st.stderr);
    const s = JSON.parse(st.stdout);
    const layerNames = readdirSync(store).filter((n) => !n.startsWith('.') && !n.startsWith('empty-switch') && !n.endsWith('.done'));
    assert.equal(s.layers.count, layerNames.length);
    assert.equal(s.layers.count, new Set([...baselineKeys, ...cand1Keys, ...cand2Keys]).size);
    assert.equal(s.layers.bytes, blocksOf(layerNames.flatMap((n) => [join(store, n), join(store, `${n}.done`)])));
    assert.deepEqual(s.neededByNewestBaseline.runs, [baselineId]);
    assert.equal(s.neededByNewestBaseline.count, baselineKeys.length);
    assert.ok(s.neededByNewestRun.runs.includes(cand2Id));
    assert.equal(s.neededByNewestRun.count, cand2Keys.length);
    assert.equal(s.neededByNothing.count, cand1Keys.length);
    assert.equal(s.logs.bytes, blocksOf([join(state, 'logs')]));
    assert.equal(s.downloads.bytes, blocksOf([join(state, 'downloads')]));
    assert.equal(s.database.bytes, blocksOf(['', '-wal', '-shm'].map((x) => join(state, `ecocheck.sqlite${x}`))));
    assert.ok(s.freeBytes > 0);
    // The newest run's plan: every job's layer or cached failure is there, nothing new to build but failures.
    assert.equal(s.estimate.plan, `run #${cand2Id}`);
    assert.equal(s.estimate.stored, cand2Keys.length);
    // The failures are cached (no layer); only the never-built dependents of a failure count as to build.
    const cand2Rows = runJobs(state, cand2Id);
    assert.equal(s.estimate.failedCached, cand2Rows.filter((r) => r.status === 'build-failed' || r.status === 'install-failed').length);
    assert.equal(s.estimate.byPackage + s.estimate.byMedian, cand2Rows.filter((r) => r.status === 'dependency-failed').length);
    const text = ecocheck(['status', '--state-dir', state]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`needed by neither \\(ecocheck gc removes them\\): ${cand1Keys.length},`));

    // --dry-run: the listing, nothing removed.
    const dry = ecocheck(['gc', '--dry-run', '--json', '--state-dir', state]);
    assert.equal(dry.code, 0, dry.stderr);
    const d = JSON.parse(dry.stdout);
    assert.equal(d.dryRun, true);
    const listed = (d.removed as { name: string; packageId: string; why: string }[]).filter((r) => r.why !== 'leftover');
    assert.deepEqual(listed.map((r) => r.name).sort(), [...cand1Keys].sort());
    assert.deepEqual(
      listed.map((r) => r.packageId).sort(),
      cand1Jobs
        .filter((r) => r.status === 'ok')
        .map((r) => `${r.name}.${r.version}`)
        .sort(),
    );
    assert.deepEqual(
      (d.keptRuns as { id: number; why: string[] }[]).map((r) => [r.id, r.why[0]]).filter(([id]) => id === baselineId || id === cand2Id),
      [
        [cand2Id, 'newest run'],
        [baselineId, 'newest baseline'],
      ],
    );
    assert.deepEqual(readdirSync(store).sort(), storeBefore, 'a dry run changes nothing');
    const verbose = ecocheck(['gc', '--dry-run', '--verbose', '--state-dir', state]);
    assert.equal(verbose.code, 0, verbose.stderr);
    assert.match(verbose.stdout, new RegExp(`^would remove ${cand1Keys[0]} \\S+ `, 'm'));
    assert.match(verbose.stdout, new RegExp(`^would remove ${listed.length} layer`, 'm'));

    // gc: the old candidate's layers and records go, the baseline's and the newest candidate's stay.
    const gc = ecocheck(['gc', '--state-dir', state]);
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, new RegExp(`^removed ${listed.length} layer\\(s\\) and leftover\\(s\\), `, 'm'));
    for (const k of cand1Keys) assert.ok(!existsSync(join(store, k)) && !existsSync(join(store, `${k}.done`)), `${k} removed`);
    for (const k of [...baselineKeys, ...cand2Keys]) assert.ok(isLayerComplete(store, k), `${k} kept`);
    // The results stay: the history of the old candidate is still readable.
    const kept = withDb(
      state,
      (db) =>
        (
          db.prepare(`SELECT count(*) AS n FROM results WHERE job_key IN (${cand1Keys.map(() => '?').join(',')})`).get(...cand1Keys) as {
            n: number;
          }
        ).n,
    );
    assert.equal(kept, cand1Keys.length);
    const again = ecocheck(['gc', '--state-dir', state, '--json']);
    assert.equal(JSON.parse(again.stdout).removed.length, 0, 'a second gc finds nothing');

    // A rerun of the kept baseline: nothing built, every ok job a cache hit.
    const rerunBase = ecocheck(['check', '--baseline', '--compiler', '1.0', ...common, ...TARGETS]);
    assert.equal(rerunBase.code, 0, rerunBase.stderr);
    const rerunRows = runJobs(state, newestRunId(state, 'baseline'));
    assert.deepEqual(built(rerunRows), []);
    assert.equal(rerunRows.filter((r) => r.status === 'ok' && r.cached === 1).length, baselineKeys.length);
    assert.deepEqual(statuses(rerunRows), statuses(runJobs(state, baselineId)));

    // A check of the removed candidate: what went is built again, cleanly, to the same results.
    const recheck = ecocheck(['check', '--compiler', '2.0', ...common, ...TARGETS]);
    assert.equal(recheck.code, 1, recheck.stderr);
    const recheckId = newestRunId(state, 'candidate');
    const recheckRows = runJobs(state, recheckId);
    assert.deepEqual(statuses(recheckRows), statuses(cand1Jobs));
    assert.deepEqual(
      built(recheckRows),
      cand1Jobs
        .filter((r) => r.status === 'ok')
        .map((r) => `${r.name}.${r.version}`)
        .sort(),
    );
    for (const k of cand1Keys) assert.ok(isLayerComplete(store, k), `${k} rebuilt`);

    // --max-size: the newest run's layers yield, the baseline's never; the bound not met is exit 1.
    const tight = ecocheck(['gc', '--max-size', '1K', '--dry-run', '--json', '--state-dir', state]);
    assert.equal(tight.code, 1, tight.stderr);
    const t = JSON.parse(tight.stdout);
    assert.equal(t.maxSizeMet, false);
    const overSize = (t.removed as { name: string; why: string }[]).filter((r) => r.why === 'over --max-size').map((r) => r.name);
    assert.deepEqual(overSize.sort(), [...cand1Keys].sort(), 'the newest run (the recheck) yields its layers');
    assert.ok(overSize.every((k) => !baselineKeys.includes(k)));
    const words = ecocheck(['gc', '--max-size', '1K', '--state-dir', state]);
    assert.equal(words.code, 1);
    assert.match(words.stdout, /--max-size 1K: not met: the layers the kept baselines and --keep-run runs need take /);
    for (const k of baselineKeys) assert.ok(isLayerComplete(store, k), `${k} kept under --max-size`);
    for (const k of cand1Keys) assert.ok(!existsSync(join(store, k)), `${k} removed under --max-size`);
    // A bound the kept layers fit: nothing more goes.
    const roomy = ecocheck(['gc', '--max-size', '1G', '--json', '--state-dir', state]);
    assert.equal(roomy.code, 0, roomy.stderr);
    assert.equal(JSON.parse(roomy.stdout).maxSizeMet, true);
    assert.ok(statSync(store).isDirectory());
  } finally {
    eco.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});

test('gc refuses to run while a check holds the run lock; a run it does not know is a usage error; status of a plan given', () => {
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-gc-lock-'));
  try {
    const r = ecocheck(['check', '--compiler', '1.0', '--repo', eco.root, '--state-dir', state, '--jobs', '2', ...sandboxArgs, 'stdext']);
    assert.equal(r.code, 0, r.stderr);
    const store = join(state, 'store');
    // status of a plan given: the same plan is all stored; on the other compiler none is, and each
    // job is sized by the stored layers of its package.
    const same = JSON.parse(ecocheck(['status', '--repo', eco.root, '--compiler', '1.0', '--state-dir', state, '--json', 'stdext']).stdout);
    assert.equal(same.estimate.plan, 'the plan given');
    assert.deepEqual(
      [same.estimate.jobs, same.estimate.stored, same.estimate.byPackage + same.estimate.byMedian, same.estimate.newBytes],
      [3, 3, 0, 0],
    );
    const other = JSON.parse(
      ecocheck(['status', '--repo', eco.root, '--compiler', '2.0', '--state-dir', state, '--json', 'stdext']).stdout,
    );
    assert.deepEqual([other.estimate.jobs, other.estimate.stored, other.estimate.byPackage], [3, 0, 3]);
    assert.ok(other.estimate.newBytes > 0);
    const before = readdirSync(store).sort();
    // A live process (this test's) holds the lock, as a running check does.
    withDb(state, (db) =>
      db
        .prepare(`INSERT OR REPLACE INTO locks (name, pid, host, run_id, acquired_at) VALUES ('run', ?, ?, NULL, ?)`)
        .run(process.pid, hostname(), new Date().toISOString()),
    );
    for (const args of [['gc'], ['gc', '--dry-run']]) {
      const g = ecocheck([...args, '--keep-newest', '0', '--state-dir', state]);
      assert.equal(g.code, 2, g.stdout);
      assert.match(
        g.stderr,
        /^ecocheck: another ecocheck run \(pid \d+ on .*\) is running on .*ecocheck\.sqlite \(wait for it to finish\)/,
      );
      assert.equal(g.stderr.split('\n').length, 2, 'one line');
    }
    assert.deepEqual(readdirSync(store).sort(), before);
    withDb(state, (db) => db.prepare(`DELETE FROM locks`).run());
    const unknown = ecocheck(['gc', '--keep-run', '99', '--state-dir', state]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^ecocheck: --keep-run 99: no run #99 is recorded in /);
    const bad = ecocheck(['gc', '--max-size', 'lots', '--state-dir', state]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-size lots: expected a size/);
    // Once free: --keep-newest 0 and no baseline keeps nothing; the empty switch stays.
    const all = ecocheck(['gc', '--keep-newest', '0', '--state-dir', state]);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(
      readdirSync(store).filter((n) => !n.startsWith('.') && !n.startsWith('empty-switch')),
      [],
    );
    assert.ok(readdirSync(store).some((n) => n.startsWith('empty-switch')));
  } finally {
    eco.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});
