/**
 * `ecocheck rerun`: builds again only what failed (or, `--regressed`, what regressed) in a run, their
 * cached failures forgotten, and reports the new attempt against the same baseline (src/session/rerun.ts).
 * The session, store and report layers are loaded when the action runs.
 */
import type { Command } from 'commander';
import type { RegisterCommand } from '../command.js';
import { parseRunId } from '../argument-parsers.js';
import { EXIT } from '../exit-codes.js';
import { addBuildOptions, addLocalSourcesOption, buildSettings, NO_SANDBOX_WARNING, statePaths, type BuildOptions } from '../options.js';

interface RerunOptions extends BuildOptions {
  run?: string;
  regressed?: boolean;
  allowLocalSources: string[];
}

export const registerRerun: RegisterCommand = (program: Command, setExitCode) => {
  addLocalSourcesOption(
    addBuildOptions(
      program
        .command('rerun')
        .description(
          'Build again only what failed in a run (the newest by default), or with --regressed only what regressed against its baseline',
        ),
    ),
  )
    .option('--run <id>', 'the run whose failures to build again')
    .option(
      '--regressed',
      "only the regressions (and the packages failing because of them) and spurious results against the run's baseline",
    )
    .action(async (opts: RerunOptions) => {
      const { env: _env, withTest: _withTest, ...settings } = buildSettings(opts, { env: [], withTest: false });
      const [
        { reportDestination, writeComparisonReport, writeRunReport },
        { withCommandContext },
        { rerunFailures },
        { printRunCounts, stderrOutput },
      ] = await Promise.all([
        import('../report-output.js'),
        import('../../session/command-context.js'),
        import('../../session/rerun.js'),
        import('../run-progress-output.js'),
      ]);
      const dest = reportDestination(opts);
      const runId = opts.run === undefined ? null : parseRunId(opts.run, '--run');
      const paths = await statePaths(opts);
      if (settings.sandboxMode === 'host') process.stderr.write(NO_SANDBOX_WARNING);
      await withCommandContext({ paths, database: 'write' }, async (ctx) => {
        const outcome = await rerunFailures(ctx, {
          runId,
          regressedOnly: opts.regressed === true,
          settings,
          allowLocalSources: opts.allowLocalSources,
          output: stderrOutput,
        });
        if (outcome.done === null) {
          process.stderr.write(`run #${outcome.of.id}: nothing ${opts.regressed ? 'regressed' : 'failed'}; nothing to rerun\n`);
          return;
        }
        printRunCounts(outcome.done, outcome.compiler!);
        if (outcome.interrupted) {
          setExitCode(EXIT.interrupted);
          return;
        }
        if (outcome.comparison !== null) setExitCode(writeComparisonReport(outcome.comparison, dest));
        else setExitCode(writeRunReport(outcome.summary!, 'rerun', dest));
      });
    });
};
