/**
 * The steps every planning verb shares (plan, check, rerun, the retries): the workspace → the compiler
 * → the solver → the targets → the plan, with the system packages (depexts) the mode asks for.
 */
import type { DepextsMode } from '../host/depexts.js';
import { prepareSystemPackages } from '../plan/plan-system-packages.js';
import { buildPlan, type TargetOutcome } from '../plan/build-plan.js';
import type { KeyContext } from '../plan/job-key.js';
import type { Plan } from '../plan/job.js';
import { selectTargets, type TargetSelection } from '../plan/targets.js';
import { FilesDirHashCache } from '../plan/files-hash.js';
import { opamBuilderVersion } from '../builder/builder-version.js';
import type { RepositoryLoad } from '../opam/repository.js';
import { pinToString } from '../opam/pin.js';
import { describePin } from '../opam/pinned-repository.js';
import type { ProjectConfig } from './project-config.js';
import type { CompilerResolution } from './compiler-choice.js';
import type { CommandContext } from './command-context.js';
import { problemsRead } from './load-problems.js';
import { SessionError } from './session-error.js';
import { localSourceRoots, type LocalSourceRoots } from './local-source-roots.js';
import type { SessionOutput } from './session-output.js';

/**
 * What a planning verb was asked, in the application's words; the repositories, config and pins are
 * its context's (command-context.ts).
 */
export interface PlanRequest {
  /** Explicit `NAME[.VERSION]` targets; none: the config's, else the latest of every package. */
  targets: readonly string[];
  /** `latest` or `all-versions` asked for explicitly (with no targets). */
  selection?: 'latest' | 'all-versions';
  compiler?: string;
  /** `VAR=VALUE` platform overrides. */
  env: readonly string[];
  withTest: boolean;
  depexts?: string;
  /** Leave every pin out, the config's too (the baseline of a pin check). */
  ignorePins?: boolean;
  /** Key the jobs for this builder; default: the sandboxed opam builder. */
  builderVersion?: string;
  /** `install` mode: install the missing depexts now (a building verb) rather than list them. */
  installDepexts?: boolean;
  /** `--allow-local-sources` folders (relative to the working directory): local sources may come from there too. */
  allowLocalSources?: readonly string[];
}

export interface PreparedPlan {
  config: ProjectConfig;
  /** The repositories read, absolute, first wins. */
  repositories: string[];
  compiler: CompilerResolution;
  load: RepositoryLoad;
  selection: TargetSelection;
  outcomes: TargetOutcome[];
  plan: Plan;
  keyContext: KeyContext;
  filesHashes: FilesDirHashCache;
  /** The folders local sources may be read from (the repositories, the pins' folders, those named), and those named alone. */
  localSources: LocalSourceRoots;
  /** The mode, and in `install` mode the system packages installed (or, for `plan`, to install). */
  depexts: { mode: DepextsMode; installed: string[]; toInstall: string[] };
  /** The pins applied: as arguments (re-applicable), and what each became (version, source, content hash). */
  pins: { args: string[]; described: string[] };
  /** Opam files that could not be read and are left out, one line each. */
  loadProblems: string[];
  timings: { loadMs: number; solveMs: number; planMs: number };
}

/** The target selection of a request: explicit targets, `latest`, `all-versions`, never several. */
export function targetSelection(targets: readonly string[], selection: PlanRequest['selection']): TargetSelection {
  if (targets.length > 0 && selection !== undefined)
    throw new SessionError('give either targets, latest or all versions, not several', 'input', { setting: 'targets' });
  if (targets.length > 0) return { kind: 'explicit', specs: [...targets] };
  return selection === 'all-versions' ? { kind: 'all-versions' } : { kind: 'latest' };
}

/** The plan of a request in the command's context: its load, compiler and solver are the context's, built once. */
export function preparePlan(ctx: CommandContext, req: PlanRequest): PreparedPlan {
  const ws = ctx.workspace;
  if (req.compiler === undefined)
    throw new SessionError('a compiler is required (e.g. 5.3.0, or a name such as baseline or next)', 'input', { setting: 'compiler' });
  const universe = req.ignorePins === true ? 'unpinned' : 'pinned';
  const load = ctx.load(universe);
  const { pins, pinned } = ctx.pinsOf(universe);
  const useConfigTargets = req.targets.length === 0 && req.selection === undefined && ws.config.targets.length > 0;
  const selection = targetSelection(useConfigTargets ? ws.config.targets : req.targets, req.selection);
  const depexts = ctx.depexts(req.depexts, req.env);
  const compiler = ctx.compiler(req.compiler, universe);
  const localSources = localSourceRoots({
    repositories: ws.repositories,
    pins,
    compilerTree: compiler.sourceTree ?? null,
    config: ws.config,
    allowed: req.allowLocalSources ?? [],
    cwd: ctx.cwd,
  });
  const solver = ctx.solver({ universe, compiler: compiler.spec, env: req.env, withTest: req.withTest, depexts: req.depexts });
  const t1 = performance.now();
  const outcomes = selectTargets(selection, load.packages, solver);
  const solveMs = performance.now() - t1;
  // System packages: installed first in install mode; their installed versions go into the keys.
  const solved = outcomes.flatMap(({ outcome }) => (outcome.installable ? outcome.solution.packages : []));
  const system = prepareSystemPackages(depexts, solved, solver.variables, req.installDepexts === true);
  const keyContext: KeyContext = {
    builderVersion: req.builderVersion ?? opamBuilderVersion('confined'),
    platform: { ...solver.variables },
    testTargets: req.withTest,
    localSourceRoots: localSources.roots,
  };
  if (system.keys !== undefined) keyContext.systemPackages = system.keys;
  const filesHashes = new FilesDirHashCache();
  const t2 = performance.now();
  const plan = buildPlan(outcomes, keyContext, filesHashes);
  const planMs = performance.now() - t2;
  return {
    config: ws.config,
    repositories: ws.repositories,
    compiler,
    load,
    selection,
    outcomes,
    plan,
    keyContext,
    filesHashes,
    localSources,
    depexts: { mode: depexts.mode, installed: system.installed, toInstall: system.toInstall },
    pins: {
      args: pins.map(pinToString),
      described: pinned.map((p) =>
        p.pin.source.kind === 'dir'
          ? `${describePin(p)} [content ${filesHashes.pinnedDirectory(p.pin.source.path).slice(0, 16)}]`
          : describePin(p),
      ),
    },
    loadProblems: problemsRead(load),
    timings: { loadMs: ws.loadMs, solveMs, planMs },
  };
}

/** Says what preparing a plan did that the user should know: unreadable opam files, installed depexts. */
export function announcePlan(prepared: PreparedPlan, output: SessionOutput): void {
  const problems = prepared.loadProblems;
  if (problems.length > 0) {
    output.notice(`warning: ${problems.length} opam file(s) could not be read and are skipped:`);
    for (const p of problems.slice(0, 10)) output.notice(`  ${p}`);
    if (problems.length > 10) output.notice(`  … and ${problems.length - 10} more (ecocheck repo stats lists them)`);
  }
  for (const p of prepared.pins.described) output.notice(`pinned: ${p}`);
  if (prepared.depexts.installed.length > 0) output.notice(`installed system packages (depexts): ${prepared.depexts.installed.join(' ')}`);
}
