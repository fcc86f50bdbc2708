/**
 * `ecocheck rerun`: builds again only what failed (or only what regressed) in a run, forgetting their
 * cached failures, and reports the new attempt against the same baseline. One word for the common
 * "fix the flaky machine / the package, then try those again".
 */
import type { Command } from 'commander';
import { OWN_FAILURE_STATUSES, SPURIOUS_JOB_STATUSES, type PackageRunResult } from '../../results/taxonomy.js';
import { listRuns, type RunInfo } from '../../store/runs.js';
import { loadRunResults } from '../../store/run-records.js';
import type { Db } from '../../store/database.js';
import { resolveStatePaths } from '../state-paths.js';
import { UsageError } from '../../errors/usage-error.js';
import { checkSandbox, executeRun } from '../check-run.js';
import { openStore } from '../open-store.js';
import {
  compareWithBaseline,
  parseReportFormat,
  parseRunId,
  requireRun,
  writeComparisonReport,
  writeRunReport,
} from '../run-comparison.js';
import { addBuildOptions, buildSettings, printSummary, type BuildOptions } from './check.js';
import { preparePlan } from './plan.js';
import type { RegisterCommand } from './index.js';

interface RerunOptions extends BuildOptions {
  run?: string;
  regressed?: boolean;
}

function newestRun(db: Db): RunInfo {
  const run = listRuns(db).find((r) => r.kind !== 'retry');
  if (run === undefined) throw new UsageError('no run yet: nothing to rerun');
  return run;
}

/** What a rerun builds: the package's own failures and spurious results; a cascade reruns through its root. */
function failedTargets(results: PackageRunResult[]): { ids: string[]; forget: string[] } {
  const rerun = results.filter((r) => OWN_FAILURE_STATUSES.has(r.status) || SPURIOUS_JOB_STATUSES.has(r.status) || r.status === 'dependency-failed');
  const forget = rerun.filter((r) => r.status !== 'dependency-failed' && r.jobKey !== null).map((r) => r.jobKey!);
  return { ids: rerun.map((r) => r.id), forget };
}

export const registerRerun: RegisterCommand = (program: Command, setExitCode) => {
  addBuildOptions(
    program
      .command('rerun')
      .description('Build again only what failed in a run (the newest by default), or with --regressed only what regressed against its baseline'),
  )
    .option('--run <id>', 'the run whose failures to build again')
    .option('--regressed', 'only the regressions (and the packages failing because of them) against the run\'s baseline')
    .action(async (opts: RerunOptions) => {
      const settings = buildSettings({ ...opts, env: [], withTest: false });
      const format = parseReportFormat(opts.format);
      const paths = resolveStatePaths({ stateDir: opts.stateDir, cacheDir: opts.cacheDir });
      const db = openStore(paths.database);
      try {
        const run = opts.run !== undefined ? requireRun(db, parseRunId(opts.run, '--run'), '--run') : newestRun(db);
        const baselineId = run.against;
        let ids: string[];
        let forget: string[];
        if (opts.regressed) {
          if (baselineId === null) throw new UsageError(`run #${run.id} has no baseline: --regressed needs a compared run`);
          const comparison = compareWithBaseline(db, run, requireRun(db, baselineId, 'the run\'s baseline'));
          const picked = comparison.packages.filter(
            (p) => p.candidate !== null && (p.category === 'regressed' || p.category === 'dependency-regressed' || p.category === 'spurious'),
          );
          ids = picked.map((p) => p.candidate!.id);
          forget = picked.filter((p) => p.candidate!.status !== 'dependency-failed' && p.candidate!.jobKey !== null).map((p) => p.candidate!.jobKey!);
        } else ({ ids, forget } = failedTargets(loadRunResults(db, run.id)));
        if (ids.length === 0) {
          process.stderr.write(`run #${run.id}: nothing ${opts.regressed ? 'regressed' : 'failed'}; nothing to rerun\n`);
          return;
        }
        checkSandbox(settings.sandbox);
        const env = run.options.env;
        // A compiler built from a local source tree is derived again from the tree, as it is now.
        const compiler = run.options.compilerSourceTree ?? run.compilerSpec;
        const prepared = preparePlan(ids, { repo: run.repositories, compiler, env, withTest: run.options.withTest });
        const done = await executeRun(db, {
          prepared,
          paths,
          settings: { ...settings, env, withTest: run.options.withTest },
          kind: 'rerun',
          label: run.label,
          against: baselineId,
          retryOf: run.id,
          forgetKeys: forget,
        });
        printSummary(db, done, prepared.compiler.spec);
        if (done.interrupted) {
          setExitCode(130);
          return;
        }
        const rerun = requireRun(db, done.runId, '--run');
        if (baselineId === null) writeRunReport(db, rerun, { format, output: opts.output });
        else setExitCode(writeComparisonReport(compareWithBaseline(db, rerun, requireRun(db, baselineId, 'the run\'s baseline')), { format, output: opts.output }));
      } finally {
        db.close();
      }
    });
};
