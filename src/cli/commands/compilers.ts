/**
 * `ecocheck compilers`: what each compiler name resolves to — baseline, next and system, and the names
 * of ecocheck.json — and the compiler packages that satisfy it. The solver, the session layer and
 * cli-table3 are loaded when the action runs.
 */
import type { Command } from 'commander';
import { EcocheckError } from '../../errors/ecocheck-error.js';
import type { CompilerResolution } from '../../session/compiler-choice.js';
import { addRepositoryOptions, statePaths, workspaceRequest } from '../options.js';
import { errorLine } from '../exit-codes.js';
import type { RegisterCommand } from '../command.js';

interface CompilersOptions {
  compiler?: string;
  repo: string[];
  config?: string;
  json?: boolean;
}

interface Row extends CompilerResolution {
  packages: string[];
  error: string | null;
}

export const registerCompilers: RegisterCommand = (program: Command) => {
  addRepositoryOptions(
    program
      .command('compilers')
      .description('Show what each compiler name (baseline, next, system, those of ecocheck.json, and --compiler) resolves to')
      .option('--compiler <spec>', 'also resolve this spec, name or local source tree'),
  )
    .option('--json', 'print JSON')
    .action(async (opts: CompilersOptions) => {
      const [{ resolveCompilerSpec }, { openCommandContext }, { default: Table }] = await Promise.all([
        import('../../solve/package-solver.js'),
        import('../../session/command-context.js'),
        import('cli-table3'),
      ]);
      const ctx = await openCommandContext({ paths: await statePaths({}), ...workspaceRequest(opts) });
      const { config, repositories: roots } = ctx.workspace;
      const load = ctx.load('pinned');
      const names = [
        ...new Set([
          'baseline',
          'next',
          'system',
          ...Object.keys(config.compilers),
          ...(opts.compiler !== undefined ? [opts.compiler] : []),
        ]),
      ];
      const rows: Row[] = names.map((name) => {
        try {
          const r = ctx.compiler(name);
          const invariant = resolveCompilerSpec(load, r.spec);
          return { ...r, packages: invariant.candidates.map((p) => `${p.name}.${p.version}`), error: null };
        } catch (err) {
          if (!(err instanceof EcocheckError)) throw err;
          return { name, spec: '', origin: '', packages: [], error: errorLine(err) };
        }
      });
      if (opts.json) {
        process.stdout.write(JSON.stringify({ repositories: roots, config: config.file, compilers: rows }, null, 2) + '\n');
        return;
      }
      const table = new Table({
        head: ['Name', 'Spec', 'From', 'Packages'],
        style: { head: [], border: [] },
        wordWrap: true,
        colWidths: [22, 32, 44, 34],
      });
      for (const r of rows) table.push(r.error === null ? [r.name, r.spec, r.origin, r.packages.join(' ')] : [r.name, '-', r.error, '']);
      process.stdout.write(`${table.toString()}\n`);
    });
};
