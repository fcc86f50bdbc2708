/**
 * Planning on three compilers (issue #23): `plan --latest` of the real snapshot — the newest
 * installable version of every package with its optimal solution (opam's), as the planner selects
 * them — on OCaml 5.3.0, 4.14.2 and ocaml-system.4.13.1; target < 15 s each. Each compiler is planned
 * in a child process of its own, so that its peak RSS is its own; wall time, CPU time (user + system)
 * and peak RSS are printed, the repository's load apart (the load section measures it), with the
 * solver's conflicts and how the optimisations ended (cheap proof, cores, conflict budget).
 * `ECOCHECK_BENCH_PLAN_COMPILERS=5.3.0,4.14.2` picks compilers; `=0` skips the section.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchSection } from './bench-section.js';
import { reportFigure } from './report-figure.js';
import { snapshotForBench } from './snapshot-for-bench.js';
import { loadRepositories } from '../src/opam/repository.js';
import { createSolver } from '../src/solve/package-solver.js';
import { selectTargets } from '../src/plan/targets.js';

const COMPILERS = ['5.3.0', '4.14.2', 'ocaml-system.4.13.1'];
const CHILD = 'ECOCHECK_BENCH_PLAN_COMPILER_CHILD';

interface PlanFigures {
  compiler: string;
  targets: number;
  installable: number;
  loadMs: number;
  wallMs: number;
  cpuMs: number;
  maxRssMiB: number;
  conflicts: number;
  proved: number;
  coreProved: number;
  coreConflicts: number;
  coreReused: number;
  budgetHits: number;
}

/** In the child: one compiler's plan, its figures sent to the parent. */
function planOne(root: string, compiler: string): PlanFigures {
  const l0 = performance.now();
  const load = loadRepositories([root]);
  const loadMs = performance.now() - l0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const solver = createSolver(load, { compiler });
  const plan = selectTargets({ kind: 'latest' }, load.packages, solver);
  // Every solution read, as the planner does when it makes the jobs.
  let installable = 0;
  for (const o of plan) if (o.outcome.installable && o.outcome.solution.packages.length > 0) installable++;
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return {
    compiler,
    targets: plan.length,
    installable,
    loadMs,
    wallMs,
    cpuMs: (c.user + c.system) / 1000,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    conflicts: solver.stats.conflicts,
    proved: solver.stats.proved,
    coreProved: solver.stats.coreProved,
    coreConflicts: solver.stats.coreConflicts,
    coreReused: solver.stats.coreReused,
    budgetHits: solver.stats.budgetHits,
  };
}

function planInChild(root: string, compiler: string): Promise<PlanFigures> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, [CHILD]: JSON.stringify({ root, compiler }) } });
    let figures: PlanFigures | null = null;
    child.on('message', (m) => (figures = m as PlanFigures));
    child.on('error', reject);
    child.on('exit', (code) => (figures !== null ? resolve(figures) : reject(new Error(`the plan on ${compiler} exited with ${code}`))));
  });
}

const childJob = process.env[CHILD];
if (childJob !== undefined && process.send !== undefined) {
  const { root, compiler } = JSON.parse(childJob) as { root: string; compiler: string };
  process.send(planOne(root, compiler), () => process.exit(0));
}

export const planCompilersSection: BenchSection = {
  name: 'plan-compilers',
  async run() {
    const choice = process.env.ECOCHECK_BENCH_PLAN_COMPILERS;
    if (choice === '0') {
      process.stdout.write('  skipped (ECOCHECK_BENCH_PLAN_COMPILERS=0)\n');
      return;
    }
    const root = snapshotForBench();
    if (root === null) return;
    const compilers = choice === undefined || choice === '' ? COMPILERS : choice.split(',');
    for (const compiler of compilers) {
      const f = await planInChild(root, compiler);
      process.stdout.write(
        `  ${compiler}: ${f.targets} targets, ${f.installable} installable; load ${(f.loadMs / 1000).toFixed(1)} s (apart); ${f.conflicts} conflicts (${f.coreConflicts} finding cores), ${f.proved} proved optimal at once, ${f.coreProved} criteria levels ended by cores (${f.coreReused} cores taken from earlier targets), ${f.budgetHits} optimisations at the conflict budget\n`,
      );
      reportFigure(`${compiler} plan --latest (wall)`, f.wallMs / 1000, 's', 15);
      reportFigure(`${compiler} plan --latest (CPU, user + system)`, f.cpuMs / 1000, 's', 15);
      reportFigure(`${compiler} plan --latest (peak RSS of the process, load included)`, f.maxRssMiB, 'MiB');
    }
  },
};
