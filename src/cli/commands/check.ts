/**
 * `ecocheck check`: plans the targets, builds the jobs in parallel (cached results are not rebuilt) and
 * records the run. Composes the layers: plan → scheduler (with the store's cache lookup and result sink
 * injected) → store. Ctrl-C stops the running builds, records the run as interrupted and exits 130; the
 * next `check` resumes (finished jobs are cache hits).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createOpamBuilder } from '../../build/opam-builder.js';
import { sandboxAvailable } from '../../build/process-runner.js';
import { isPrefixComplete } from '../../build/prefix-store.js';
import { buildPlan } from '../../plan/build-plan.js';
import { analysePlan } from '../../plan/plan-graph.js';
import type { Job } from '../../plan/job.js';
import { runPlan } from '../../run/scheduler.js';
import { ProgressReporter, formatSeconds } from '../../run/progress.js';
import type { CachedResult } from '../../run/job-record.js';
import { openDatabase, type Db } from '../../store/database.js';
import { StoreError } from '../../store/store-error.js';
import { acquireRunLock } from '../../store/run-lock.js';
import { createRun, finishRun, markAbandonedRuns, runStatusCounts } from '../../store/runs.js';
import { createCacheLookup, createResultRecorder, forgetCachedResult, loadRunResults, recordPlan } from '../../store/run-records.js';
import { repositoryContentHash } from '../../store/repository-hash.js';
import { JOB_STATUSES } from '../../results/taxonomy.js';
import { checkStateOutsideRepositories, resolveStatePaths } from '../state-paths.js';
import { UsageError } from '../usage-error.js';
import { addPlanOptions, preparePlan, type PlanOptions } from './plan.js';
import type { RegisterCommand } from './index.js';

interface CheckOptions extends PlanOptions {
  jobs?: string;
  stateDir?: string;
  cacheDir?: string;
  sandbox: boolean;
  timeout: string;
  memory: string;
}

export function parsePositiveInt(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${option} ${value}: expected a positive integer`);
  return n;
}

/** `90`, `90s`, `30m`, `1h`, `1.5h` → milliseconds. */
export function parseDuration(value: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new UsageError(`${option} ${value}: expected a duration such as 90s, 30m or 1h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(m[1]) * unit);
  if (ms <= 0) throw new UsageError(`${option} ${value}: must be more than zero`);
  return ms;
}

/** `4G`, `4GiB`, `512M`, `1048576` → bytes (binary units). */
export function parseBytes(value: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(value.trim());
  if (!m) throw new UsageError(`${option} ${value}: expected a size such as 4G or 512M`);
  const power = ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
  const bytes = Math.round(Number(m[1]) * 1024 ** power);
  if (bytes <= 0) throw new UsageError(`${option} ${value}: must be more than zero`);
  return bytes;
}

function openStore(file: string): Db {
  try {
    return openDatabase(file);
  } catch (err) {
    if (err instanceof StoreError) throw new UsageError(err.message);
    throw err;
  }
}

export const registerCheck: RegisterCommand = (program: Command, setExitCode) => {
  addPlanOptions(program.command('check').description('Build the targets against a compiler and record the run'))
    .option('--jobs <n>', 'builds run at once (default: the number of cores)')
    .option('--state-dir <dir>', 'keep the database, store, logs and caches under DIR (default: XDG data/cache folders)')
    .option('--cache-dir <dir>', 'the download cache (default: under the XDG cache folder)')
    .option('--no-sandbox', 'run builds without the bubblewrap sandbox')
    .option('--timeout <duration>', 'wall-clock limit per job', '1h')
    .option('--memory <size>', 'memory limit per job', '4G')
    .action(async (targets: string[], opts: CheckOptions) => {
      const jobs = opts.jobs === undefined ? availableParallelism() : parsePositiveInt(opts.jobs, '--jobs');
      const timeoutMs = parseDuration(opts.timeout, '--timeout');
      const memoryBytes = parseBytes(opts.memory, '--memory');
      const paths = resolveStatePaths({ stateDir: opts.stateDir, cacheDir: opts.cacheDir });
      checkStateOutsideRepositories(paths, opts.repo);
      if (opts.sandbox) {
        const s = sandboxAvailable();
        if (!s.ok) throw new UsageError(`${s.message}; install it (apt-get install bubblewrap) or pass --no-sandbox`);
      } else {
        process.stderr.write('ecocheck: warning: --no-sandbox: builds run with your user rights, unconfined\n');
      }

      const prepared = preparePlan(targets, opts);
      const builder = createOpamBuilder({
        storeDir: paths.storeDir,
        buildRoot: paths.buildRoot,
        downloadCache: paths.downloadCache,
        logDir: paths.logDir,
        makeJobs: Math.max(1, Math.floor(availableParallelism() / jobs)),
        platformVariables: { ...prepared.keyContext.platform },
        sandbox: opts.sandbox,
        timeoutMs,
        memoryBytes,
      });
      // Keys must name the builder that really builds.
      const plan =
        builder.version === prepared.keyContext.builderVersion
          ? prepared.plan
          : buildPlan(prepared.outcomes, { ...prepared.keyContext, builderVersion: builder.version }, prepared.filesHashes);
      const db = openStore(paths.database);
      let release: () => void;
      try {
        release = acquireRunLock(db, paths.database);
      } catch (err) {
        db.close();
        if (err instanceof StoreError) throw new UsageError(err.message);
        throw err;
      }
      try {
        markAbandonedRuns(db);
        const repoHash = repositoryContentHash(prepared.load.packages, prepared.filesHashes);
        const runId = createRun(db, {
          compilerSpec: opts.compiler!,
          repositories: opts.repo.map((r) => resolve(r)),
          repositoryHash: repoHash,
          targets: prepared.selection,
          options: {
            jobs,
            env: opts.env,
            withTest: opts.withTest === true,
            sandbox: opts.sandbox,
            timeoutMs,
            memoryBytes,
            builderVersion: builder.version,
            platform: prepared.keyContext.platform,
          },
        });
        recordPlan(db, runId, plan);
        const cached = createCacheLookup(db);
        const lookupCached = (job: Job): CachedResult | null => {
          const hit = cached(job.key);
          // An ok result is only reusable while its prefix is still in the store.
          if (hit !== null && hit.status === 'ok' && (hit.prefix === null || !existsSync(hit.prefix) || !isPrefixComplete(paths.storeDir, job.key))) {
            forgetCachedResult(db, job.key);
            return null;
          }
          return hit;
        };
        const record = createResultRecorder(db, runId);
        const progress = new ProgressReporter(process.stderr, plan.jobs.size, jobs);
        const abort = new AbortController();
        const onSignal = (sig: NodeJS.Signals) => {
          if (abort.signal.aborted) {
            // A second Ctrl-C does not wait for the cleanup; the next check marks this run crashed.
            process.stderr.write(`\necocheck: ${sig} again: exiting without waiting\n`);
            process.exit(130);
          }
          process.stderr.write(`\necocheck: ${sig}: stopping the running builds; the next check resumes from here\n`);
          abort.abort();
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        process.stderr.write(
          `run #${runId}: ${plan.targets.length + plan.notInstallable.length} targets, ${plan.jobs.size} jobs, ${jobs} at once (database ${paths.database})\n`,
        );
        let outcome;
        try {
          outcome = await runPlan(plan, builder, {
            concurrency: jobs,
            signal: abort.signal,
            graph: analysePlan(plan),
            lookupCached,
            onJobStarted: (job) => progress.started(job),
            onJobFinished: (r) => {
              record(r);
              progress.finished(r);
            },
          });
        } catch (err) {
          finishRun(db, runId, 'failed');
          throw err;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          progress.close();
        }
        finishRun(db, runId, outcome.interrupted ? 'interrupted' : 'finished');
        printSummary(db, runId, opts.compiler!, outcome.built, outcome.cacheHits, outcome.wallMs, outcome.interrupted);
        if (outcome.interrupted) setExitCode(130);
      } finally {
        release();
        db.close();
      }
    });
};

function printSummary(db: Db, runId: number, compiler: string, built: number, cacheHits: number, wallMs: number, interrupted: boolean): void {
  const out = process.stdout;
  const counts = runStatusCounts(db, runId);
  const results = loadRunResults(db, runId);
  const order = [...JOB_STATUSES, 'unfinished'];
  const parts = Object.entries(counts.targets)
    .sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]))
    .map(([s, n]) => `${s} ${n}`);
  const total = Object.values(counts.targets).reduce((a, b) => a + b, 0);
  out.write(`run #${runId} (compiler ${compiler})${interrupted ? ' INTERRUPTED' : ''}: ${total} targets: ${parts.join(', ')}\n`);
  out.write(`jobs: ${built} built, ${cacheHits} cached, ${formatSeconds(Math.round(wallMs / 1000))}\n`);
  const failures = results.filter((r) => r.status !== 'ok');
  for (const r of failures.slice(0, 50)) {
    const why = r.status === 'dependency-failed' ? `dependency ${r.rootCause} failed` : r.reason;
    out.write(`  ${r.status.padEnd(17)} ${r.id}: ${why}\n`);
  }
  if (failures.length > 50) out.write(`  … and ${failures.length - 50} more (ecocheck log NAME shows a log)\n`);
}
