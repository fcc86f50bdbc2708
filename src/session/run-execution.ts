/**
 * One recorded run (of `check`, of `rerun`, a retry of regressions): plan → scheduler, with the store's
 * cache lookup and result sink injected → store, under the run lock. Ctrl-C stops the running builds and
 * records the run as interrupted; the next run resumes (finished jobs are cache hits).
 */
import { availableParallelism } from 'node:os';
import { createOpamBuilder } from '../builder/opam-builder.js';
import { describeLimits } from '../builder/process-runner.js';
import { bubblewrap } from '../builder/bubblewrap.js';
import type { Sandbox, SandboxMode } from '../builder/sandbox.js';
import { formatBytes } from '../units/byte-size.js';
import { switchMountSupport } from '../builder/switch-mount.js';
import { buildPlan } from '../plan/build-plan.js';
import { analysePlan } from '../plan/plan-graph.js';
import type { ShardSpec } from '../plan/shard.js';
import { shardOfPlan } from './shard-record.js';
import type { Job } from '../plan/job.js';
import { runPlan } from '../run/scheduler.js';
import { ProgressReporter } from '../run/progress.js';
import type { CachedResult } from '../results/job-record.js';
import type { Db } from '../store/database.js';
import { acquireRunLock } from '../store/run-lock.js';
import { createRun, finishRun, markAbandonedRuns, runStatusCounts, type RunKind } from '../store/runs.js';
import { createCacheLookup, createResultRecorder, forgetCachedResult, recordPlan } from '../store/run-records.js';
import { repositoryContentHash } from '../store/repository-hash.js';
import { checkStateOutsideRepositories, checkStateWritable, type StatePaths } from './state-paths.js';
import { SessionError } from './session-error.js';
import type { PreparedPlan } from './plan-preparation.js';
import type { SessionOutput } from './session-output.js';
import { isReusableResult } from './cache-validity.js';
import { chooseArchiveMirrors } from './archive-mirror-choice.js';
import { LocalLayerStore } from '../builder/layer-store.js';
import { hasUnverifiableSource } from '../plan/job-key.js';

export interface BuildSettings {
  /** opam's archive-mirrors the user named (`--archive-mirror`), tried after a source's own url and mirrors. */
  archiveMirrors: string[];
  /** Also opam's own mirrors for these repositories (archive-mirror-choice.ts); false: `--no-default-mirror`. Absent: true. */
  defaultMirrors?: boolean;
  jobs: number;
  /** Processes a job may have at once. */
  maxProcesses: number;
  /** `confined`, or `host` (`--no-sandbox`): what builds see (builder/sandbox.ts). */
  sandboxMode: SandboxMode;
  /** The sandbox implementation builds run in (default: bubblewrap): a second one plugs in here. */
  sandbox?: Sandbox;
  timeoutMs: number;
  memoryBytes: number;
  /** Disk space and inodes of one job's folders (build folder, layer, downloads). */
  diskBytes: number;
  inodes: number;
  env: string[];
  withTest: boolean;
}

/** A second Ctrl-C exits at once with the shell's code for SIGINT (the CLI's table: interrupted). */
const EXIT_ON_SECOND_SIGNAL = 130;

export interface RunRequest {
  prepared: PreparedPlan;
  paths: StatePaths;
  settings: BuildSettings;
  kind: RunKind;
  label: string | null;
  /** The run this one is compared with. */
  against: number | null;
  /** For a retry, the candidate whose regressions it builds again; for a rerun, the run it reruns. */
  retryOf: number | null;
  /** Cached results of these job keys are forgotten first, so they really rebuild. */
  forgetKeys?: readonly string[];
  /** Build only this shard of the plan (split by the durations given with it, never this database's). */
  shard?: ShardSpec | null;
  output: SessionOutput;
}

export interface RunDone {
  runId: number;
  /** Per-status counts of the run's targets (and `unfinished`). */
  targetCounts: Record<string, number>;
  built: number;
  cacheHits: number;
  wallMs: number;
  interrupted: boolean;
}

/**
 * Checks up front what every build needs: the sandbox (each job's switch is bound at its fixed path in
 * it, confined or not) and overlayfs in a mount namespace (the switch is composed of layers). Either
 * missing is an environment error saying how to get it.
 */
export function checkBuildEnvironment(sandbox: Sandbox = bubblewrap): void {
  const s = sandbox.detect();
  if (!s.ok) throw new SessionError(s.message, 'environment');
  const m = switchMountSupport();
  if (!m.ok) throw new SessionError(m.message, 'environment');
}

/** The jobs (keys) with a remote source without a checksum, and every job whose closure holds one. */
export function unverifiableJobs(plan: { jobs: ReadonlyMap<string, Job> }): Set<string> {
  const out = new Set<string>();
  // `plan.jobs` is in build order: a job's dependencies are decided before it.
  for (const [key, job] of plan.jobs) {
    if (hasUnverifiableSource(job.package) || job.dependencies.some((d) => out.has(d))) out.add(key);
  }
  return out;
}

/** A SQLite failure (disk full, I/O error) part-way through a run: one line naming the database. */
function isSqliteError(err: unknown): err is Error & { code: string } {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}

export async function executeRun(db: Db, req: RunRequest): Promise<RunDone> {
  try {
    return await executeRunUnguarded(db, req);
  } catch (err) {
    if (isSqliteError(err)) {
      throw new SessionError(
        `cannot write the database ${req.paths.database}: ${err.message} (the results recorded before this are kept)`,
        'environment',
      );
    }
    throw err;
  }
}

async function executeRunUnguarded(db: Db, req: RunRequest): Promise<RunDone> {
  const { prepared, paths, settings } = req;
  const sandbox = settings.sandbox ?? bubblewrap;
  checkBuildEnvironment(sandbox);
  checkStateOutsideRepositories(paths, prepared.repositories);
  // A run never starts only to fail job after job on an unwritable store or cache.
  checkStateWritable(paths);
  const mirrors = chooseArchiveMirrors(settings, prepared.repositories);
  for (const problem of mirrors.problems) req.output.notice(`warning: ${problem} (its archive-mirrors are not used)`);
  if (mirrors.defaults.length > 0)
    req.output.notice(
      `archive mirrors (opam's defaults for these repositories; --no-default-mirror drops them): ${mirrors.defaults.join(' ')}`,
    );
  const layers = new LocalLayerStore(paths.storeDir);
  const builder = createOpamBuilder({
    storeDir: paths.storeDir,
    layers,
    buildRoot: paths.buildRoot,
    downloadCache: paths.downloadCache,
    logDir: paths.logDir,
    cores: availableParallelism(),
    archiveMirrors: mirrors.mirrors,
    platformVariables: { ...prepared.keyContext.platform },
    sandboxMode: settings.sandboxMode,
    sandbox,
    timeoutMs: settings.timeoutMs,
    memoryBytes: settings.memoryBytes,
    maxProcesses: settings.maxProcesses,
    localSourceRoots: prepared.localSources.roots,
    privateOrigins: prepared.localSources.origins,
    diskBytes: settings.diskBytes,
    inodes: settings.inodes,
  });
  // Keys must name the builder that really builds.
  const whole =
    builder.version === prepared.keyContext.builderVersion
      ? prepared.plan
      : buildPlan(prepared.outcomes, { ...prepared.keyContext, builderVersion: builder.version }, prepared.filesHashes);
  // A shard records its partition's identity and the whole plan's targets: merge checks them.
  const sharded = req.shard == null ? null : shardOfPlan(whole, req.shard);
  const plan = sharded?.plan ?? whole;
  const release = acquireRunLock(db, paths.database);
  try {
    markAbandonedRuns(db);
    for (const key of req.forgetKeys ?? []) forgetCachedResult(db, key);
    // What a remote source without a checksum gives is known only once fetched: such a job, and every
    // job built on it, is built again (its key cannot tell that the server's file changed).
    const unverifiable = unverifiableJobs(plan);
    for (const key of unverifiable) {
      forgetCachedResult(db, key);
      layers.remove(key);
    }
    if (unverifiable.size > 0)
      req.output.notice(`${unverifiable.size} job(s) have a remote source without a checksum, or depend on one: built again, never reused`);
    const runId = createRun(db, {
      kind: req.kind,
      label: req.label,
      compilerSpec: prepared.compiler.spec,
      repositories: prepared.repositories,
      repositoryHash: repositoryContentHash(prepared.load.packages, prepared.filesHashes),
      targets: prepared.selection,
      against: req.against,
      retryOf: req.retryOf ?? null,
      options: {
        compilerName: prepared.compiler.name,
        compilerSourceTree: prepared.compiler.sourceTree ?? null,
        jobs: settings.jobs,
        env: settings.env,
        withTest: settings.withTest,
        sandboxMode: settings.sandboxMode,
        timeoutMs: settings.timeoutMs,
        memoryBytes: settings.memoryBytes,
        builderVersion: builder.version,
        platform: prepared.keyContext.platform,
        pins: prepared.pins.args,
        pinned: prepared.pins.described,
        ...(prepared.localSources.named.length > 0 ? { allowLocalSources: prepared.localSources.named } : {}),
        ...(sharded !== null ? { shard: sharded.record } : {}),
      },
    });
    recordPlan(db, runId, plan);
    const cached = createCacheLookup(db);
    const lookupCached = (job: Job): CachedResult | null => {
      const hit = cached(job.key);
      if (hit !== null && !isReusableResult(hit, job.key, layers)) {
        forgetCachedResult(db, job.key);
        return null;
      }
      return hit;
    };
    const record = createResultRecorder(db, runId);
    const progress = new ProgressReporter(req.output.progress, plan.jobs.size, settings.jobs);
    const abort = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
      if (abort.signal.aborted) {
        // A second Ctrl-C does not wait for the cleanup; the next check marks this run crashed.
        req.output.notice(`${sig} again: exiting without waiting`);
        process.exit(EXIT_ON_SECOND_SIGNAL);
      }
      req.output.notice(`${sig}: stopping the running builds; the next check resumes from here`);
      abort.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    req.output.notice(
      `run #${runId} (${req.kind}${req.shard != null ? `, shard ${req.shard.index}/${req.shard.count} of partition ${(sharded!.record.partition ?? '').slice(0, 12)}` : ''}, compiler ${prepared.compiler.spec}): ${plan.targets.length + plan.notInstallable.length} targets, ${plan.jobs.size} jobs, ${settings.jobs} at once; ${settings.sandboxMode === 'confined' ? 'sandboxed' : 'host filesystem (--no-sandbox)'} (${sandbox.identity}), ${describeLimits(settings.memoryBytes)}, disk limit ${formatBytes(settings.diskBytes)} and ${settings.inodes.toLocaleString('en-US')} inodes, timeout ${Math.round(settings.timeoutMs / 1000)} s per job (database ${paths.database})`,
    );
    let outcome;
    try {
      outcome = await runPlan(plan, builder, {
        concurrency: settings.jobs,
        signal: abort.signal,
        graph: analysePlan(plan),
        // The records go to the database as each job ends (`record`), and are not kept in memory.
        keepRecords: false,
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
    return {
      runId,
      targetCounts: runStatusCounts(db, runId).targets,
      built: outcome.built,
      cacheHits: outcome.cacheHits,
      wallMs: outcome.wallMs,
      interrupted: outcome.interrupted,
    };
  } finally {
    release();
  }
}
