/**
 * `ecocheck report`: the report of a recorded run, compared with its baseline when it has one, in any
 * format (terminal, markdown for a pull-request comment, json, html). Exit 1 when something regressed.
 * The store and report layers are loaded when the action runs.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { RegisterCommand } from '../command.js';
import { parseRunId } from '../argument-parsers.js';
import { addReportOptions, addStateOptions, statePaths, type ReportOptions, type StateOptions } from '../options.js';
import { UsageError } from '../usage-error.js';

interface ReportCliOptions extends ReportOptions, StateOptions {
  run?: string;
  against?: string;
  prComment?: boolean;
  reportUrl?: string;
  runUrl?: string;
}

export const registerReport: RegisterCommand = (program: Command, setExitCode) => {
  addStateOptions(
    addReportOptions(
      program
        .command('report')
        .description('Report a recorded run (the newest by default), compared with its baseline when it has one; exit 1 on regressions')
        .option('--run <id>', 'the run to report (ecocheck runs lists them)')
        .option('--against <id>', 'compare with this run instead of the baseline recorded for the run')
        .option(
          '--pr-comment',
          "the comparison as a pull-request comment: Markdown within GitHub's size limit, details collapsed, with a marker to update it by",
        )
        .option('--report-url <url>', 'with --pr-comment: where the full report is (e.g. the HTML artifact)')
        .option('--run-url <url>', 'with --pr-comment: the CI run that made it'),
    ),
  ).action(async (opts: ReportCliOptions) => {
    const [{ reportDestination, writeComparisonReport, writePrComment, writeRunReport }, { withCommandContext }, { recordedReport }] =
      await Promise.all([
        import('../report-output.js'),
        import('../../session/command-context.js'),
        import('../../session/report-choice.js'),
      ]);
    const dest = reportDestination(opts);
    if (opts.prComment !== true && (opts.reportUrl !== undefined || opts.runUrl !== undefined))
      throw new UsageError('--report-url and --run-url go with --pr-comment');
    const runId = opts.run === undefined ? null : parseRunId(opts.run, '--run');
    const againstId = opts.against === undefined ? null : parseRunId(opts.against, '--against');
    const paths = await statePaths(opts);
    if (!existsSync(paths.database))
      throw new UsageError(`no runs recorded yet (no database at ${paths.database}): run \`ecocheck check --baseline\` first`);
    await withCommandContext({ paths, database: 'read' }, (ctx) => {
      const r = recordedReport(ctx.db, runId, againstId);
      if (r.run.status !== 'finished')
        process.stderr.write(`ecocheck: warning: run #${r.run.id} is ${r.run.status}: its unfinished packages are missing\n`);
      if (opts.prComment === true) {
        if (r.comparison === null)
          throw new UsageError(`--pr-comment: run #${r.run.id} is compared with nothing (no baseline): there is no comparison to comment`);
        setExitCode(writePrComment(r.comparison, { reportUrl: opts.reportUrl, runUrl: opts.runUrl }, opts.output));
      } else if (r.comparison !== null) setExitCode(writeComparisonReport(r.comparison, dest));
      else setExitCode(writeRunReport(r.summary!, r.run.kind, dest));
    });
  });
};
