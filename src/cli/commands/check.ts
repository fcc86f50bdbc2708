/**
 * `ecocheck check`: builds the targets against a compiler and records the run (src/session/check.ts);
 * `--baseline` records the baseline, any other run is compared with it and its regressions reported.
 * Ctrl-C stops the builds, records the run as interrupted and exits 130; the next check resumes.
 * The session, store and report layers are loaded when the action runs, once its flags are read.
 */
import type { Command } from 'commander';
import type { RegisterCommand } from '../command.js';
import { parseCount, parsePositiveInt, parseRunId } from '../argument-parsers.js';
import type { RevdepsRequest } from '../../session/revdeps-targets.js';
import { EXIT } from '../exit-codes.js';
import {
  addBuildOptions,
  addDurationsOption,
  addPlanOptions,
  buildSettings,
  NO_SANDBOX_WARNING,
  planRequest,
  statePaths,
  workspaceRequest,
  type BuildOptions,
  type PlanOptions,
} from '../options.js';
import { UsageError } from '../usage-error.js';

interface CheckOptions extends PlanOptions, BuildOptions {
  baseline?: boolean;
  against?: string;
  retries: string;
  revdeps?: string;
  revdepsDepth?: string;
  shard?: string;
  durations?: string;
  changedSince?: string;
}

/** `--revdeps NAME [--revdeps-depth N|all]`. */
function depthOf(opts: CheckOptions): number {
  return opts.revdepsDepth === undefined
    ? 1
    : opts.revdepsDepth === 'all'
      ? Infinity
      : parsePositiveInt(opts.revdepsDepth, '--revdeps-depth');
}

function revdepsOf(opts: CheckOptions): RevdepsRequest | null {
  if (opts.revdeps === undefined) {
    if (opts.revdepsDepth !== undefined && opts.changedSince === undefined)
      throw new UsageError('--revdeps-depth goes with --revdeps NAME or --changed-since DIR');
    return null;
  }
  return { name: opts.revdeps, depth: depthOf(opts) };
}

export const registerCheck: RegisterCommand = (program: Command, setExitCode) => {
  addDurationsOption(
    addBuildOptions(
      addPlanOptions(
        program
          .command('check')
          .description(
            'Build the targets against a compiler and record the run; --baseline records the baseline, any other run is compared with it and its regressions reported (exit 1)',
          ),
      ),
    ),
    'with --shard',
  )
    .option('--baseline', 'record this run as the baseline (the compiler defaults to the name "baseline")')
    .option(
      '--against <run>',
      'compare with this run instead of the newest baseline of the same targets and repositories (or of the repositories behind --repo overlays)',
    )
    .option('--retries <n>', 'build the regressions again N times to tell flaky failures from real ones', '1')
    .option(
      '--revdeps <name>',
      'check NAME and the packages whose latest installable version depends on it (with --pin: the change of NAME against its release)',
    )
    .option(
      '--changed-since <dir>',
      'an opam-repository change (a pull request): DIR is the base checkout of the first --repo; what the change touches, and what depends on it (--revdeps-depth), built on the base as the baseline, then on the change',
    )
    .option(
      '--shard <i/n>',
      'build only shard I of N of the plan (split by dependency cones, balanced by --durations FILE or the stated estimate, each closed under its dependencies), for N CI runners; export the run and merge the shards to compare',
    )
    .option('--revdeps-depth <n>', 'with --revdeps: also what depends on those, up to N steps away (all: the whole cone)')
    .action(async (targets: string[], opts: CheckOptions) => {
      if (opts.baseline === true && opts.against !== undefined) throw new UsageError('--baseline and --against do not go together');
      if (opts.changedSince !== undefined && opts.revdeps !== undefined)
        throw new UsageError('--changed-since finds its own targets: give --revdeps-depth alone');
      if (opts.durations !== undefined && opts.shard === undefined)
        throw new UsageError('--durations goes with --shard I/N (the durations every shard splits the plan with)');
      if (opts.compiler === undefined && opts.baseline !== true)
        throw new UsageError('--compiler SPEC is required (e.g. --compiler next), or --baseline to record the baseline');
      const plan = planRequest(targets, { ...opts, compiler: opts.compiler ?? 'baseline' });
      const settings = buildSettings(opts, { env: plan.env as string[], withTest: plan.withTest });
      const retries = parseCount(opts.retries, '--retries');
      const against = opts.against === undefined ? null : parseRunId(opts.against, '--against');
      const revdeps = revdepsOf(opts);
      const [
        { parseShardSpec },
        { readDurationsFile },
        { reportDestination, writeComparisonReport, writeRunReport },
        { withCommandContext },
        { runCheck },
        { printRunCounts, stderrOutput },
      ] = await Promise.all([
        import('../../plan/shard.js'),
        import('../../plan/durations-file.js'),
        import('../report-output.js'),
        import('../../session/command-context.js'),
        import('../../session/check.js'),
        import('../run-progress-output.js'),
      ]);
      const shard =
        opts.shard === undefined
          ? null
          : { ...parseShardSpec(opts.shard), durations: opts.durations === undefined ? null : readDurationsFile(opts.durations) };
      const dest = reportDestination(opts);
      const paths = await statePaths(opts);
      if (settings.sandboxMode === 'host') process.stderr.write(NO_SANDBOX_WARNING);
      // One context for the whole check: the repositories loaded once, each solver built once, one database handle.
      await withCommandContext({ paths, ...workspaceRequest(opts), database: 'write' }, async (ctx) => {
        const changedSince = opts.changedSince === undefined ? null : { base: opts.changedSince, depth: depthOf(opts) };
        const outcome = await runCheck(ctx, {
          plan,
          settings,
          baseline: opts.baseline === true,
          against,
          retries,
          revdeps,
          shard,
          changedSince,
          output: stderrOutput,
        });
        for (const r of outcome.runs) printRunCounts(r.done, r.compiler);
        if (outcome.interrupted) {
          setExitCode(EXIT.interrupted);
          return;
        }
        if (outcome.run === null) {
          process.stderr.write('the change touches no package: nothing to check\n');
          return;
        }
        if (outcome.comparison !== null) {
          setExitCode(writeComparisonReport(outcome.comparison, dest));
          return;
        }
        if (shard !== null)
          process.stderr.write(
            `shard ${shard.index}/${shard.count} recorded as run #${outcome.run.id}: ecocheck export ${outcome.run.id} --output FILE, then ecocheck merge the shards' files to compare\n`,
          );
        else if (outcome.run.kind === 'check')
          process.stderr.write(
            'no baseline to compare with: record one with `ecocheck check --baseline` (same repositories and targets)\n',
          );
        setExitCode(writeRunReport(outcome.summary!, outcome.run.kind, dest));
      });
    });
};
