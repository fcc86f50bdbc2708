/**
 * Solver figures on the real snapshot:
 * - all versions for one compiler (`installable --compiler 5.3.0 --all-versions`): encoding, every
 *   verdict, then every solution / reason as the command prints them; target < 10 s;
 * - admin-check mode (`installable --admin-check`): verdicts and the roots/dependents split; target
 *   < 10 s (opam 2.1.2 takes 23 min of CPU here, fixtures/oracle/README.md);
 * - a plan's targets (`plan --latest`): the optimal solution of the newest installable version of every
 *   package, as the planner selects them; target < 15 s. `ECOCHECK_BENCH_PLAN=0` skips it (minutes
 *   before the optimisation shortcuts of issue #12).
 * Loading the repository is shown apart (the load section measures it); wall and CPU times are both
 * printed because the machine is shared.
 */
import type { BenchSection } from './bench-section.js';
import { reportFigure } from './report-figure.js';
import { snapshotForBench } from './snapshot-for-bench.js';
import { loadRepositories } from '../src/opam/repository.js';
import { createSolver } from '../src/solve/package-solver.js';
import { adminCheckInstallability } from '../src/solve/admin-check.js';
import { selectTargets } from '../src/plan/targets.js';

function timed<T>(f: () => T): { value: T; ms: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = f();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, ms, cpuMs: (c.user + c.system) / 1000 };
}

export const solveSection: BenchSection = {
  name: 'solve',
  async run() {
    const root = snapshotForBench();
    if (root === null) return;
    const load = timed(() => loadRepositories([root]));
    reportFigure('load (for reference)', load.ms / 1000, 's');

    const enc = timed(() => createSolver(load.value, { compiler: '5.3.0' }));
    const solver = enc.value;
    const verdicts = timed(() => solver.packages.filter((p) => solver.isInstallable(p)).length);
    const all = timed(() => solver.installableTargets('all-versions').map((r) => (r.outcome.installable ? '' : r.outcome.reason)));
    const results = solver.installableTargets('all-versions');
    const ok = results.filter((r) => r.outcome.installable).length;
    process.stdout.write(`  5.3.0, all ${results.length} versions: ${ok} installable (verdict pass: ${verdicts.value})\n`);
    reportFigure('5.3.0 createSolver (the universe is encoded by the first query)', enc.ms / 1000, 's');
    reportFigure('5.3.0 encode + every verdict', verdicts.ms / 1000, 's');
    reportFigure('5.3.0 every reason (after the verdicts)', all.ms / 1000, 's');
    reportFigure('5.3.0 all versions, encode + verdicts + reasons (wall)', (enc.ms + verdicts.ms + all.ms) / 1000, 's', 10);
    reportFigure('5.3.0 all versions, encode + verdicts + reasons (CPU)', (enc.cpuMs + verdicts.cpuMs + all.cpuMs) / 1000, 's', 10);
    // Solutions (opam's criteria, proved optimal) cost more than verdicts: a sample of every 20th.
    const sample = results.filter((r, k) => r.outcome.installable && k % 20 === 0);
    const sols = timed(() => sample.map((r) => (r.outcome.installable ? r.outcome.solution.packages.length : 0)));
    const perSolve = sols.value.length === 0 ? 0 : sols.ms / sols.value.length;
    process.stdout.write(
      `  5.3.0 optimal solutions of ${sols.value.length} installable versions (every 20th): ${(sols.ms / 1000).toFixed(2)} s, ${perSolve.toFixed(1)} ms each\n`,
    );

    if (process.env.ECOCHECK_BENCH_PLAN !== '0') {
      const planSolver = createSolver(load.value, { compiler: '5.3.0' });
      const plan = timed(() => selectTargets({ kind: 'latest' }, load.value.packages, planSolver));
      const st = planSolver.stats;
      const solved = plan.value.filter((o) => o.outcome.installable).length;
      process.stdout.write(
        `  plan --latest: ${plan.value.length} targets, ${solved} solutions; ${st.proved} proved optimal at once, ${st.shared} from another target's optimum, ${st.solves} SAT solves, ${st.conflicts} conflicts\n`,
      );
      reportFigure('5.3.0 plan --latest, every optimal solution (wall)', plan.ms / 1000, 's', 15);
      reportFigure('5.3.0 plan --latest, every optimal solution (CPU)', plan.cpuMs / 1000, 's', 15);
    }

    const admin = timed(() => {
      const s = createSolver(load.value, { compiler: '', adminCheck: true });
      return { r: adminCheckInstallability(s), stats: s.stats };
    });
    const r = admin.value.r;
    process.stdout.write(
      `  admin check: ${r.total} packages, ${r.roots.length} uninstallable roots, ${r.dependents.length} dependents (opam: 42 and 882)\n`,
    );
    process.stdout.write(`  admin check solver: ${admin.value.stats.solves} solves, ${admin.value.stats.conflicts} conflicts\n`);
    reportFigure('admin check, encode + verdicts + split (wall)', admin.ms / 1000, 's', 10);
    reportFigure('admin check, encode + verdicts + split (CPU)', admin.cpuMs / 1000, 's', 10);
  },
};
