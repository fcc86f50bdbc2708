/**
 * The results store behind its interfaces: the same runs (a baseline, a candidate with failures, cache
 * hits, a retry) recorded in the database and in memory read back the same, and the comparison the
 * reports show, read through the read interface, is the same from either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPlan } from '../../src/plan/build-plan.js';
import type { Job, Plan } from '../../src/plan/job.js';
import type { Builder, BuildOutcome } from '../../src/builder/builder.js';
import type { JobStatus } from '../../src/results/taxonomy.js';
import { runPlan } from '../../src/run/scheduler.js';
import { openDatabase } from '../../src/store/database.js';
import { MemoryResultsStore } from '../../src/store/memory-results-store.js';
import { SqliteResultsStore, type ResultsStore } from '../../src/store/results-store.js';
import { DEFAULT_RUN_OPTIONS, type RunKind } from '../../src/store/runs.js';
import { compareWithBaseline, summariseRecordedRun } from '../../src/session/run-comparison.js';
import { fakeTargets } from '../support/plan-fixture-packages.js';

const deps: Record<string, string[]> = {
  'comp.1': [],
  'a.1': ['comp.1'],
  'b.1': ['a.1'],
  'c.1': ['b.1'],
  'd.1': ['comp.1'],
  'e.1': ['comp.1'],
};
const TARGETS = ['a.1', 'b.1', 'c.1', 'd.1', 'e.1'];

function plan(builderVersion: string): Plan {
  const p = buildPlan(fakeTargets(TARGETS, deps), { builderVersion, platform: {} });
  p.notInstallable.push({ id: 'old.1', reason: 'conflict' });
  return p;
}

function builder(version: string, statuses: Record<string, JobStatus>): Builder {
  return {
    version,
    async build(job: Job): Promise<BuildOutcome> {
      const status = statuses[job.id] ?? 'ok';
      return {
        status,
        reason: status === 'ok' ? '' : `${job.id} ${status}`,
        exitCode: status === 'ok' ? 0 : 2,
        durationMs: 7,
        logPath: null,
        logTail: `tail ${job.id}`,
        firstError: status === 'ok' ? null : `Error in ${job.id}`,
        missingSystemPackages: [],
        prefix: null,
      };
    },
  };
}

async function record(
  store: ResultsStore,
  kind: RunKind,
  compiler: string,
  statuses: Record<string, JobStatus>,
  links: { against?: number; retryOf?: number } = {},
): Promise<number> {
  const p = plan(compiler);
  const runId = store.createRun({
    kind,
    compilerSpec: compiler,
    repositories: ['/repo'],
    repositoryHash: 'h',
    targets: { kind: 'latest' },
    options: DEFAULT_RUN_OPTIONS,
    ...links,
  });
  store.recordPlan(runId, p);
  await runPlan(p, builder(compiler, statuses), {
    concurrency: 1,
    lookupCached: (job) => store.cachedResult(job.key),
    onJobFinished: (r) => store.recordJob(runId, r),
  });
  store.finishRun(runId, 'finished');
  return runId;
}

/** Two checks (the second all cache hits but the flaky one), a candidate, and a retry of it. */
async function history(store: ResultsStore): Promise<{ baseline: number; candidate: number }> {
  const baseline = await record(store, 'baseline', 'comp-old', { 'e.1': 'build-failed' });
  await record(store, 'check', 'comp-old', {});
  const candidate = await record(store, 'candidate', 'comp-new', { 'b.1': 'build-failed', 'd.1': 'timeout' }, { against: baseline });
  await record(store, 'retry', 'comp-new', { 'b.1': 'build-failed' }, { retryOf: candidate });
  return { baseline, candidate };
}

test('the database and the in-memory store record and read the same runs; the comparison read through the interface is the same', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-results-store-'));
  try {
    const db = openDatabase(join(dir, 'db.sqlite'));
    const sqlite = new SqliteResultsStore(db);
    const memory = new MemoryResultsStore();
    const ids = await history(sqlite);
    assert.deepEqual(await history(memory), ids);

    const view = (s: ResultsStore) =>
      s.runs().map((r) => ({
        run: [r.id, r.kind, r.status, r.against, r.retryOf, r.jobCount, r.targetCount],
        results: s.runResults(r.id).map(({ logPath: _l, ...x }) => x),
      }));
    assert.deepEqual(view(memory), view(sqlite));
    // The second check took everything from the cache (the failure too: it is final).
    assert.ok(memory.runResults(2).every((r) => r.cached || r.status === 'not-installable'));
    // A timeout is never cached: the retry built d.1 again.
    const d = (runId: number) => memory.runResults(runId).find((r) => r.id === 'd.1')!;
    assert.deepEqual([d(ids.candidate).status, d(ids.candidate + 1).status, d(ids.candidate + 1).cached], ['timeout', 'ok', false]);

    const compare = (s: ResultsStore) => compareWithBaseline(s, s.run(ids.candidate)!, s.run(ids.baseline)!);
    const fromMemory = compare(memory);
    assert.deepEqual(fromMemory, compare(sqlite));
    // And it says what happened: b.1 regressed, c.1 with it, d.1 retried into ok (flaky).
    const category = new Map(fromMemory.packages.map((p) => [p.key, p.category]));
    assert.equal(category.get('b'), 'regressed');
    assert.equal(category.get('c'), 'dependency-regressed');
    assert.equal(category.get('e'), 'fixed');
    assert.deepEqual(summariseRecordedRun(memory, memory.run(ids.baseline)!), summariseRecordedRun(sqlite, sqlite.run(ids.baseline)!));

    // A forgotten result is built again.
    const a = plan('comp-old').targets.find((t) => t.id === 'a.1')!.key;
    for (const s of [memory, sqlite]) {
      assert.notEqual(s.cachedResult(a), null);
      s.forgetCachedResult(a);
      assert.equal(s.cachedResult(a), null);
    }
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
