/**
 * `ecocheck compilers`: what each compiler name resolves to — baseline, next and system, and the names
 * of ecocheck.json — and the compiler packages that satisfy it.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import Table from 'cli-table3';
import { loadRepositories } from '../../opam/repository.js';
import { resolveCompilerSpec } from '../../solve/package-solver.js';
import { projectConfigFor } from '../project-config.js';
import { resolveCompiler, type CompilerResolution } from '../compiler-names.js';
import { UsageError } from '../../errors/usage-error.js';
import { collect } from '../repeatable-option.js';
import type { RegisterCommand } from './index.js';

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
  program
    .command('compilers')
    .description('Show what each compiler name (baseline, next, system, those of ecocheck.json, and --compiler) resolves to')
    .option('--compiler <spec>', 'also resolve this spec, name or local source tree')
    .option('--repo <dir>', 'an opam repository; repeat to layer several, the first wins', collect, [])
    .option('--config <file>', 'the project config (default: ./ecocheck.json when present)')
    .option('--json', 'print JSON')
    .action((opts: CompilersOptions) => {
      const config = projectConfigFor(opts);
      const roots = opts.repo.length > 0 ? opts.repo.map((r) => resolve(r)) : config.repositories;
      if (roots.length === 0) throw new UsageError('no repository: pass --repo DIR or list "repositories" in ecocheck.json');
      const load = loadRepositories(roots);
      const names = [...new Set(['baseline', 'next', 'system', ...Object.keys(config.compilers), ...(opts.compiler !== undefined ? [opts.compiler] : [])])];
      const rows: Row[] = names.map((name) => {
        try {
          const r = resolveCompiler(name, config.compilers, load);
          const invariant = resolveCompilerSpec(load, r.spec);
          return { ...r, packages: invariant.candidates.map((p) => `${p.name}.${p.version}`), error: null };
        } catch (err) {
          if (!(err instanceof UsageError)) throw err;
          return { name, spec: '', origin: '', packages: [], error: err.message };
        }
      });
      if (opts.json) {
        process.stdout.write(JSON.stringify({ repositories: roots, config: config.file, compilers: rows }, null, 2) + '\n');
        return;
      }
      const table = new Table({ head: ['Name', 'Spec', 'From', 'Packages'], style: { head: [], border: [] }, wordWrap: true, colWidths: [22, 32, 44, 34] });
      for (const r of rows) table.push(r.error === null ? [r.name, r.spec, r.origin, r.packages.join(' ')] : [r.name, '-', r.error, '']);
      process.stdout.write(`${table.toString()}\n`);
    });
};
