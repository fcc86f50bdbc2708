/**
 * `ecocheck solve NAME[.VERSION] --repo DIR --compiler SPEC [--json]`: the installation that makes
 * the package installable, in build order, with what each package is built against; or why there is
 * none (exit code 1).
 */
import type { Command } from 'commander';
import { packageId, type OpamPackage } from '../../opam/package-model.js';
import { compareVersions } from '../../opam/version.js';
import { createSolver } from '../../solve/package-solver.js';
import { DEFAULT_PLATFORM, parseEnvAssignments } from '../../solve/platform-env.js';
import { parseDepextsMode, resolveDepextsPolicy } from '../../solve/system/depexts.js';
import { parsePackageSpec } from '../../opam/package-spec.js';
import { openWorkspace, workspaceCompiler } from '../../session/workspace.js';
import { UsageError } from '../usage-error.js';
import { addCompilerOption, addPlatformOptions, addRepositoryOptions, type PlanOptions } from '../options.js';
import type { RegisterCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';

interface SolveCliOptions extends PlanOptions {
  json?: boolean;
}


/** `NAME` (its newest version) or `NAME.VERSION`. */
function findTarget(spec: string, packages: ReadonlyMap<string, readonly OpamPackage[]>): OpamPackage {
  const parsed = parsePackageSpec(spec);
  if (parsed === null) throw new UsageError(`${spec}: not a package: expected NAME or NAME.VERSION`);
  const versions = [...(packages.get(parsed.name) ?? [])].sort((a, b) => compareVersions(a.version, b.version));
  if (versions.length === 0) throw new UsageError(`unknown package ${parsed.name}`);
  if (parsed.version === null) return versions[versions.length - 1];
  const p = versions.find((v) => v.version === parsed.version);
  if (p === undefined) throw new UsageError(`unknown version ${spec}: ${parsed.name} has ${versions.map((v) => v.version).join(', ')}`);
  return p;
}

export const registerSolve: RegisterCommand = (program: Command, setExitCode) => {
  addPlatformOptions(
    addCompilerOption(
      addRepositoryOptions(
        program
          .command('solve')
          .description('The installation of one package with a compiler, in build order (or why there is none)')
          .argument('<package>', 'NAME (its newest version) or NAME.VERSION'),
      ),
    ),
  )
    .option('--json', 'print JSON')
    .action((spec: string, opts: SolveCliOptions) => {
      if (opts.compiler === undefined) throw new UsageError('--compiler SPEC is required (e.g. --compiler 5.3.0)');
      const env = parseEnvAssignments(opts.env);
      const depexts = resolveDepextsPolicy(parseDepextsMode(opts.depexts), { ...DEFAULT_PLATFORM, ...env });
      const ws = openWorkspace({ repositories: opts.repo, config: opts.config, pins: opts.pin });
      const target = findTarget(spec, ws.load.packages);
      const compiler = workspaceCompiler(ws, opts.compiler);
      const solver = createSolver(ws.load, { compiler: compiler.spec, env, withTest: opts.withTest === true, systemPackages: depexts.manager });
      const outcome = solver.solve(target);
      const out = (s: string) => process.stdout.write(s);
      if (!outcome.installable) setExitCode(EXIT.found);
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
