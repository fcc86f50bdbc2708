/**
 * `ecocheck cache import FILE|DIR… [--repo DIR …]`: stores files in the download cache under each of
 * their checksums (md5, sha256, sha512), as a fetch would have stored them, so that builds find them
 * without the network. With `--repo`, says which package versions of those repositories each file
 * serves (their `url` or an `extra-source` names one of its checksums, and every checksum given
 * agrees). A directory is walked; files already there are kept. Exit 1 when nothing was imported.
 * The session layer is loaded when the action runs.
 */
import type { Command } from 'commander';
import { addRepositoryOptions, addStateOptions, statePaths } from '../options.js';
import type { RegisterCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';

interface ImportOptions {
  repo: string[];
  stateDir?: string;
  cacheDir?: string;
  json?: boolean;
}

export const registerCache: RegisterCommand = (program: Command, setExitCode) => {
  const cache = program.command('cache').description('the download cache (an offline mirror of sources)');
  addStateOptions(
    addRepositoryOptions(
      cache
        .command('import')
        .description(
          'store files (or every file under directories) in the download cache under all their checksums; with --repo, say which package versions each serves',
        )
        .argument('<paths...>', 'files or directories to import'),
      false,
    ),
    true,
  )
    .option('--json', 'print one JSON object')
    .action(async (paths: string[], opts: ImportOptions) => {
      const { downloadCache, repositoryCache } = await statePaths(opts);
      const { importIntoCache } = await import('../../session/cache-import.js');
      const { cache: root, imported } = await importIntoCache(paths, downloadCache, opts.repo, repositoryCache);
      if (imported.length === 0) setExitCode(EXIT.found);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ cache: root, files: imported }, null, 2)}\n`);
        return;
      }
      const lines: string[] = [];
      for (const i of imported) {
        const sha256 = i.checksums.find((c) => c.algorithm === 'sha256')?.hex ?? '';
        lines.push(
          `${i.file}: sha256=${sha256.slice(0, 16)}…${opts.repo.length > 0 ? `, serves ${i.serves.length > 0 ? i.serves.join(', ') : 'no package version of the repositories'}` : ''}`,
        );
      }
      const serving = imported.filter((i) => i.serves.length > 0).length;
      lines.push(
        `${imported.length} file(s) imported into ${root}${opts.repo.length > 0 ? `; ${serving} serve package versions of ${opts.repo.join(', ')}` : ''}`,
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    });
};
