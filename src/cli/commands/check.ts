/**
 * `ecocheck check`: plans the targets, builds the jobs in parallel (cached results are not rebuilt) and
 * records the run. Composes the layers: plan → scheduler (with the store's cache lookup and result sink
 * injected) → store. Ctrl-C stops the running builds, records the run as interrupted and exits 130; the
 * next `check` resumes (finished jobs are cache hits).
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { formatSeconds } from '../../run/progress.js';
import type { Db } from '../../store/database.js';
import { getRun, runStatusCounts } from '../../store/runs.js';
import { JOB_STATUSES } from '../../results/taxonomy.js';
import { resolveStatePaths } from '../state-paths.js';
import { UsageError } from '../../errors/usage-error.js';
import { collect } from '../repeatable-option.js';
import { checkSandbox, executeRun, type BuildSettings, type RunDone } from '../check-run.js';
import { DEFAULT_MAX_PROCESSES } from '../../builder/process-runner.js';
import { openStore } from '../open-store.js';
import {
  compareWithBaseline,
  findBaseline,
  parseReportFormat,
  parseRunId,
  requireRun,
  writeComparisonReport,
  writeRunReport,
  type ReportDestination,
} from '../run-comparison.js';
import { addPlanOptions, preparePlan, type PlanOptions } from './plan.js';
import type { RegisterCommand } from './index.js';

/** The options addBuildOptions declares (every building verb has them). */
export interface BuildOptions {
  jobs?: string;
  stateDir?: string;
  cacheDir?: string;
  sandbox: boolean;
  timeout: string;
  memory: string;
  processes: string;
  format: string;
  output?: string;
  archiveMirror: string[];
}

interface CheckOptions extends PlanOptions, BuildOptions {
  baseline?: boolean;
  against?: string;
  retries: string;
}

export function parseCount(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`${option} ${value}: expected a whole number`);
  return n;
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

/** The build settings shared by check and rerun, from their options. */
export function buildSettings(opts: Pick<CheckOptions, 'jobs' | 'sandbox' | 'timeout' | 'memory' | 'processes' | 'env' | 'withTest' | 'archiveMirror'>): BuildSettings {
  return {
    maxProcesses: parsePositiveInt(opts.processes, '--processes'),
    archiveMirrors: (opts.archiveMirror ?? []).map(archiveMirrorAddress),
    jobs: opts.jobs === undefined ? availableParallelism() : parsePositiveInt(opts.jobs, '--jobs'),
    sandbox: opts.sandbox,
    timeoutMs: parseDuration(opts.timeout, '--timeout'),
    memoryBytes: parseBytes(opts.memory, '--memory'),
    env: opts.env,
    withTest: opts.withTest === true,
  };
}

/**
 * An `--archive-mirror` value as the fetcher takes it: a URL as given, a directory (opam's mirror
 * layout, ALGO/XX/HEX, e.g. a download cache) as a file:// URL.
 */
export function archiveMirrorAddress(value: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  const dir = resolve(value);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`--archive-mirror ${value}: neither a URL nor a directory`);
  }
  return `file://${dir}`;
}

/** The options every building verb has (check, rerun). */
export function addBuildOptions(cmd: Command): Command {
  return cmd
    .option('--jobs <n>', 'builds run at once (default: the number of cores)')
    .option('--state-dir <dir>', 'keep the database, store, logs and caches under DIR (default: XDG data/cache folders)')
    .option('--cache-dir <dir>', 'the download cache (default: under the XDG cache folder)')
    .option('--no-sandbox', 'builds see the host filesystem (with your rights) and the network; their switch and HOME are still their own')
    .option('--archive-mirror <url|dir>', "an archive mirror (opam's archive-mirrors: ALGO/XX/HEX), tried after a source's own url; a directory such as another download cache works offline; repeatable", collect, [])
    .option('--timeout <duration>', 'wall-clock limit per job', '1h')
    .option('--memory <size>', 'memory limit per job', '4G')
    .option('--processes <n>', 'processes (and threads) a job may have at once, where a cgroup pids controller is available', String(DEFAULT_MAX_PROCESSES))
    .option('--format <format>', 'report format: terminal, markdown, json, html', 'terminal')
    .option('--output <file>', 'write the report to FILE instead of standard output');
}

export const registerCheck: RegisterCommand = (program: Command, setExitCode) => {
  addBuildOptions(
    addPlanOptions(
      program
        .command('check')
        .description(
          'Build the targets against a compiler and record the run; --baseline records the baseline, any other run is compared with it and its regressions reported (exit 1)',
        ),
    ),
  )
    .option('--baseline', 'record this run as the baseline (the compiler defaults to the name "baseline")')
    .option('--against <run>', 'compare with this run instead of the newest baseline of the same targets and repositories (or of the repositories behind --repo overlays)')
    .option('--retries <n>', 'build the regressions again N times to tell flaky failures from real ones', '1')
    .action(async (targets: string[], opts: CheckOptions) => {
      if (opts.baseline === true && opts.against !== undefined) throw new UsageError('--baseline and --against do not go together');
      if (opts.compiler === undefined) {
        if (opts.baseline !== true) throw new UsageError('--compiler SPEC is required (e.g. --compiler next), or --baseline to record the baseline');
        opts.compiler = 'baseline';
      }
      const settings = buildSettings(opts);
      const retries = parseCount(opts.retries, '--retries');
      const dest: ReportDestination = { format: parseReportFormat(opts.format), output: opts.output };
      const paths = resolveStatePaths({ stateDir: opts.stateDir, cacheDir: opts.cacheDir });
      checkSandbox(settings.sandbox);
      const prepared = preparePlan(targets, opts, undefined, true);
      const db = openStore(paths.database);
      try {
        const againstId = opts.against === undefined ? null : parseRunId(opts.against, '--against');
        const baselineRun =
          opts.baseline === true
            ? null
            : againstId !== null
              ? requireRun(db, againstId, '--against')
              : findBaseline(db, { id: -1, repositories: prepared.repositories, targets: prepared.selection });
        const kind = opts.baseline === true ? 'baseline' : baselineRun !== null ? 'candidate' : 'check';
        const done = await executeRun(db, {
          prepared,
          paths,
          settings,
          kind,
          label: prepared.compiler.name,
          against: baselineRun?.id ?? null,
        });
        printSummary(db, done, prepared.compiler.spec);
        if (done.interrupted) {
          setExitCode(130);
          return;
        }
        const run = getRun(db, done.runId)!;
        if (baselineRun === null) {
          if (kind === 'check') {
            process.stderr.write('no baseline to compare with: record one with `ecocheck check --baseline` (same repositories and targets)\n');
          }
          writeRunReport(db, run, dest);
          return;
        }
        let comparison = compareWithBaseline(db, run, baselineRun);
        for (let attempt = 1; attempt <= retries; attempt++) {
          const retried = await retryRegressions(db, comparison, opts, paths, settings, done.runId, attempt);
          if (retried === null) break;
          comparison = compareWithBaseline(db, run, baselineRun);
        }
        setExitCode(writeComparisonReport(comparison, dest));
      } finally {
        db.close();
      }
    });
};

/**
 * Builds the regressed packages again, with the packages whose dependency regressed, after forgetting
 * the cached failures; records the attempt as a 'retry' run of the candidate. Returns null when there
 * was nothing to retry.
 */
async function retryRegressions(
  db: Db,
  comparison: ReturnType<typeof compareWithBaseline>,
  opts: CheckOptions,
  paths: ReturnType<typeof resolveStatePaths>,
  settings: BuildSettings,
  candidateId: number,
  attempt: number,
): Promise<RunDone | null> {
  // A failure taken from the cache was already confirmed when it was first built: only fresh ones are retried.
  const regressed = comparison.packages.filter((p) => p.category === 'regressed' && p.candidate !== null && !p.candidate.cached);
  const roots = new Set(regressed.map((p) => p.key));
  const dependents = comparison.packages.filter((p) => p.category === 'dependency-regressed' && p.candidate !== null && (p.rootCauses ?? [p.rootCause ?? '']).some((k) => roots.has(k)));
  const ids = [...regressed, ...dependents].map((p) => p.candidate!.id);
  if (ids.length === 0) return null;
  process.stderr.write(`retry ${attempt}: building the ${regressed.length} regression(s) again to tell flaky from real\n`);
  const prepared = preparePlan(ids, { ...opts, latest: false, allVersions: false });
  const forgetKeys = regressed.map((p) => p.candidate!.jobKey).filter((k): k is string => k !== null);
  const done = await executeRun(db, { prepared, paths, settings, kind: 'retry', label: `retry ${attempt} of #${candidateId}`, against: getRun(db, candidateId)?.against ?? null, retryOf: candidateId, forgetKeys });
  printSummary(db, done, prepared.compiler.spec);
  return done.interrupted ? null : done;
}

/** Counts of the run just finished, on stderr (the report itself goes to stdout or --output). */
export function printSummary(db: Db, done: RunDone, compiler: string): void {
  const { runId, built, cacheHits, wallMs, interrupted } = done;
  const counts = runStatusCounts(db, runId);
  const order = [...JOB_STATUSES, 'unfinished'];
  const parts = Object.entries(counts.targets)
    .sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]))
    .map(([s, n]) => `${s} ${n}`);
  const total = Object.values(counts.targets).reduce((a, b) => a + b, 0);
  process.stderr.write(`run #${runId} (compiler ${compiler})${interrupted ? ' INTERRUPTED' : ''}: ${total} targets: ${parts.join(', ')}\n`);
  process.stderr.write(`jobs: ${built} built, ${cacheHits} cached, ${formatSeconds(Math.round(wallMs / 1000))}\n`);
}
