/** `ecocheck runs`: the recorded runs, newest first, with their status counts (the store loaded when the action runs). */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { parsePositiveInt } from '../argument-parsers.js';
import { addStateOptions, statePaths } from '../options.js';
import type { RegisterCommand } from '../command.js';

export const registerRuns: RegisterCommand = (program: Command) => {
  addStateOptions(program.command('runs').description('List the recorded runs, newest first'))
    .option('--limit <n>', 'show at most N runs', '20')
    .option('--json', 'print JSON')
    .action(async (opts: { stateDir?: string; limit: string; json?: boolean }) => {
      const limit = parsePositiveInt(opts.limit, '--limit');
      const paths = await statePaths({ stateDir: opts.stateDir });
      if (!existsSync(paths.database)) {
        if (opts.json) process.stdout.write('[]\n');
        else process.stdout.write(`no runs recorded yet (no database at ${paths.database})\n`);
        return;
      }
      const [{ withCommandContext }, { listRecordedRuns }] = await Promise.all([
        import('../../session/command-context.js'),
        import('../../session/run-listing.js'),
      ]);
      const runs = await withCommandContext({ paths, database: 'read' }, (ctx) => listRecordedRuns(ctx.db, limit));
      if (opts.json) {
        process.stdout.write(JSON.stringify(runs, null, 2) + '\n');
        return;
      }
      if (runs.length === 0) {
        process.stdout.write('no runs recorded yet\n');
        return;
      }
      const rows = runs.map((r) => [
        `#${r.id}`,
        r.kind,
        r.status,
        r.compilerSpec,
        r.startedAt.replace('T', ' ').slice(0, 19),
        r.finishedAt ? `${Math.round((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000)}s` : '-',
        `${r.targetCount} targets, ${r.jobCount} jobs`,
        Object.entries(r.counts.targets)
          .sort()
          .map(([s, n]) => `${s} ${n}`)
          .join(', ') + (r.counts.cacheHits ? `; ${r.counts.cacheHits} cached jobs` : ''),
      ]);
      const header = ['run', 'kind', 'status', 'compiler', 'started (UTC)', 'time', 'size', 'targets by status'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
      const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ') + '\n';
      process.stdout.write(line(header));
      for (const row of rows) process.stdout.write(line(row));
    });
};
