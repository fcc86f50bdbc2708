/**
 * `ecocheck export RUN --output FILE [--logs]`: a recorded run as one file, for `ecocheck merge` elsewhere
 * (CI shards). The store and session layers are loaded when the action runs.
 */
import type { Command } from 'commander';
import type { RegisterCommand } from '../command.js';
import { parseRunId } from '../argument-parsers.js';
import { addStateOptions, statePaths, type StateOptions } from '../options.js';
import { UsageError } from '../usage-error.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

interface ExportOptions extends StateOptions {
  output?: string;
  logs?: boolean;
  layers?: boolean;
}

export const registerExport: RegisterCommand = (program: Command) => {
  addStateOptions(
    program
      .command('export')
      .description(
        'Write a recorded run (its targets, job records, cached results and, with --logs, its logs) to one file, to merge elsewhere',
      )
      .argument('<run>', 'the run (ecocheck runs lists them)')
      .option('--output <file>', 'the file to write')
      .option('--logs', "include the jobs' log files")
      .option('--layers', 'also write the layers of its ok jobs to FILE.layers.tar, so the merging machine can build on them'),
  ).action(async (run: string, opts: ExportOptions) => {
    const runId = parseRunId(run, 'run');
    const output = opts.output;
    if (output === undefined) throw new UsageError('--output FILE is required');
    const paths = await statePaths(opts);
    if (!existsSync(paths.database)) throw new UsageError(`no runs recorded yet (no database at ${paths.database})`);
    const [{ withCommandContext }, { exportRecordedRun }] = await Promise.all([
      import('../../session/command-context.js'),
      import('../../session/run-transfer.js'),
    ]);
    await withCommandContext({ paths, database: 'read' }, (ctx) => {
      // Absolute: the layers' tar is written from inside the store (tar -C), where a relative name would not be this one.
      const n = exportRecordedRun(ctx.db, runId, resolve(output), { logs: opts.logs === true, layers: opts.layers === true, paths });
      process.stderr.write(
        `run #${runId} exported to ${output}: ${n.targets} targets, ${n.jobs} job records${opts.logs === true ? ', with logs' : ''}${n.layers !== null ? `; ${n.layers} layers in ${output}.layers.tar` : ''}\n`,
      );
    });
  });
};
