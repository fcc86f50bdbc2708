/**
 * `ecocheck solve NAME[.VERSION] --repo DIR --compiler SPEC [--json]`: the installation that makes
 * the package installable, in build order, with what each package is built against; or why there is
 * none (exit code 1).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadRepositories } from '../../opam/repository.js';
import { packageId, type OpamPackage } from '../../opam/package-model.js';
import { compareVersions } from '../../opam/version.js';
import { createSolver } from '../../solve/package-solver.js';
import { DEFAULT_PLATFORM, parseEnvAssignments } from '../../solve/platform-env.js';
import { DEPEXTS_OPTION_HELP, parseDepextsMode, resolveDepextsPolicy } from '../../solve/system/depexts.js';
import { UsageError } from '../../errors/usage-error.js';
import { collect } from '../repeatable-option.js';
import type { RegisterCommand } from './index.js';

interface SolveCliOptions {
  repo: string[];
  compiler?: string;
  env: string[];
  withTest?: boolean;
  depexts?: string;
  json?: boolean;
}


/** `NAME` (its newest version) or `NAME.VERSION`; a known name wins over a split at its first dot. */
function findTarget(spec: string, packages: ReadonlyMap<string, readonly OpamPackage[]>): OpamPackage {
  const versionsOf = (name: string) => [...(packages.get(name) ?? [])].sort((a, b) => compareVersions(a.version, b.version));
  const whole = versionsOf(spec);
  if (whole.length > 0) return whole[whole.length - 1];
  const dot = spec.indexOf('.');
  if (dot > 0) {
    const name = spec.slice(0, dot);
    const version = spec.slice(dot + 1);
    const versions = versionsOf(name);
    if (versions.length > 0) {
      const p = versions.find((v) => v.version === version);
      if (p === undefined) throw new UsageError(`unknown version ${spec}: ${name} has ${versions.map((v) => v.version).join(', ')}`);
      return p;
    }
  }
  throw new UsageError(`unknown package ${spec}`);
}

export const registerSolve: RegisterCommand = (program: Command, setExitCode) => {
  program
    .command('solve')
    .description('The installation of one package with a compiler, in build order (or why there is none)')
    .argument('<package>', 'NAME (its newest version) or NAME.VERSION')
    .option('--repo <dir>', 'an opam repository; repeat to layer several, the first wins', collect, [])
    .option('--compiler <spec>', 'the compiler: a version (5.3.0), NAME.VERSION, or an opam formula')
    .option('--env <var=value>', 'set or override a platform variable', collect, [])
    .option('--with-test', "include the package's with-test dependencies")
    .option('--depexts <mode>', DEPEXTS_OPTION_HELP)
    .option('--json', 'print JSON')
    .action((spec: string, opts: SolveCliOptions) => {
      if (opts.repo.length === 0) throw new UsageError('--repo DIR is required (an opam repository)');
      if (opts.compiler === undefined) throw new UsageError('--compiler SPEC is required (e.g. --compiler 5.3.0)');
      const env = parseEnvAssignments(opts.env);
      const depexts = resolveDepextsPolicy(parseDepextsMode(opts.depexts), { ...DEFAULT_PLATFORM, ...env });
      const load = loadRepositories(opts.repo.map((r) => resolve(r)));
      const target = findTarget(spec, load.packages);
      const solver = createSolver(load, { compiler: opts.compiler, env, withTest: opts.withTest === true, systemPackages: depexts.manager });
      const outcome = solver.solve(target);
      const out = (s: string) => process.stdout.write(s);
      if (!outcome.installable) setExitCode(1);
      if (opts.json === true) {
        const body = outcome.installable
          ? {
              package: packageId(target),
              compiler: solver.invariant?.text ?? null,
              installable: true,
              packages: outcome.solution.packages.map((p) => ({
                package: packageId(p),
                buildDependencies: outcome.solution.buildDependencies.get(packageId(p)) ?? [],
              })),
            }
          : { package: packageId(target), compiler: solver.invariant?.text ?? null, installable: false, reason: outcome.reason };
        out(`${JSON.stringify(body, null, 2)}\n`);
        return;
      }
      if (!outcome.installable) {
        out(`${packageId(target)} is not installable with ${solver.invariant?.text ?? ''}: ${outcome.reason}\n`);
        return;
      }
      out(`${packageId(target)} with ${solver.invariant?.text ?? ''}: ${outcome.solution.packages.length} packages, in build order:\n`);
      for (const p of outcome.solution.packages) {
        const deps = outcome.solution.buildDependencies.get(packageId(p)) ?? [];
        out(`  ${packageId(p)}${deps.length > 0 ? `  <- ${deps.join(' ')}` : ''}\n`);
      }
    });
};
