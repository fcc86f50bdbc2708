/**
 * `ecocheck report`: the report of a recorded run, compared with its baseline when it has one, in any
 * format (terminal, markdown for a pull-request comment, json, html). Exit 1 when something regressed.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { resolveStatePaths } from '../state-paths.js';
import { UsageError } from '../../errors/usage-error.js';
import { openStore } from '../open-store.js';
import {
  compareWithBaseline,
  findBaseline,
  parseReportFormat,
  parseRunId,
  requireRun,
  writeComparisonReport,
  writeRunReport,
} from '../run-comparison.js';
import { listRuns, type RunInfo } from '../../store/runs.js';
import type { Db } from '../../store/database.js';
import type { RegisterCommand } from './index.js';

interface ReportOptions {
  run?: string;
  against?: string;
  format: string;
  output?: string;
  stateDir?: string;
}

/** The newest finished run that is not a retry (a retry is folded into the run it retried). */
function newestRun(db: Db): RunInfo {
  const run = listRuns(db, { status: 'finished' }).find((r) => r.kind !== 'retry');
  if (run === undefined) throw new UsageError('no finished run yet: run `ecocheck check --baseline` first');
  return run;
}

export const registerReport: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('report')
    .description('Report a recorded run (the newest by default), compared with its baseline when it has one; exit 1 on regressions')
    .option('--run <id>', 'the run to report (ecocheck runs lists them)')
    .option('--against <id>', 'compare with this run instead of the baseline recorded for the run')
    .option('--format <format>', 'terminal, markdown (a pull-request comment), json or html', 'terminal')
    .option('--output <file>', 'write the report to FILE instead of standard output')
    .option('--state-dir <dir>', 'where ecocheck keeps its state (default: XDG data/cache folders)')
    .action((opts: ReportOptions) => {
      const format = parseReportFormat(opts.format);
      const paths = resolveStatePaths({ stateDir: opts.stateDir });
      if (!existsSync(paths.database)) throw new UsageError(`no runs recorded yet (no database at ${paths.database}): run \`ecocheck check --baseline\` first`);
      const db = openStore(paths.database, true);
      try {
        const run = opts.run !== undefined ? requireRun(db, parseRunId(opts.run, '--run'), '--run') : newestRun(db);
        let baseline: RunInfo | null = null;
        if (opts.against !== undefined) baseline = requireRun(db, parseRunId(opts.against, '--against'), '--against');
        else if (run.against !== null) baseline = requireRun(db, run.against, 'the run\'s baseline');
        else if (run.kind !== 'baseline') baseline = findBaseline(db, run);
        if (baseline !== null && baseline.id === run.id) throw new UsageError(`--against ${baseline.id}: a run cannot be compared with itself`);
        if (run.status !== 'finished') process.stderr.write(`ecocheck: warning: run #${run.id} is ${run.status}: its unfinished packages are missing\n`);
        if (baseline === null) writeRunReport(db, run, { format, output: opts.output });
        else setExitCode(writeComparisonReport(compareWithBaseline(db, run, baseline), { format, output: opts.output }));
      } finally {
        db.close();
      }
    });
};
