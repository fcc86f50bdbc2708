/**
 * `ecocheck synthesize OUT --repo DIR [--repo DIR2 …] [--names N | NAME…]`: writes the synthetic
 * ecosystem of the repositories into OUT (session/synthetic-ecosystem.ts): the same names, versions and
 * solving fields, trivial builds, compiler packages left out. A slice: the named packages and their
 * dependency cone, or the N names most depended on and their cone; by default every package. A file that
 * does not parse is named (file:line:col) on stderr and skipped. The session layer is loaded when the
 * action runs.
 */
import type { Command } from 'commander';
import { UsageError } from '../usage-error.js';
import { addSynthesizeOptions, type SynthesizeOptions } from '../options.js';
import { parsePositiveInt } from '../argument-parsers.js';
import type { RegisterCommand } from '../command.js';

export const registerSynthesize: RegisterCommand = (program: Command) => {
  addSynthesizeOptions(
    program
      .command('synthesize')
      .description(
        'write a synthetic copy of opam repositories into OUT: the same names, versions, dependencies, conflicts and availability, trivial builds (one file per package), compiler packages left out',
      )
      .argument('<out>', 'a new or empty folder for the overlay repository')
      .argument('[names...]', 'only these packages and their dependency cone'),
  ).action(async (out: string, names: string[], opts: SynthesizeOptions) => {
    if (opts.repo.length === 0) throw new UsageError('--repo DIR is required (an opam repository)');
    if (opts.names !== undefined && names.length > 0) throw new UsageError('give either NAME… or --names N, not both');
    const top = opts.names === undefined ? null : parsePositiveInt(opts.names, '--names');
    const { readRepositoryFiles, synthesize, writeOverlay } = await import('../../session/synthetic-ecosystem.js');
    const eco = synthesize(
      readRepositoryFiles(opts.repo),
      top !== null ? { kind: 'top', count: top } : names.length > 0 ? { kind: 'names', names } : { kind: 'all' },
    );
    writeOverlay(out, eco, opts.repo);
    for (const s of eco.skipped) process.stderr.write(`ecocheck: skipped ${s.file}:${s.line}:${s.column}: ${s.message}\n`);
    const names_ = new Set(eco.packages.map((p) => p.name)).size;
    const lines = [`wrote ${eco.packages.length} package version(s) of ${names_} name(s) to ${out}`];
    if (eco.compilerNames.length > 0)
      lines.push(
        `left out ${eco.compilerNames.length} compiler name(s), for the repositories behind the overlay: ${eco.compilerNames.join(' ')}`,
      );
    if (eco.missingNames.length > 0)
      lines.push(`${eco.missingNames.length} name(s) depended on but defined nowhere: ${eco.missingNames.join(' ')}`);
    if (eco.skipped.length > 0) lines.push(`skipped ${eco.skipped.length} file(s) that do not parse (listed on stderr)`);
    process.stdout.write(`${lines.join('\n')}\n`);
  });
};
