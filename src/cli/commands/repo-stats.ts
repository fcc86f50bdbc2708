/**
 * `ecocheck repo stats --repo DIR [--repo DIR2 …] [--json]`: loads the repositories (the first wins for
 * the same package version) and reports names, versions, parse errors, warnings and the load time.
 * Exit 1 when some file failed to load. The opam layer is loaded when the action runs.
 */
import type { Command } from 'commander';
import { UsageError } from '../usage-error.js';
import { addRepositoryOptions } from '../options.js';
import type { RegisterCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';

interface StatsOptions {
  repo: string[];
  json?: boolean;
}

export const registerRepoStats: RegisterCommand = (program: Command, setExitCode) => {
  const repo = program.command('repo').description('inspect opam repositories');
  addRepositoryOptions(
    repo
      .command('stats')
      .description('load the repositories and count names, versions, parse errors and warnings (exit 1 on parse errors)'),
    false,
  )
    .option('--json', 'print one JSON object')
    .action(async (opts: StatsOptions) => {
      if (opts.repo.length === 0) throw new UsageError('--repo DIR is required (an opam repository)');
      const { loadRepositories, versionCount } = await import('../../opam/repository.js');
      const load = loadRepositories(opts.repo);
      const versions = versionCount(load);
      if (load.errors.length > 0) setExitCode(EXIT.found);
      if (opts.json) {
        const out = {
          roots: load.roots,
          packages: load.packages.size,
          versions,
          files: load.fileCount,
          errors: load.errors,
          warnings: load.warnings,
          loadMs: Math.round(load.loadMs),
        };
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      const lines = [
        `repositories: ${load.roots.join(', ')}`,
        `package names: ${load.packages.size}`,
        `package versions: ${versions}`,
        `opam files: ${load.fileCount}`,
        `parse errors: ${load.errors.length}`,
      ];
      for (const e of load.errors) lines.push(`  ${e.file}:${e.line}:${e.column}: ${e.message}`);
      lines.push(`warnings: ${load.warnings.length}`);
      for (const w of load.warnings) lines.push(`  ${w.file}: ${w.message}`);
      lines.push(`load time: ${Math.round(load.loadMs)} ms`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
};
