/**
 * `ecocheck merge FILE…`: the exports of a check's shards merged into one run of this state's database,
 * the run one machine would have recorded. Refused (exit 2, nothing recorded) when a shard is missing or
 * the shards split different plans or partitions; exit 1 when a shard did not finish (the run is
 * recorded, and says so), 0 otherwise; merging the same files again finds the same run. The store and
 * session layers are loaded when the action runs.
 */
import type { Command } from 'commander';
import type { RegisterCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { addStateOptions, statePaths, type StateOptions } from '../options.js';

export const registerMerge: RegisterCommand = (program: Command, setExitCode) => {
  addStateOptions(
    program
      .command('merge')
      .description(
        "Merge the exports of a check's shards into one run (then ecocheck report compares it); refused when a shard is missing or the shards disagree, exit 1 when a shard failed",
      )
      .argument('<files...>', "the shards' export files (ecocheck export)"),
  )
    .option('--json', 'print the merge as JSON')
    .action(async (files: string[], opts: StateOptions & { json?: boolean }) => {
      const paths = await statePaths(opts);
      const [{ withCommandContext }, { mergeExportFiles }] = await Promise.all([
        import('../../session/command-context.js'),
        import('../../session/run-transfer.js'),
      ]);
      await withCommandContext({ paths, database: 'write' }, (ctx) => {
        const r = mergeExportFiles(ctx.db, files, paths);
        if (r.failedShards.length > 0) setExitCode(EXIT.found);
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
          return;
        }
        const out = process.stdout;
        out.write(
          `${r.created ? 'merged' : 'already merged'}: run #${r.runId} (${r.status}) from ${r.shards.length} of ${r.shardCount} shard(s): ${r.targetCount} targets, ${r.jobCount} jobs (${r.duplicatedJobs} built in more than one shard)\n`,
        );
        if (r.layersPlaced > 0) out.write(`${r.layersPlaced} layers from the shards' .layers.tar files are in the store\n`);
        for (const f of r.failedShards)
          out.write(`shard ${f.index} did not finish (${f.status}, ${f.source}): its unfinished jobs are missing\n`);
        for (const d of r.resolved)
          out.write(
            `${d.id}: shards ${d.records.map((x) => `${x.shard} ${x.status}${x.cached ? ' (cached)' : ''}`).join(', ')} disagree; kept shard ${d.kept}'s (${d.rule})\n`,
          );
        if (r.inconsistent.length > 0)
          out.write(`${r.inconsistent.length} record(s) disagree with the dependencies kept for them: see --json\n`);
        if (r.unlinked.length > 0) out.write(`not linked (no such run here): ${r.unlinked.join(', ')}\n`);
      });
    });
};
