/**
 * Shard exports merged into one run: the same targets, job records, root causes and report as the run one
 * machine records; idempotent; a missing shard refused naming it and its targets, a failed shard
 * reported; shared jobs kept once, final over spurious; bad files refused naming the file and the field.
 * (The export is the store's, the merge rule compare/shard-merge.ts's, the whole the session's.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPlan } from '../../src/plan/build-plan.js';
import type { Job, Plan } from '../../src/plan/job.js';
import { planOfShard } from '../../src/plan/shard.js';
import type { Builder, BuildOutcome } from '../../src/builder/builder.js';
import type { JobStatus } from '../../src/results/taxonomy.js';
import { runPlan } from '../../src/run/scheduler.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import {
  createRun,
  finishRun,
  getRun,
  listRuns,
  runStatusCounts,
  type RunOptions,
  type RunStatus,
  type ShardRecord,
} from '../../src/store/runs.js';
import { createCacheLookup, createResultRecorder, loadRunResults, recordPlan } from '../../src/store/run-records.js';
import { exportRun } from '../../src/store/run-export.js';
import { readRunExportFile, writeRunExportFile } from '../../src/store/run-export-file.js';
import { RunExportError, validateRunExport, type RunExport } from '../../src/store/run-export-format.js';
import { importRunExports as importRuns } from '../../src/session/run-transfer.js';
import { planTargetIds, shardOfPlan } from '../../src/session/shard-record.js';
import { SessionError } from '../../src/session/session-error.js';
import { recordedDurations } from '../../src/store/durations.js';
import { StoreError } from '../../src/store/store-error.js';
import { compareRuns } from '../../src/compare/compare-runs.js';
import { fakeTargets } from '../support/plan-fixture-packages.js';

const ctx = { builderVersion: 'test-1', platform: { os: 'linux' } };

// comp <- a <- b <- c ; a <- d ; comp <- x <- y ; z alone ; w on b and y ; b fails, z fails to install.
const deps: Record<string, string[]> = {
  'comp.1': [],
  'a.1': ['comp.1'],
  'b.1': ['a.1'],
  'c.1': ['b.1'],
  'd.1': ['a.1'],
  'x.1': ['comp.1'],
  'y.1': ['x.1'],
  'z.1': [],
  'w.1': ['b.1', 'y.1'],
};
const TARGETS = ['c.1', 'd.1', 'y.1', 'z.1', 'w.1', 'b.1'];

function fullPlan(): Plan {
  const plan = buildPlan(fakeTargets(TARGETS, deps), ctx);
  plan.notInstallable.push({ id: 'old.1', reason: 'conflict with comp.1' });
  return plan;
}

const options: RunOptions = {
  compilerName: 'next',
  compilerSourceTree: null,
  jobs: 2,
  env: [],
  withTest: false,
  sandboxMode: 'confined',
  timeoutMs: 60_000,
  memoryBytes: 1024 ** 3,
  builderVersion: 'test-1',
  platform: { os: 'linux' },
  pins: [],
  pinned: [],
};

/** Builds by a table of statuses (default ok), writing a log file under `logDir` as the real builder does. */
class TableBuilder implements Builder {
  readonly version = 'test-1';
  constructor(
    private readonly logDir: string,
    private readonly statuses: Record<string, JobStatus>,
  ) {}
  async build(job: Job): Promise<BuildOutcome> {
    const status = this.statuses[job.id] ?? 'ok';
    mkdirSync(this.logDir, { recursive: true });
    const logPath = join(this.logDir, `${job.id}-${job.key.slice(0, 16)}.log`);
    const tail = status === 'ok' ? `built ${job.id}` : `Error: ${job.id} does not compile`;
    writeFileSync(logPath, `## build ${job.id}\n${tail}\n`);
    return {
      status,
      reason: status === 'ok' ? '' : `${job.id}: ${status}`,
      exitCode: status === 'ok' ? 0 : 2,
      durationMs: 10 + job.id.length,
      logPath,
      logTail: tail,
      firstError: status === 'ok' ? null : tail,
      missingSystemPackages: [],
      prefix: status === 'ok' ? `/store/${job.key}` : null,
    };
  }
}

interface Machine {
  dir: string;
  db: Db;
}

function machine(root: string, name: string): Machine {
  const dir = join(root, name);
  return { dir, db: openDatabase(join(dir, 'ecocheck.sqlite')) };
}

async function check(
  m: Machine,
  plan: Plan,
  statuses: Record<string, JobStatus>,
  extra: { shard?: ShardRecord; status?: Exclude<RunStatus, 'running'>; kind?: 'check' | 'baseline' } = {},
): Promise<number> {
  const runId = createRun(m.db, {
    kind: extra.kind ?? 'check',
    label: 'pr-1234',
    compilerSpec: 'comp.1',
    repositories: ['/repo'],
    repositoryHash: 'repo-hash',
    targets: { kind: 'explicit', specs: TARGETS },
    options: extra.shard !== undefined ? { ...options, shard: extra.shard } : options,
  });
  recordPlan(m.db, runId, plan);
  const record = createResultRecorder(m.db, runId);
  const cache = createCacheLookup(m.db);
  await runPlan(plan, new TableBuilder(join(m.dir, 'logs'), statuses), {
    concurrency: 2,
    onJobFinished: record,
    lookupCached: (j) => cache(j.key),
  });
  finishRun(m.db, runId, extra.status ?? 'finished');
  return runId;
}

const FAILURES: Record<string, JobStatus> = { 'b.1': 'build-failed', 'z.1': 'install-failed' };

function withRoot(body: (root: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const root = mkdtempSync(join(tmpdir(), 'ecocheck-export-'));
    try {
      await body(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

/** What a report reads of a run, without where the log files are. */
function reportView(db: Db, runId: number) {
  return loadRunResults(db, runId).map(({ logPath: _l, ...r }) => r);
}

function jobView(db: Db, runId: number) {
  return db
    .prepare(
      `SELECT job_key, status, reason, root_cause_key, root_cause, root_causes, duration_ms, exit_code, cached FROM run_jobs WHERE run_id = ? ORDER BY job_key`,
    )
    .all(runId);
}

async function shardExports(root: string, plan: Plan, n: number, statuses = FAILURES): Promise<{ exports: RunExport[]; files: string[] }> {
  const exports: RunExport[] = [];
  const files: string[] = [];
  for (let i = 1; i <= n; i++) {
    const m = machine(root, `shard-${i}`);
    const { plan: sub, record } = shardOfPlan(plan, { index: i, count: n });
    const runId = await check(m, sub, statuses, { shard: record });
    const e = exportRun(m.db, runId, { logs: true });
    const file = join(root, `shard-${i}.json`);
    writeRunExportFile(file, e);
    exports.push(e);
    files.push(file);
    m.db.close();
  }
  return { exports, files };
}

test(
  'three shards exported and merged give the run one machine records',
  withRoot(async (root) => {
    const plan = fullPlan();
    const single = machine(root, 'single');
    const singleRun = await check(single, plan, FAILURES);

    const { exports, files } = await shardExports(root, plan, 3);
    assert.deepEqual(
      exports.map((e) => [e.shard?.index, e.shard?.count]),
      [1, 2, 3].map((index) => [index, 3]),
    );
    assert.equal(new Set(exports.map((e) => e.shard?.partition)).size, 1, 'one partition');
    assert.ok(
      exports.every((e) => JSON.stringify(e.shard?.planTargets) === JSON.stringify(planTargetIds(plan))),
      'each carries the whole plan',
    );
    assert.ok(exports.every((e) => e.logs !== null && Object.keys(e.logs).length === e.runJobs.filter((r) => r.logPath !== null).length));

    const merged = machine(root, 'merged');
    const logDir = join(merged.dir, 'logs');
    const r = importRuns(
      merged.db,
      files.map((f) => ({ source: f, data: readRunExportFile(f) })),
      { logDir },
    );
    assert.equal(r.created, true);
    assert.equal(r.status, 'finished');
    assert.deepEqual([r.shardCount, r.shards, r.failedShards], [3, [1, 2, 3], []]);
    assert.ok(r.duplicatedJobs > 0, 'comp.1 is built by more than one shard');
    assert.deepEqual(r.resolved, [], 'deterministic builds: duplicated records agree');
    assert.deepEqual(r.inconsistent, []);

    assert.deepEqual(reportView(merged.db, r.runId), reportView(single.db, singleRun));
    assert.deepEqual(jobView(merged.db, r.runId), jobView(single.db, singleRun));
    assert.deepEqual(runStatusCounts(merged.db, r.runId), runStatusCounts(single.db, singleRun));
    const run = getRun(merged.db, r.runId)!;
    const one = getRun(single.db, singleRun)!;
    assert.deepEqual([run.jobCount, run.targetCount, run.kind, run.status], [one.jobCount, one.targetCount, one.kind, one.status]);
    assert.equal(run.options.shard, undefined, 'the merged run is the whole check');
    assert.deepEqual(run.options, one.options);
    // Root causes: c.1 and w.1 fail because of b.1, in both.
    const byId = new Map(loadRunResults(merged.db, r.runId).map((x) => [x.id, x]));
    assert.equal(byId.get('c.1')!.rootCause, 'b.1');
    assert.equal(byId.get('w.1')!.rootCause, 'b.1');
    assert.equal(byId.get('old.1')!.status, 'not-installable');
    // The cache is filled: every cacheable job has its result, the logs are where the records say.
    const cached = createCacheLookup(merged.db);
    for (const job of plan.jobs.values()) {
      const hit = cached(job.key);
      if (['c.1', 'w.1'].includes(job.id)) assert.equal(hit, null);
      else assert.equal(hit?.status, FAILURES[job.id] ?? 'ok', job.id);
    }
    for (const x of loadRunResults(merged.db, r.runId))
      if (x.logPath !== null) {
        assert.ok(x.logPath.startsWith(logDir), x.logPath);
        assert.match(readFileSync(x.logPath, 'utf8'), new RegExp(`build ${x.id.replace('.', '\\.')}`));
      }
    // Compared with a baseline, the merged run and the single run say the same.
    const side = (db: Db, id: number) => ({
      runId: 0,
      label: 'x',
      compiler: 'comp.1',
      results: loadRunResults(db, id).map((x) => ({ ...x, logPath: null })),
    });
    const baseline = {
      runId: 0,
      label: 'base',
      compiler: 'comp.0',
      results: loadRunResults(single.db, singleRun).map((x) => ({
        ...x,
        status: 'ok' as const,
        rootCause: null,
        rootCauses: undefined,
        logPath: null,
      })),
    };
    assert.deepEqual(compareRuns(baseline, side(merged.db, r.runId)), compareRuns(baseline, side(single.db, singleRun)));

    // Idempotent: the same exports again (in another order) give the same run and nothing new.
    const again = importRuns(
      merged.db,
      [...files].reverse().map((f) => ({ source: f, data: JSON.parse(readFileSync(f, 'utf8')) })),
      { logDir },
    );
    assert.deepEqual([again.created, again.runId, again.importHash], [false, r.runId, r.importHash]);
    assert.equal(listRuns(merged.db).length, 1);
    // The recorded durations are the cost lookups of the next split.
    const durations = recordedDurations(merged.db);
    const a = [...plan.jobs.values()].find((j) => j.id === 'a.1')!;
    assert.equal(durations.byKey(a.key), 13);
    assert.equal(durations.byPackage!('w.1'), undefined, 'a dependency failure says nothing of a build time');
    single.db.close();
    merged.db.close();
  }),
);

test(
  'a missing shard is refused, naming it and its targets; a failed shard is reported and the merged run is not finished',
  withRoot(async (root) => {
    const plan = fullPlan();
    const { exports } = await shardExports(root, plan, 3);
    const merged = machine(root, 'merged');
    const lost = exports[1].targets
      .map((t) => t.packageId)
      .filter((id) => !exports[0].targets.concat(exports[2].targets).some((t) => t.packageId === id));
    assert.ok(lost.length > 0, 'shard 2 has targets of its own');
    assert.throws(
      () =>
        importRuns(merged.db, [
          { source: 'one.json', data: exports[0] },
          { source: 'three.json', data: exports[2] },
        ]),
      (e: unknown) =>
        e instanceof SessionError &&
        e.kind === 'input' &&
        e.message.includes('shard 2 of 3 is missing') &&
        lost.every((id) => e.message.includes(id)),
    );
    assert.equal(listRuns(merged.db).length, 0, 'nothing recorded');
    // Every shard: merged.
    const full = importRuns(
      merged.db,
      exports.map((e, i) => ({ source: `s${i}.json`, data: e })),
    );
    assert.equal(full.status, 'finished');

    const crashed: RunExport = { ...exports[1], run: { ...exports[1].run, status: 'crashed' } };
    const bad = importRuns(
      merged.db,
      [exports[0], crashed, exports[2]].map((e, i) => ({ source: `f${i}.json`, data: e })),
    );
    assert.deepEqual(bad.failedShards, [{ index: 2, status: 'crashed', source: 'f1.json' }]);
    assert.equal(bad.status, 'crashed');
    merged.db.close();
  }),
);

test(
  'a job two shards built: one record kept, a final result over a spurious one, and the result says so',
  withRoot(async (root) => {
    const plan = fullPlan();
    const key = (id: string) => [...plan.jobs.values()].find((j) => j.id === id)!.key;
    const closure = (ids: string[]) => {
      const s = new Set<string>();
      for (const id of ids) for (const k of [...plan.jobs.get(key(id))!.closure, key(id)]) s.add(k);
      return [...plan.jobs.keys()].filter((k) => s.has(k));
    };
    const targetsOf = (ids: string[]) => plan.targets.filter((t) => ids.includes(t.id));
    // Two shards both build a.1 and d.1 (hand-made, to control the overlap): a.1 timed out in shard 1,
    // so d.1 and c.1 failed there because of it; in shard 2 both built.
    const s1 = planOfShard(plan, { index: 1, targets: targetsOf(['c.1']), jobs: closure(['c.1', 'd.1']), costMs: 0 });
    s1.targets.push(...targetsOf(['d.1']));
    const s2 = planOfShard(plan, {
      index: 2,
      targets: targetsOf(['y.1', 'z.1', 'w.1', 'b.1']),
      jobs: closure(['y.1', 'z.1', 'w.1', 'b.1', 'd.1']),
      costMs: 0,
    });
    const m1 = machine(root, 'one');
    const m2 = machine(root, 'two');
    const handMade = (index: number): ShardRecord => ({ index, count: 2, partition: 'hand-made', planTargets: planTargetIds(plan) });
    const e1 = exportRun(m1.db, await check(m1, s1, { ...FAILURES, 'a.1': 'timeout' }, { shard: handMade(1) }), { logs: false });
    const e2 = exportRun(m2.db, await check(m2, s2, FAILURES, { shard: handMade(2) }), { logs: false });
    assert.equal(e1.logs, null);
    const merged = machine(root, 'merged');
    const r = importRuns(merged.db, [
      { source: 'one', data: e1 },
      { source: 'two', data: e2 },
    ]);
    const resolvedA = r.resolved.find((x) => x.id === 'a.1')!;
    assert.deepEqual([resolvedA.kept, resolvedA.rule], [2, 'final']);
    assert.deepEqual(
      resolvedA.records.map((x) => [x.shard, x.status]),
      [
        [1, 'timeout'],
        [2, 'ok'],
      ],
    );
    // d.1 was in both: dependency-failed (rooted in the timeout) in shard 1, ok in shard 2: ok kept.
    const resolvedD = r.resolved.find((x) => x.id === 'd.1')!;
    assert.deepEqual([resolvedD.kept, resolvedD.rule], [2, 'consistent']);
    // c.1 was only in shard 1: its record stays, rooted in a timeout the kept record of a.1 no longer
    // shows; said, not hidden.
    assert.ok(
      r.inconsistent.some((x) => x.id === 'c.1' && /a\.1 is ok/.test(x.note)),
      JSON.stringify(r.inconsistent),
    );
    const results = new Map(loadRunResults(merged.db, r.runId).map((x) => [x.id, x]));
    assert.equal(results.get('d.1')!.status, 'ok');
    assert.equal(results.get('b.1')!.status, 'build-failed');
    assert.equal(results.get('w.1')!.rootCause, 'b.1');
    m1.db.close();
    m2.db.close();
    merged.db.close();
  }),
);

test(
  'bad exports are refused naming the file and the field',
  withRoot(async (root) => {
    const plan = fullPlan();
    const { exports, files } = await shardExports(root, plan, 2);
    const notJson = join(root, 'broken.json');
    writeFileSync(notJson, '{"format": ');
    assert.throws(
      () => readRunExportFile(notJson),
      (e: unknown) => e instanceof RunExportError && e.kind === 'input' && e.message.startsWith(`${notJson}: not JSON`),
    );
    assert.throws(
      () => readRunExportFile(join(root, 'absent.json')),
      (e: unknown) => e instanceof StoreError && /absent\.json: cannot read it/.test(e.message),
    );

    const mutate = (f: (o: any) => void) => {
      const o = JSON.parse(readFileSync(files[0], 'utf8'));
      f(o);
      return o;
    };
    const cases: [(o: any) => void, RegExp][] = [
      [(o) => (o.format = 'other'), /: format: expected "ecocheck-run-export"/],
      [(o) => (o.version = 99), /: version: export version 99/],
      [(o) => (o.runJobs[1].status = 'great'), /: runJobs\[1\]\.status: expected a job status/],
      [(o) => delete o.run.compilerSpec, /: run\.compilerSpec: expected a string/],
      [(o) => (o.shard = { index: 3, count: 2 }), /: shard\.index: expected a shard index between 1 and 2/],
      [(o) => (o.targets[0].jobKey = 'nope'), /: targets\[0\]\.jobKey: expected null or the key/],
      [(o) => (o.results[0].extra = { first_error: [1] }), /: results\[0\]\.extra\.first_error:/],
    ];
    for (const [f, re] of cases)
      assert.throws(
        () => validateRunExport(mutate(f), 'shard-1.json'),
        (e: unknown) => e instanceof RunExportError && re.test(e.message),
        String(re),
      );

    const db = machine(root, 'merged').db;
    // Not the same check: another compiler.
    const other = { ...exports[1], run: { ...exports[1].run, compilerSpec: 'comp.2' } };
    assert.throws(
      () =>
        importRuns(db, [
          { source: 'a.json', data: exports[0] },
          { source: 'b.json', data: other },
        ]),
      /b\.json: run\.compilerSpec: is not a part of the same check as a\.json/,
    );
    // One shard twice with other records.
    const twin = { ...exports[0], run: { ...exports[0].run, startedAt: '2000-01-01T00:00:00.000Z' } };
    assert.throws(
      () =>
        importRuns(db, [
          { source: 'a.json', data: exports[0] },
          { source: 'c.json', data: twin },
        ]),
      /c\.json: shard: is shard 1 of 2 again/,
    );
    // The same export twice counts once: shard 2 is still missing.
    assert.throws(
      () =>
        importRuns(db, [
          { source: 'a.json', data: exports[0] },
          { source: 'a2.json', data: exports[0] },
        ]),
      /shard 2 of 2 is missing/,
    );
    assert.deepEqual(
      importRuns(
        db,
        [exports[0], exports[0], exports[1]].map((e, i) => ({ source: `x${i}.json`, data: e })),
      ).shards,
      [1, 2],
    );
    assert.equal(listRuns(db).length, 1);
    db.close();
  }),
);

test(
  'a candidate shard links to the same baseline in the merging database; columns it does not know are said',
  withRoot(async (root) => {
    const plan = fullPlan();
    const m = machine(root, 'state');
    const baseline = await check(m, plan, {}, { kind: 'baseline' });
    const shardRun = createRun(m.db, {
      kind: 'candidate',
      compilerSpec: 'comp.1',
      repositories: ['/repo'],
      repositoryHash: 'repo-hash',
      targets: null,
      options: { ...options, shard: { index: 1, count: 1, partition: 'p', planTargets: [] } },
      against: baseline,
    });
    finishRun(m.db, shardRun, 'finished');
    const e = exportRun(m.db, shardRun, { logs: false });
    assert.equal(e.run.against?.id, baseline);
    e.runJobs = [];
    e.results = [];
    const r = importRuns(m.db, [{ source: 'x', data: e }]);
    assert.equal(getRun(m.db, r.runId)!.against, baseline);
    assert.deepEqual(r.unlinked, []);
    const elsewhere = machine(root, 'elsewhere');
    const r2 = importRuns(elsewhere.db, [{ source: 'x', data: e }]);
    assert.deepEqual(r2.unlinked, ['against']);
    assert.equal(getRun(elsewhere.db, r2.runId)!.against, null);

    const withColumn = exportRun(m.db, baseline, { logs: false });
    withColumn.runJobs[0].extra = { column_of_the_future: 'x' };
    const r3 = importRuns(elsewhere.db, [{ source: 'y', data: withColumn }]);
    assert.deepEqual(r3.droppedColumns, ['run_jobs.column_of_the_future']);
    assert.throws(() => exportRun(m.db, 999, { logs: false }), StoreError);
    m.db.close();
    elsewhere.db.close();
  }),
);
