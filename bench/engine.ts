/**
 * Engine figures on the real snapshot: plan computation for all latest versions (solve + plan), then the
 * scheduler and store driving that whole DAG with a no-op builder (per-job overhead), then a fully cached
 * rerun of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchSection } from './bench-section.js';
import { reportFigure } from './report-figure.js';
import { snapshotForBench } from './snapshot-for-bench.js';
import { loadRepositories } from '../src/opam/repository.js';
import { createSolver } from '../src/solve/package-solver.js';
import { selectTargets } from '../src/plan/targets.js';
import { buildPlan } from '../src/plan/build-plan.js';
import { analysePlan } from '../src/plan/plan-graph.js';
import { runPlan } from '../src/run/scheduler.js';
import type { Builder } from '../src/builder/builder.js';
import { openDatabase } from '../src/store/database.js';
import { createRun, DEFAULT_RUN_OPTIONS, finishRun } from '../src/store/runs.js';
import { createCacheLookup, createResultRecorder, loadRunResults, recordPlan } from '../src/store/run-records.js';

const COMPILER = '5.3.0';

/** Builds nothing: every job is ok at once, so only the scheduler and the store are measured. */
const noopBuilder: Builder = {
  version: 'noop-1',
  async build(job) {
    return {
      status: 'ok',
      reason: '',
      exitCode: 0,
      durationMs: 0,
      logPath: null,
      logTail: '',
      firstError: null,
      missingSystemPackages: [],
      prefix: `/noop/${job.key}`,
    };
  },
};

export const engineSection: BenchSection = {
  name: 'engine',
  async run() {
    const root = snapshotForBench();
    if (root === null) return;
    let t = performance.now();
    const load = loadRepositories([root]);
    reportFigure('load the snapshot', (performance.now() - t) / 1000, 's');

    t = performance.now();
    const cpu0 = process.cpuUsage();
    const solver = createSolver(load, { compiler: COMPILER });
    const outcomes = selectTargets({ kind: 'latest' }, load.packages, solver);
    const solveS = (performance.now() - t) / 1000;
    const t2 = performance.now();
    const plan = buildPlan(outcomes, { builderVersion: noopBuilder.version, platform: { ...solver.variables } });
    const buildS = (performance.now() - t2) / 1000;
    const planS = (performance.now() - t) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const planCpuS = (cpu.user + cpu.system) / 1e6;
    const graph = analysePlan(plan);
    process.stdout.write(
      `  plan (--compiler ${COMPILER} --latest): ${plan.targets.length} installable targets, ${plan.notInstallable.length} not installable, ` +
        `${plan.jobs.size} jobs, ${graph.edgeCount} edges, critical path ${graph.criticalPath.length} jobs\n`,
    );
    reportFigure('  of which: solve the targets (newest installable version per name)', solveS, 's');
    reportFigure('  of which: build the job DAG (keys, files/ hashes, closures)', buildS, 's');
    reportFigure('plan computation, all latest versions (solve + plan)', planS, 's', 15);
    // On a busy machine the wall time overstates the work: the CPU time is the figure without contention.
    reportFigure('  the same, CPU time of this process', planCpuS, 's', 15);

    const dir = mkdtempSync(join(tmpdir(), 'ecocheck-bench-engine-'));
    try {
      const db = openDatabase(join(dir, 'ecocheck.sqlite'));
      const lookup = createCacheLookup(db);
      const options = { ...DEFAULT_RUN_OPTIONS, jobs: 2 };

      t = performance.now();
      const run1 = createRun(db, {
        compilerSpec: COMPILER,
        repositories: [root],
        repositoryHash: 'bench',
        targets: { kind: 'latest' },
        options,
      });
      recordPlan(db, run1, plan);
      const first = await runPlan(plan, noopBuilder, {
        concurrency: 2,
        graph,
        lookupCached: (j) => lookup(j.key),
        onJobFinished: createResultRecorder(db, run1),
      });
      finishRun(db, run1, 'finished');
      const firstMs = performance.now() - t;
      if (first.built !== plan.jobs.size) throw new Error(`first run built ${first.built} of ${plan.jobs.size} jobs`);
      reportFigure(`scheduler + store overhead per job (${plan.jobs.size} jobs, no-op builder)`, firstMs / plan.jobs.size, 'ms', 1);

      t = performance.now();
      const run2 = createRun(db, {
        compilerSpec: COMPILER,
        repositories: [root],
        repositoryHash: 'bench',
        targets: { kind: 'latest' },
        options,
      });
      recordPlan(db, run2, plan);
      const second = await runPlan(plan, noopBuilder, {
        concurrency: 2,
        graph,
        lookupCached: (j) => lookup(j.key),
        onJobFinished: createResultRecorder(db, run2),
      });
      finishRun(db, run2, 'finished');
      const secondS = (performance.now() - t) / 1000;
      if (second.cacheHits !== plan.jobs.size) throw new Error(`cached rerun hit ${second.cacheHits} of ${plan.jobs.size} jobs`);
      reportFigure('fully cached rerun of that plan (record plan + run)', secondS, 's', 10);

      t = performance.now();
      const results = loadRunResults(db, run2);
      reportFigure(`loadRunResults (${results.length} targets)`, performance.now() - t, 'ms');
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
