/**
 * What `rerun` and `rerun --regressed` build again, read from recorded runs (a real database, fake
 * builds, no subprocess): the one rebuild rule applied to a run's targets, or to its regressions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/store/database.js';
import { createRun, DEFAULT_RUN_OPTIONS, finishRun, getRun } from '../../src/store/runs.js';
import { createCacheLookup, createResultRecorder, recordPlan } from '../../src/store/run-records.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { runPlan } from '../../src/run/scheduler.js';
import type { Builder } from '../../src/builder/builder.js';
import type { JobStatus } from '../../src/results/taxonomy.js';
import { rerunSelection } from '../../src/session/rerun.js';
import { fakeTargets } from '../support/plan-fixture-packages.js';

/** c ← b ← a (a dependency, no target), z, w: targets c, z, w, y. */
const DEPS = { 'c.1': ['b.1'], 'b.1': ['a.1'], 'a.1': [], 'z.1': [], 'w.1': [], 'y.1': [] };

async function recordRun(
  db: Db,
  statuses: Record<string, JobStatus>,
  kind: 'baseline' | 'candidate',
  against: number | null,
): Promise<number> {
  const plan = buildPlan(fakeTargets(['c.1', 'z.1', 'w.1', 'y.1'], DEPS), { builderVersion: kind, platform: {} });
  const builder: Builder = {
    version: kind,
    async build(job) {
      const status = statuses[job.id] ?? 'ok';
      return {
        status,
        reason: status === 'ok' ? '' : `${status} here`,
        exitCode: status === 'ok' ? 0 : 1,
        durationMs: 1,
        logPath: null,
        logTail: '',
        firstError: null,
        missingSystemPackages: [],
        prefix: status === 'ok' ? `/p/${job.key}` : null,
      };
    },
  };
  const run = createRun(db, {
    kind,
    compilerSpec: kind,
    repositories: ['/repo'],
    repositoryHash: 'h',
    targets: { kind: 'latest' },
    options: { ...DEFAULT_RUN_OPTIONS },
    against,
  });
  recordPlan(db, run, plan);
  const lookup = createCacheLookup(db);
  await runPlan(plan, builder, { concurrency: 1, lookupCached: (j) => lookup(j.key), onJobFinished: createResultRecorder(db, run) });
  finishRun(db, run, 'finished');
  return run;
}

test("rerun: a run's own failures, spurious results and cascades, with the root that is no target forgotten too", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-rerun-selection-'));
  const db = openDatabase(join(dir, 'db.sqlite'));
  try {
    const run = getRun(db, await recordRun(db, { 'a.1': 'build-failed', 'w.1': 'timeout', 'y.1': 'install-failed' }, 'candidate', null))!;
    const s = rerunSelection(db, run, false, null);
    assert.deepEqual([...s.ids].sort(), ['c.1', 'w.1', 'y.1']);
    const keyOf = (id: string) =>
      (
        db
          .prepare(
            `SELECT rj.job_key AS k FROM run_jobs rj JOIN jobs j ON j.key = rj.job_key WHERE rj.run_id = ? AND j.name || '.' || j.version = ?`,
          )
          .get(run.id, id) as { k: string }
      ).k;
    assert.deepEqual(
      [...s.forgetKeys].sort(),
      [keyOf('a.1'), keyOf('w.1'), keyOf('y.1')].sort(),
      "a.1's failure is what c.1 needs built again",
    );
    assert.throws(() => rerunSelection(db, run, true, null), /no baseline/);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rerun --regressed: only what regressed (and fails through it) or was spurious, not what failed in the baseline too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-rerun-selection-'));
  const db = openDatabase(join(dir, 'db.sqlite'));
  try {
    const baseline = await recordRun(db, { 'y.1': 'install-failed' }, 'baseline', null);
    const candidate = getRun(
      db,
      await recordRun(db, { 'a.1': 'build-failed', 'w.1': 'timeout', 'y.1': 'install-failed' }, 'candidate', baseline),
    )!;
    const s = rerunSelection(db, candidate, true, getRun(db, baseline)!);
    assert.deepEqual([...s.ids].sort(), ['c.1', 'w.1'], 'y.1 failed in the baseline too: still failing, not rebuilt');
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
