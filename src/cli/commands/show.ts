/**
 * `ecocheck show NAME[.VERSION] --repo DIR [--json]`: one package as ecocheck reads it (the newest
 * version when none is given), formulas, filters and commands printed back in opam syntax
 * (src/cli/package-text.ts). The opam layer is loaded when the action runs.
 */
import type { Command as CommanderCommand } from 'commander';
import { UsageError } from '../usage-error.js';
import { addRepositoryOptions } from '../options.js';
import type { RegisterCommand } from '../command.js';

interface ShowOptions {
  repo: string[];
  json?: boolean;
}

export const registerShow: RegisterCommand = (program: CommanderCommand) => {
  addRepositoryOptions(
    program
      .command('show')
      .description('show one package as ecocheck reads it (the newest version when none is given)')
      .argument('<package>', 'NAME or NAME.VERSION'),
    false,
  )
    .option('--json', 'print one JSON object')
    .action(async (spec: string, opts: ShowOptions) => {
      if (opts.repo.length === 0) throw new UsageError('--repo DIR is required (an opam repository)');
      const [{ parsePackageSpec }, { findPackage, loadRepositories }, { packageToJson, textLines }] = await Promise.all([
        import('../../opam/package-spec.js'),
        import('../../opam/repository.js'),
        import('../package-text.js'),
      ]);
      const parsed = parsePackageSpec(spec);
      if (parsed === null) throw new UsageError(`${spec}: not a package: expected NAME or NAME.VERSION`);
      const { name } = parsed;
      const version = parsed.version ?? undefined;
      const load = loadRepositories(opts.repo);
      const versions = load.packages.get(name);
      if (!versions) throw new UsageError(`unknown package ${name}`);
      const p = findPackage(load, name, version);
      if (!p) throw new UsageError(`unknown version ${spec} (versions of ${name}: ${versions.map((v) => v.version).join(' ')})`);
      const j = packageToJson(
        p,
        versions.map((v) => v.version),
      );
      process.stdout.write(opts.json ? `${JSON.stringify(j, null, 2)}\n` : `${textLines(j).join('\n')}\n`);
    });
};
