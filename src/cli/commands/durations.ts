/**
 * `ecocheck durations --output FILE [--run RUN]…`: the build durations recorded here (of the given runs,
 * else of every run) written as a durations file, for the shards of a later check to split its plan
 * with (`check --shard I/N --durations FILE`, `plan --predict --durations FILE`): every shard reads the
 * same file, so every shard computes the same partition. The session is loaded when the action runs.
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { RegisterCommand } from '../command.js';
import { collect, addStateOptions, statePaths, type StateOptions } from '../options.js';
import { parseRunId } from '../argument-parsers.js';
import { UsageError } from '../usage-error.js';

export const registerDurations: RegisterCommand = (program: Command) => {
  addStateOptions(
    program
      .command('durations')
      .description(
        'Write the build durations recorded here to a durations file, which every shard of a check splits its plan with (check --shard I/N --durations FILE)',
      )
      .option('--output <file>', 'the file to write')
      .option('--run <run>', 'only the durations of this run (repeatable; default: every run)', collect, []),
  ).action(async (opts: StateOptions & { output?: string; run: string[] }) => {
    if (opts.output === undefined) throw new UsageError('--output FILE is required');
    const runIds = opts.run.length === 0 ? null : opts.run.map((r) => parseRunId(r, '--run'));
    const paths = await statePaths(opts);
    const [{ formatDurations }, { hasDatabase, withCommandContext }, { recordedDurationsFile }] = await Promise.all([
      import('../../plan/durations-file.js'),
      import('../../session/command-context.js'),
      import('../../session/durations-export.js'),
    ]);
    const recorded = hasDatabase(paths);
    if (!recorded && runIds !== null) throw new UsageError(`no runs recorded yet (no database at ${paths.database})`);
    const durations = await withCommandContext({ paths, database: recorded ? 'read' : undefined }, (ctx) =>
      recordedDurationsFile(ctx, runIds),
    );
    // Written whole or not at all: a shard never reads half a file.
    const tmp = `${opts.output}.${process.pid}.tmp`;
    writeFileSync(tmp, formatDurations(durations));
    renameSync(tmp, opts.output);
    process.stderr.write(`${durations.byPackage.size} package durations (${durations.byKey.size} jobs) written to ${opts.output}\n`);
  });
};
