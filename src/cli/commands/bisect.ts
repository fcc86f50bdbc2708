/**
 * `ecocheck bisect PACKAGE… --compiler-tree DIR --good REV --bad REV`: the first commit of a compiler
 * checkout at which each package breaks (src/session/bisect.ts), each step an ordinary recorded run;
 * `--from-run RUN` takes the packages (the regressions) and the range from a recorded comparison.
 * Progress on stderr, the report on stdout (or --output): terminal, markdown, json.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { RegisterCommand } from '../command.js';
import { parseRunId } from '../argument-parsers.js';
import { EXIT } from '../exit-codes.js';
import {
  addBisectOptions,
  addBuildOptions,
  addLocalSourcesOption,
  addPlatformOptions,
  addRepositoryOptions,
  buildSettings,
  NO_SANDBOX_WARNING,
  planRequest,
  statePaths,
  workspaceRequest,
  type BisectOptions,
  type BuildOptions,
  type PlanOptions,
} from '../options.js';
import { UsageError } from '../usage-error.js';

interface BisectCommandOptions extends PlanOptions, BuildOptions, BisectOptions {}

export const registerBisect: RegisterCommand = (program: Command, setExitCode) => {
  addBisectOptions(
    addBuildOptions(
      addLocalSourcesOption(
        addPlatformOptions(
          addRepositoryOptions(
            program
              .command('bisect')
              .description(
                'Find the commit of a compiler checkout that broke the packages: a bisection between a good and a bad commit, each step a recorded run of the compiler built at that commit (exit 1 when a first bad commit is found)',
              )
              .argument('[packages...]', 'the packages to bisect, NAME or NAME.VERSION (with --from-run: the regressions of that run)'),
          ),
        ),
      ),
    ),
  ).action(async (packages: string[], opts: BisectCommandOptions) => {
    const fromRun = opts.fromRun === undefined ? null : parseRunId(opts.fromRun, '--from-run');
    if (fromRun === null) {
      if (opts.compilerTree === undefined || opts.good === undefined)
        throw new UsageError("--compiler-tree DIR and --good REV are required (--bad defaults to the checkout's HEAD), or --from-run RUN");
      if (packages.length === 0) throw new UsageError('name the package(s) to bisect');
    } else if (opts.good !== undefined || opts.bad !== undefined) {
      throw new UsageError('--from-run takes the good and the bad commit from the run: give neither --good nor --bad');
    }
    const { isBisectFormat, BISECT_FORMATS } = await import('../../report/bisect-report.js');
    if (!isBisectFormat(opts.format)) throw new UsageError(`--format ${opts.format}: bisect reports are ${BISECT_FORMATS.join(', ')}`);
    const format = opts.format;
    const plan = planRequest(packages, { ...opts, compiler: undefined });
    const settings = buildSettings(opts, { env: plan.env as string[], withTest: plan.withTest });
    const [
      { renderBisectReport, bisectExitCode },
      { shouldUseColour },
      { withCommandContext },
      { runBisectSession },
      { bisectRangeOfRun },
      { stderrOutput },
    ] = await Promise.all([
      import('../../report/bisect-report.js'),
      import('../../report/terminal-colour.js'),
      import('../../session/command-context.js'),
      import('../../session/bisect.js'),
      import('../../session/bisect-from-run.js'),
      import('../run-progress-output.js'),
    ]);
    const paths = await statePaths(opts);
    if (settings.sandboxMode === 'host') process.stderr.write(NO_SANDBOX_WARNING);
    const given = workspaceRequest(opts);
    await withCommandContext({ paths, ...given, database: 'write' }, async (ctx) => {
      const range =
        fromRun === null
          ? { tree: opts.compilerTree!, good: opts.good!, bad: opts.bad ?? 'HEAD', packages }
          : bisectRangeOfRun(ctx.db, fromRun, { tree: opts.compilerTree ?? null, packages });
      if (fromRun !== null)
        stderrOutput.notice(
          `bisect: from run #${fromRun}: ${range.packages.length} regression(s) (${range.packages.join(' ')}), ${range.good.slice(0, 12)} (good) .. ${range.bad.slice(0, 12)} (bad) in ${range.tree}`,
        );
      if (range.packages.length === 0) {
        process.stderr.write(`run #${fromRun} has no regression: nothing to bisect\n`);
        return;
      }
      // From a run and no repositories given: the run's own repositories.
      const stepCtx =
        fromRun !== null && (given.repositories ?? []).length === 0 && 'repositories' in range
          ? ctx.withWorkspace({ repositories: range.repositories as string[], config: undefined })
          : ctx;
      const summary = await runBisectSession(stepCtx, {
        plan: { ...plan, targets: range.packages },
        paths,
        settings,
        tree: range.tree,
        good: range.good,
        bad: range.bad,
        output: stderrOutput,
      });
      const text = renderBisectReport(summary, format, {
        colour: opts.output === undefined && format === 'terminal' && shouldUseColour(process.stdout, process.env),
      });
      if (opts.output === undefined) process.stdout.write(text);
      else {
        try {
          writeFileSync(opts.output, text);
        } catch (err) {
          throw new UsageError(`--output ${opts.output}: cannot write: ${err instanceof Error ? err.message : String(err)}`);
        }
        process.stderr.write(`report written to ${opts.output}\n`);
      }
      setExitCode(summary.interrupted ? EXIT.interrupted : bisectExitCode(summary));
    });
  });
};
