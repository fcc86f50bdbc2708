/**
 * `ecocheck solve NAME[.VERSION] --repo DIR --compiler SPEC [--json]`: the installation that makes
 * the package installable, in build order, with what each package is built against; or why there is
 * none (exit code 1). The solver is loaded when the action runs.
 */
import type { Command } from 'commander';
import { UsageError } from '../usage-error.js';
import {
  addCompilerOption,
  addPlatformOptions,
  addRepositoryOptions,
  addStateOptions,
  statePaths,
  workspaceRequest,
  type PlanOptions,
  type StateOptions,
} from '../options.js';
import type { RegisterCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';

interface SolveCliOptions extends PlanOptions, StateOptions {
  json?: boolean;
}

export const registerSolve: RegisterCommand = (program: Command, setExitCode) => {
  addStateOptions(
    addPlatformOptions(
      addCompilerOption(
        addRepositoryOptions(
          program
            .command('solve')
            .description('The installation of one package with a compiler, in build order (or why there is none)')
            .argument('<package>', 'NAME (its newest version) or NAME.VERSION'),
        ),
      ),
    ),
  )
    .option('--json', 'print JSON')
    .action(async (spec: string, opts: SolveCliOptions) => {
      if (opts.compiler === undefined) throw new UsageError('--compiler SPEC is required (e.g. --compiler 5.3.0)');
      const [{ packageId }, { openCommandContext }, { solvePackage }, { noBuildOrderReason }] = await Promise.all([
        import('../../opam/package-model.js'),
        import('../../session/command-context.js'),
        import('../../session/solver-queries.js'),
        import('../../solve/build-order.js'),
      ]);
      const ctx = await openCommandContext({ paths: await statePaths(opts), ...workspaceRequest(opts) });
      const { target, compilerText, outcome } = solvePackage(
        ctx,
        { compiler: opts.compiler, env: opts.env, withTest: opts.withTest === true, depexts: opts.depexts },
        spec,
      );
      const out = (s: string) => process.stdout.write(s);
      const id = packageId(target);
      if (!outcome.installable) setExitCode(EXIT.found);
      const cycle = outcome.installable ? outcome.solution.cycle : undefined;
      if (cycle !== undefined) {
        // The solver's installation has no build order: not installable, as plan and check say it.
        setExitCode(EXIT.found);
        const reason = noBuildOrderReason(id, cycle);
        if (opts.json === true)
          out(
            `${JSON.stringify({ package: id, compiler: compilerText === '' ? null : compilerText, installable: false, solverInstallable: true, cycle, reason }, null, 2)}\n`,
          );
        else out(`${id} is not installable with ${compilerText}: ${reason}\n`);
        return;
      }
      if (opts.json === true) {
        const body = outcome.installable
          ? {
              package: packageId(target),
              compiler: compilerText === '' ? null : compilerText,
              installable: true,
              packages: outcome.solution.packages.map((p) => ({
                package: packageId(p),
                buildDependencies: outcome.solution.buildDependencies.get(packageId(p)) ?? [],
              })),
            }
          : { package: packageId(target), compiler: compilerText === '' ? null : compilerText, installable: false, reason: outcome.reason };
        out(`${JSON.stringify(body, null, 2)}\n`);
        return;
      }
      if (!outcome.installable) {
        out(`${packageId(target)} is not installable with ${compilerText}: ${outcome.reason}\n`);
        return;
      }
      out(`${packageId(target)} with ${compilerText}: ${outcome.solution.packages.length} packages, in build order:\n`);
      for (const p of outcome.solution.packages) {
        const deps = outcome.solution.buildDependencies.get(packageId(p)) ?? [];
        out(`  ${packageId(p)}${deps.length > 0 ? `  <- ${deps.join(' ')}` : ''}\n`);
      }
    });
};
