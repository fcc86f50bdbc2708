/**
 * `ecocheck installable --repo DIR --compiler SPEC [--latest | --all-versions] [--json]`: for each
 * target, installable or not (with the reason), and totals.
 * `ecocheck installable --repo DIR --admin-check [--json]`: `opam admin check --installability`'s
 * verdict, with its split into "roots" and "dependents".
 */
import type { Command } from 'commander';
import { packageId } from '../../opam/package-model.js';
import { createSolver, type TargetResult } from '../../solve/package-solver.js';
import { DEFAULT_PLATFORM, parseEnvAssignments } from '../../solve/platform-env.js';
import { parseDepextsMode, resolveDepextsPolicy } from '../../solve/system/depexts.js';
import { loadProblems, openWorkspace, workspaceCompiler } from '../../session/workspace.js';
import { adminCheckInstallability } from '../../solve/admin-check.js';
import { UsageError } from '../usage-error.js';
import { addCompilerOption, addPlatformOptions, addRepositoryOptions, addSelectionOptions, type PlanOptions } from '../options.js';
import type { RegisterCommand } from '../command.js';

interface InstallableOptions extends PlanOptions {
  adminCheck?: boolean;
  ignoreTestDoc?: boolean;
  json?: boolean;
}


export const registerInstallable: RegisterCommand = (program: Command) => {
  addPlatformOptions(
    addSelectionOptions(addCompilerOption(addRepositoryOptions(program.command('installable').description('Which package versions are installable with a compiler (or, with --admin-check, at all), and why not')))),
  )
    .option('--admin-check', 'opam admin check --installability: every package available, no compiler')
    .option('--ignore-test-doc', 'with --admin-check: with-test / with-doc dependencies ignored (opam admin check -i)')
    .option('--json', 'print JSON')
    .action((opts: InstallableOptions) => {
      if (opts.latest === true && opts.allVersions === true) throw new UsageError('give either --latest or --all-versions');
      const env = parseEnvAssignments(opts.env);
      if (opts.adminCheck === true) {
        if (opts.compiler !== undefined) throw new UsageError('--admin-check checks every package without a compiler: drop --compiler');
        if (opts.latest === true) throw new UsageError('--admin-check checks every version: drop --latest');
      } else if (opts.compiler === undefined) {
        throw new UsageError('--compiler SPEC is required (e.g. --compiler 5.3.0), or --admin-check');
      }
      if (opts.ignoreTestDoc === true && opts.adminCheck !== true) throw new UsageError('--ignore-test-doc goes with --admin-check');
      const depextsMode = parseDepextsMode(opts.depexts);
      if (opts.adminCheck === true && depextsMode !== undefined && depextsMode !== 'ignore') {
        throw new UsageError(`--depexts ${depextsMode}: --admin-check never asks the host (as opam admin check)`);
      }
      const depexts = opts.adminCheck === true ? null : resolveDepextsPolicy(depextsMode, { ...DEFAULT_PLATFORM, ...env });
      const ws = openWorkspace({ repositories: opts.repo, config: opts.config, pins: opts.pin });
      const problems = loadProblems(ws.load);
      for (const p of problems.slice(0, 5)) process.stderr.write(`ecocheck: warning: skipped ${p}\n`);
      if (problems.length > 5) process.stderr.write(`ecocheck: warning: … ${problems.length - 5} more unreadable opam files skipped\n`);
      const compiler = opts.compiler === undefined ? '' : workspaceCompiler(ws, opts.compiler).spec;
      const solver = createSolver(ws.load, {
        compiler,
        env,
        withTest: opts.withTest === true,
        adminCheck: opts.adminCheck === true,
        ignoreTestDoc: opts.ignoreTestDoc === true,
        systemPackages: depexts?.manager,
      });
      const out = (s: string) => process.stdout.write(s);
      if (opts.adminCheck === true) {
        const r = adminCheckInstallability(solver);
        const reasons = new Map(r.uninstallable.map((p) => [p, solver.solve(p)] as const));
        const reasonOf = (p: (typeof r.uninstallable)[number]) => {
          const o = reasons.get(p);
          return o !== undefined && !o.installable ? o.reason : '';
        };
        if (opts.json === true) {
          out(
            `${JSON.stringify(
              {
                mode: 'admin-check',
                packages: r.total,
                installable: r.total - r.uninstallable.length,
                uninstallable: r.uninstallable.length,
                roots: r.roots.map(packageId),
                dependents: r.dependents.map(packageId),
                results: r.uninstallable.map((p) => ({ package: packageId(p), installable: false, reason: reasonOf(p) })),
              },
              null,
              2,
            )}\n`,
          );
        } else {
          out(`${r.total} packages: ${r.total - r.uninstallable.length} installable, ${r.uninstallable.length} not\n`);
          out(`Not installable on their own (${r.roots.length}):\n`);
          for (const p of r.roots) out(`  ${packageId(p)}: ${reasonOf(p)}\n`);
          out(`Not installable because they need one of those (${r.dependents.length}):\n`);
          for (const p of r.dependents) out(`  ${packageId(p)}: ${reasonOf(p)}\n`);
        }
        return;
      }
      const results: TargetResult[] = solver.installableTargets(opts.allVersions === true ? 'all-versions' : 'latest');
      const ok = results.filter((r) => r.outcome.installable).length;
      if (opts.json === true) {
        out(
          `${JSON.stringify(
            {
              compiler: solver.invariant?.text ?? null,
              installable: ok,
              uninstallable: results.length - ok,
              results: results.map(({ pkg, outcome }) =>
                outcome.installable
                  ? { package: packageId(pkg), installable: true, reason: '' }
                  : { package: packageId(pkg), installable: false, reason: outcome.reason },
              ),
            },
            null,
            2,
          )}\n`,
        );
      } else {
        for (const { pkg, outcome } of results) {
          out(outcome.installable ? `${packageId(pkg)}: installable\n` : `${packageId(pkg)}: NOT installable: ${outcome.reason}\n`);
        }
        out(`\n${results.length} targets with ${solver.invariant?.text ?? ''}: ${ok} installable, ${results.length - ok} not\n`);
      }
    });
};
