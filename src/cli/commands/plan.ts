/**
 * `ecocheck plan`: the build plan for a compiler and targets — jobs, edges, critical path, the DAG as
 * JSON. Also exports the steps `check` shares: options, load → solve → targets → plan.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadRepositories, type RepositoryLoad } from '../../opam/repository.js';
import { createSolver, type PackageSolver } from '../../solve/package-solver.js';
import { DEFAULT_PLATFORM, parseEnvAssignments } from '../../solve/platform-env.js';
import { DEPEXTS_OPTION_HELP, parseDepextsMode, prepareSystemPackages, resolveDepextsPolicy, type DepextsMode } from '../../solve/system/depexts.js';
import { buildPlan, PlanError, type TargetOutcome } from '../../plan/build-plan.js';
import type { KeyContext } from '../../plan/job-key.js';
import type { Plan } from '../../plan/job.js';
import { analysePlan, planToJson } from '../../plan/plan-graph.js';
import { selectTargets, UnknownTargetError, type TargetSelection } from '../../plan/targets.js';
import { FilesDirHashCache } from '../../plan/files-hash.js';
import { opamBuilderVersion } from '../../builder/opam-builder.js';
import { UsageError } from '../../errors/usage-error.js';
import { projectConfigFor, type ProjectConfig } from '../project-config.js';
import { resolveCompiler, type CompilerResolution } from '../compiler-names.js';
import { collect } from '../repeatable-option.js';
import type { RegisterCommand } from './index.js';

export interface PlanOptions {
  repo: string[];
  compiler?: string;
  latest?: boolean;
  allVersions?: boolean;
  env: string[];
  withTest?: boolean;
  config?: string;
  depexts?: string;
}


/** The options `plan` and `check` share. */
export function addPlanOptions(cmd: Command): Command {
  return cmd
    .argument('[targets...]', 'packages to check, NAME or NAME.VERSION (default: --latest)')
    .option('--repo <dir>', 'an opam repository; repeat to layer several, the first wins', collect, [])
    .option(
      '--compiler <spec>',
      'the compiler: a version (5.3.0), NAME.VERSION, an opam formula, or a name: baseline, next, system, or one of ecocheck.json',
    )
    .option('--config <file>', 'the project config (default: ./ecocheck.json when present)')
    .option('--latest', 'the newest installable version of every package (the default)')
    .option('--all-versions', 'every version of every package')
    .option('--env <var=value>', 'set or override a platform variable', collect, [])
    .option('--with-test', "include the targets' with-test dependencies")
    .option('--depexts <mode>', DEPEXTS_OPTION_HELP);
}

export function targetSelection(targets: string[], opts: PlanOptions): TargetSelection {
  const modes = [targets.length > 0, opts.latest === true, opts.allVersions === true].filter(Boolean).length;
  if (modes > 1) throw new UsageError('give either targets, --latest or --all-versions, not several');
  if (targets.length > 0) return { kind: 'explicit', specs: targets };
  return opts.allVersions ? { kind: 'all-versions' } : { kind: 'latest' };
}

export interface PreparedPlan {
  config: ProjectConfig;
  /** The repositories read, absolute, first wins. */
  repositories: string[];
  compiler: CompilerResolution;
  load: RepositoryLoad;
  solver: PackageSolver;
  selection: TargetSelection;
  outcomes: TargetOutcome[];
  plan: Plan;
  keyContext: KeyContext;
  filesHashes: FilesDirHashCache;
  /** `--depexts`: the mode, and in `install` mode the system packages installed (or, for `plan`, to install). */
  depexts: { mode: DepextsMode; installed: string[]; toInstall: string[] };
  timings: { loadMs: number; solveMs: number; planMs: number };
}

export function defaultJobs(): number {
  return availableParallelism();
}

/**
 * Loads the repositories, solves the targets and builds the plan; warnings go to stderr. With
 * `--depexts install` and `installDepexts` (a building verb), the missing depexts of the solutions are
 * installed before the keys are made.
 */
export function preparePlan(targets: string[], opts: PlanOptions, builderVersion: string = opamBuilderVersion(true), installDepexts = false): PreparedPlan {
  const config = projectConfigFor(opts);
  const roots = opts.repo.length > 0 ? opts.repo.map((r) => resolve(r)) : config.repositories;
  if (roots.length === 0) throw new UsageError('no repository: pass --repo DIR (an opam repository) or list "repositories" in ecocheck.json');
  if (opts.compiler === undefined) throw new UsageError('--compiler SPEC is required (e.g. --compiler 5.3.0, or a name such as baseline or next)');
  const useConfigTargets = targets.length === 0 && opts.latest !== true && opts.allVersions !== true && config.targets.length > 0;
  const selection = targetSelection(useConfigTargets ? config.targets : targets, opts);
  const env = parseEnvAssignments(opts.env);
  const depexts = resolveDepextsPolicy(parseDepextsMode(opts.depexts), { ...DEFAULT_PLATFORM, ...env });
  const t0 = performance.now();
  const load = loadRepositories(roots);
  const loadMs = performance.now() - t0;
  reportLoadProblems(load);
  const compiler = resolveCompiler(opts.compiler, config.compilers, load);
  const solver = createSolver(load, { compiler: compiler.spec, env, withTest: opts.withTest === true, systemPackages: depexts.manager });
  const t1 = performance.now();
  let outcomes: TargetOutcome[];
  try {
    outcomes = selectTargets(selection, load.packages, solver);
  } catch (err) {
    if (err instanceof UnknownTargetError) throw new UsageError(err.message);
    throw err;
  }
  const solveMs = performance.now() - t1;
  // System packages: installed first in install mode; their installed versions go into the keys.
  const solved = outcomes.flatMap(({ outcome }) => (outcome.installable ? outcome.solution.packages : []));
  const system = prepareSystemPackages(depexts, solved, solver.variables, installDepexts);
  if (system.installed.length > 0) process.stderr.write(`ecocheck: installed system packages (depexts): ${system.installed.join(' ')}\n`);
  const keyContext: KeyContext = { builderVersion, platform: { ...solver.variables }, testTargets: opts.withTest === true };
  if (system.keys !== undefined) keyContext.systemPackages = system.keys;
  const filesHashes = new FilesDirHashCache();
  const t2 = performance.now();
  let plan: Plan;
  try {
    plan = buildPlan(outcomes, keyContext, filesHashes);
  } catch (err) {
    if (err instanceof PlanError) throw new UsageError(`internal plan error: ${err.message}`);
    throw err;
  }
  const planMs = performance.now() - t2;
  const depextsDone = { mode: depexts.mode, installed: system.installed, toInstall: system.toInstall };
  return { config, repositories: roots, compiler, load, solver, selection, outcomes, plan, keyContext, filesHashes, depexts: depextsDone, timings: { loadMs, solveMs, planMs } };
}

function reportLoadProblems(load: RepositoryLoad): void {
  const errors = load.errors as unknown[];
  if (errors.length > 0) {
    process.stderr.write(`ecocheck: warning: ${errors.length} opam file(s) could not be read and are skipped:\n`);
    for (const e of errors.slice(0, 10)) process.stderr.write(`  ${describeProblem(e)}\n`);
    if (errors.length > 10) process.stderr.write(`  … and ${errors.length - 10} more (ecocheck repo stats lists them)\n`);
  }
}

function describeProblem(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null) {
    const o = e as Record<string, unknown>;
    if (typeof o.file === 'string' && typeof o.message === 'string')
      return `${o.file}${o.line !== undefined ? `:${String(o.line)}` : ''}${o.column !== undefined ? `:${String(o.column)}` : ''}: ${o.message}`;
    if (typeof o.message === 'string') return o.message;
  }
  return String(e);
}

export const registerPlan: RegisterCommand = (program: Command) => {
  addPlanOptions(program.command('plan').description('Show the build plan: jobs, edges, critical path; --json prints the DAG'))
    .option('--json', 'print the plan as JSON')
    .action((targets: string[], opts: PlanOptions & { json?: boolean }) => {
      const prepared = preparePlan(targets, opts);
      const { plan } = prepared;
      const graph = analysePlan(plan);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ compiler: prepared.compiler.spec, ...planToJson(plan, graph), timings: roundTimings(prepared.timings) }) + '\n');
        return;
      }
      const out = process.stdout;
      out.write(`targets: ${plan.targets.length} installable, ${plan.notInstallable.length} not installable\n`);
      out.write(`jobs: ${plan.jobs.size}\nedges: ${graph.edgeCount}\n`);
      if (prepared.depexts.mode === 'install') out.write(`system packages (depexts) to install: ${prepared.depexts.toInstall.join(' ') || 'none'}\n`);
      out.write(`critical path: ${graph.criticalPath.length} jobs: ${graph.criticalPath.map((k) => plan.jobs.get(k)!.id).join(' -> ')}\n`);
      const t = roundTimings(prepared.timings);
      out.write(`time: load ${t.loadMs} ms, solve ${t.solveMs} ms, plan ${t.planMs} ms\n`);
    });
};

function roundTimings(t: PreparedPlan['timings']) {
  return { loadMs: Math.round(t.loadMs), solveMs: Math.round(t.solveMs), planMs: Math.round(t.planMs) };
}
