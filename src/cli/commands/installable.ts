/**
 * `ecocheck installable --compiler SPEC [--latest | --all-versions] [--json]`: for each target,
 * installable or not (with the reason), and totals.
 * `ecocheck installable --admin-check [--json]`: `opam admin check --installability`'s verdict, with its
 * split into "roots" and "dependents". The solver is loaded when the action runs.
 * A package the solver installs through a dependency cycle keeps its verdict (installable, as opam's
 * solver says) and is listed apart: it has no build order (`plan`, `check` and `solve` refuse it).
 */
import type { Command } from 'commander';
import type { RegisterCommand } from '../command.js';
import {
  addCompilerOption,
  addPlatformOptions,
  addRepositoryOptions,
  addSelectionOptions,
  addStateOptions,
  statePaths,
  workspaceRequest,
  type PlanOptions,
  type StateOptions,
} from '../options.js';
import { UsageError } from '../usage-error.js';

interface InstallableOptions extends PlanOptions, StateOptions {
  adminCheck?: boolean;
  ignoreTestDoc?: boolean;
  json?: boolean;
}

function printLoadProblems(problems: readonly string[]): void {
  for (const p of problems.slice(0, 5)) process.stderr.write(`ecocheck: warning: skipped ${p}\n`);
  if (problems.length > 5) process.stderr.write(`ecocheck: warning: … ${problems.length - 5} more unreadable opam files skipped\n`);
}

export const registerInstallable: RegisterCommand = (program: Command) => {
  addStateOptions(
    addPlatformOptions(
      addSelectionOptions(
        addCompilerOption(
          addRepositoryOptions(
            program
              .command('installable')
              .description('Which package versions are installable with a compiler (or, with --admin-check, at all), and why not'),
          ),
        ),
      ),
    ),
  )
    .option('--admin-check', 'opam admin check --installability: every package available, no compiler')
    .option('--ignore-test-doc', 'with --admin-check: with-test / with-doc dependencies ignored (opam admin check -i)')
    .option('--json', 'print JSON')
    .action(async (opts: InstallableOptions) => {
      if (opts.latest === true && opts.allVersions === true) throw new UsageError('give either --latest or --all-versions');
      if (opts.adminCheck === true) {
        if (opts.compiler !== undefined) throw new UsageError('--admin-check checks every package without a compiler: drop --compiler');
        if (opts.latest === true) throw new UsageError('--admin-check checks every version: drop --latest');
      } else if (opts.compiler === undefined) {
        throw new UsageError('--compiler SPEC is required (e.g. --compiler 5.3.0), or --admin-check');
      }
      if (opts.ignoreTestDoc === true && opts.adminCheck !== true) throw new UsageError('--ignore-test-doc goes with --admin-check');
      const [{ packageId }, { openCommandContext }, { adminCheck, installability }, { noBuildOrderReason }] = await Promise.all([
        import('../../opam/package-model.js'),
        import('../../session/command-context.js'),
        import('../../session/solver-queries.js'),
        import('../../solve/build-order.js'),
      ]);
      const ctx = await openCommandContext({ paths: await statePaths(opts), ...workspaceRequest(opts) });
      const req = { compiler: opts.compiler, env: opts.env, withTest: opts.withTest === true, depexts: opts.depexts };
      const out = (s: string) => process.stdout.write(s);
      if (opts.adminCheck === true) {
        const r = adminCheck(ctx, req, opts.ignoreTestDoc === true);
        printLoadProblems(r.loadProblems);
        const reasonOf = (p: (typeof r.uninstallable)[number]) => r.reasons.get(p) ?? '';
        if (opts.json === true) {
          const body = {
            mode: 'admin-check',
            packages: r.total,
            installable: r.total - r.uninstallable.length,
            uninstallable: r.uninstallable.length,
            roots: r.roots.map(packageId),
            dependents: r.dependents.map(packageId),
            results: r.uninstallable.map((p) => ({ package: packageId(p), installable: false, reason: reasonOf(p) })),
            // Installable (opam's verdict, kept), but with no build order: counted and listed apart.
            noBuildOrder: r.cycles.size,
            noBuildOrderResults: [...r.cycles].map(([p, cycle]) => ({
              package: packageId(p),
              installable: true,
              buildOrder: false,
              cycle,
              reason: noBuildOrderReason(packageId(p), cycle),
            })),
          };
          out(`${JSON.stringify(body, null, 2)}\n`);
        } else {
          out(`${r.total} packages: ${r.total - r.uninstallable.length} installable, ${r.uninstallable.length} not\n`);
          out(`Not installable on their own (${r.roots.length}):\n`);
          for (const p of r.roots) out(`  ${packageId(p)}: ${reasonOf(p)}\n`);
          out(`Not installable because they need one of those (${r.dependents.length}):\n`);
          for (const p of r.dependents) out(`  ${packageId(p)}: ${reasonOf(p)}\n`);
          if (r.cycles.size > 0) {
            out(`Installable, but with no build order (${r.cycles.size}):\n`);
            for (const [p, cycle] of r.cycles) out(`  ${packageId(p)}: ${noBuildOrderReason(packageId(p), cycle)}\n`);
          }
        }
        return;
      }
      const a = installability(ctx, req, opts.allVersions === true ? 'all-versions' : 'latest');
      printLoadProblems(a.loadProblems);
      const ok = a.results.filter((r) => r.outcome.installable).length;
      const cyclic = a.results.filter((r) => r.cycle !== undefined).length;
      if (opts.json === true) {
        const body = {
          compiler: a.compilerText === '' ? null : a.compilerText,
          installable: ok,
          uninstallable: a.results.length - ok,
          noBuildOrder: cyclic,
          results: a.results.map(({ pkg, outcome, cycle }) =>
            !outcome.installable
              ? { package: packageId(pkg), installable: false, reason: outcome.reason }
              : cycle === undefined
                ? { package: packageId(pkg), installable: true, reason: '' }
                : {
                    package: packageId(pkg),
                    installable: true,
                    buildOrder: false,
                    cycle,
                    reason: noBuildOrderReason(packageId(pkg), cycle),
                  },
          ),
        };
        out(`${JSON.stringify(body, null, 2)}\n`);
      } else {
        // One write for the whole listing (one per line costs a system call and a stream's work each:
        // 18,000 lines on the whole repository).
        const lines: string[] = [];
        for (const { pkg, outcome, cycle } of a.results) {
          const id = packageId(pkg);
          lines.push(
            !outcome.installable
              ? `${id}: NOT installable: ${outcome.reason}\n`
              : cycle === undefined
                ? `${id}: installable\n`
                : `${id}: ${noBuildOrderReason(id, cycle)}\n`,
          );
        }
        const apart = cyclic > 0 ? ` (${cyclic} of them with no build order: a dependency cycle)` : '';
        lines.push(`\n${a.results.length} targets with ${a.compilerText}: ${ok} installable${apart}, ${a.results.length - ok} not\n`);
        out(lines.join(''));
      }
    });
};
