/**
 * What one command works with, built once from the CLI's request and passed down to every step of
 * the verb: the state paths (and the caches under them), the project config, the workspace (the
 * repositories loaded once; the pins applied over that load, never a second load), the host's facts
 * (the depexts policy and its package manager's answers, per platform), the compiled solvers and the
 * database handle when the verb needs one.
 *
 * A solver is built once per universe and question: what makes two solvers differ is the load (pinned
 * or as released), the compiler spec, the platform (`--env`), `--with-test`, the package manager asked
 * and the admin-check mode. So a check's run, the baseline of a pinned check, its retries and the
 * reverse-dependency search share one solver wherever they ask the same question; a pinned check asks
 * two (the pin changes the universe: opam's pinned version is its name's only one).
 *
 * The context keeps its memos on itself (no module keeps any): a command, a test or a library caller
 * each have their own. `counts` says how often the repositories were loaded and a solver built: what
 * tests/session/command-context.test.ts checks of a whole check.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadRepositories, type LoadOptions, type RepositoryLoad } from '../opam/repository.js';
import { parsePin, type Pin } from '../opam/pin.js';
import { applyPins, type PinnedPackage, type PinnedRepository } from '../opam/pinned-repository.js';
import { createSolver, type PackageSolver, type SolveOptions } from '../solve/package-solver.js';
import { DEFAULT_PLATFORM, parseEnvAssignments } from '../solve/platform-env.js';
import { parseDepextsMode, resolveDepextsPolicy, type DepextsPolicy } from '../host/depexts.js';
import type { Db } from '../store/database.js';
import { projectConfigFor, type ProjectConfig } from './project-config.js';
import { resolveCompiler, type CompilerResolution } from './compiler-choice.js';
import type { StatePaths } from './state-paths.js';
import { SessionError } from './session-error.js';

/** How the context reads repositories and builds solvers: the real ones, or a test's wrappers. */
export interface ContextLoaders {
  loadRepositories: (roots: string[], options: LoadOptions) => RepositoryLoad;
  createSolver: (load: Pick<RepositoryLoad, 'packages'>, options: SolveOptions) => PackageSolver;
}

/** What a command asks of its context: where its state is, what it reads, whether it uses the database. */
export interface CommandRequest {
  paths: StatePaths;
  /** Repositories given by the user, first wins; none: the config's. */
  repositories?: readonly string[];
  /** The config file given by the user; none: `ecocheck.json` here when no repository is given. */
  config?: string;
  /** Pins given by the user (`NAME[.VERSION]=DIR|URL`), after the config's. */
  pins?: readonly string[];
  cwd?: string;
  /** The database, opened once for the command: `write` creates it; `read` needs it to exist. */
  database?: 'read' | 'write';
  loaders?: Partial<ContextLoaders>;
}

/** How often the command loaded repositories and built solvers (its siblings' too: `--changed-since`'s base). */
export interface ContextCounts {
  repositoryLoads: number;
  solvers: number;
}

/** The repositories as read once for the command, with the pins applied over that load. */
export interface Workspace {
  config: ProjectConfig;
  /** The repositories read, absolute, first wins. */
  repositories: string[];
  /** The repositories without the pins. */
  unpinned: RepositoryLoad;
  /** The repositories, the pins applied (the unpinned load itself when there is no pin). */
  pinnedLoad: RepositoryLoad;
  pins: Pin[];
  pinned: PinnedPackage[];
  loadMs: number;
}

/** Which load a step asks: with the pins (the default), or as released (a pin check's baseline, reverse dependencies). */
export type Universe = 'pinned' | 'unpinned';

/** What makes two solvers differ. */
export interface SolverQuestion {
  universe: Universe;
  /** The compiler spec as the solver reads it; '' for none (the admin check). */
  compiler: string;
  /** `VAR=VALUE` platform overrides. */
  env: readonly string[];
  withTest: boolean;
  /** `--depexts` as typed; never asked in the admin check. */
  depexts?: string;
  adminCheck?: { ignoreTestDoc: boolean };
}

/** What a command's sibling contexts share: the config, the host's answers, the database. */
interface CommandShared {
  configs: Map<string, ProjectConfig>;
  depexts: Map<string, DepextsPolicy>;
  db: Db | null;
}

export class CommandContext {
  readonly paths: StatePaths;
  readonly cwd: string;
  readonly counts: ContextCounts;
  readonly #request: CommandRequest;
  readonly #loaders: ContextLoaders;
  readonly #shared: CommandShared;
  #workspace: Workspace | null = null;
  readonly #compilers = new Map<string, CompilerResolution>();
  readonly #solvers = new Map<string, PackageSolver>();

  /** Use `openCommandContext` (it opens the database when asked); a sibling shares `shared` and `counts`. */
  constructor(request: CommandRequest, shared?: CommandShared, counts?: ContextCounts) {
    this.#request = request;
    this.paths = request.paths;
    this.cwd = request.cwd ?? process.cwd();
    this.#loaders = { loadRepositories, createSolver, ...request.loaders };
    this.#shared = shared ?? { configs: new Map(), depexts: new Map(), db: null };
    this.counts = counts ?? { repositoryLoads: 0, solvers: 0 };
  }

  /** The project config: the file given, else `ecocheck.json` here when no repository is given; read once. */
  get config(): ProjectConfig {
    const repo = this.#request.repositories ?? [];
    // Which file that is (none when repositories are given without --config): a sibling asking the same shares it.
    const key = this.#request.config === undefined && repo.length > 0 ? '' : `file:${this.#request.config ?? ''}`;
    let config = this.#shared.configs.get(key);
    if (config === undefined) {
      config = projectConfigFor({ config: this.#request.config, repo }, this.cwd);
      this.#shared.configs.set(key, config);
    }
    return config;
  }

  /** The repositories (given, or the config's), loaded on first use and never again. */
  get workspace(): Workspace {
    if (this.#workspace !== null) return this.#workspace;
    const config = this.config;
    const given = this.#request.repositories ?? [];
    const repositories = given.length > 0 ? given.map((r) => resolve(this.cwd, r)) : config.repositories;
    if (repositories.length === 0) {
      throw new SessionError('no repository: give one (an opam repository) or list "repositories" in ecocheck.json', 'input', {
        setting: 'repository',
      });
    }
    const pins = [...config.pins, ...(this.#request.pins ?? []).map((text) => parsePin(text, this.cwd))];
    const t0 = performance.now();
    this.counts.repositoryLoads++;
    const unpinned = this.#loaders.loadRepositories(repositories, { cacheDir: this.paths.repositoryCache });
    // Without pins the load is the repositories' own (a copy would ask a load checked name by name for everything).
    const pinnedLoad = pins.length === 0 ? unpinned : applyPins(unpinned, pins);
    const pinned = 'pinned' in pinnedLoad ? (pinnedLoad as PinnedRepository).pinned : [];
    this.#workspace = { config, repositories, unpinned, pinnedLoad, pins, pinned, loadMs: performance.now() - t0 };
    return this.#workspace;
  }

  /** The universe a step asks for; without pins both are the one load. */
  #universe(universe: Universe): Universe {
    return this.workspace.pins.length === 0 ? 'unpinned' : universe;
  }

  load(universe: Universe): RepositoryLoad {
    return this.#universe(universe) === 'pinned' ? this.workspace.pinnedLoad : this.workspace.unpinned;
  }

  /** The pins a universe applies, as given. */
  pinsOf(universe: Universe): { pins: Pin[]; pinned: PinnedPackage[] } {
    return this.#universe(universe) === 'pinned' ? { pins: this.workspace.pins, pinned: this.workspace.pinned } : { pins: [], pinned: [] };
  }

  /** The compiler named by the user, resolved in a universe once (a local tree adds its package to that load). */
  compiler(name: string, universe: Universe = 'pinned'): CompilerResolution {
    const u = this.#universe(universe);
    const key = `${u}\0${name}`;
    let r = this.#compilers.get(key);
    if (r === undefined) {
      r = resolveCompiler(name, this.config.compilers, this.load(u));
      this.#compilers.set(key, r);
    }
    return r;
  }

  /** The depexts policy for a mode and platform: the host's package manager asked once per platform. */
  depexts(mode: string | undefined, env: readonly string[]): DepextsPolicy {
    const platform = { ...DEFAULT_PLATFORM, ...parseEnvAssignments(env) };
    const key = `${mode ?? ''}\0${platformKey(platform)}`;
    let policy = this.#shared.depexts.get(key);
    if (policy === undefined) {
      policy = resolveDepextsPolicy(parseDepextsMode(mode), platform, this.paths.hostAnswers);
      this.#shared.depexts.set(key, policy);
    }
    return policy;
  }

  /** The solver for a question, built the first time it is asked. */
  solver(q: SolverQuestion): PackageSolver {
    const universe = this.#universe(q.universe);
    const env = parseEnvAssignments(q.env);
    const depexts = q.adminCheck !== undefined ? null : this.depexts(q.depexts, q.env);
    const key = [
      universe,
      q.compiler,
      platformKey(env),
      q.withTest,
      depexts?.mode ?? 'admin',
      q.adminCheck === undefined ? '' : `admin:${q.adminCheck.ignoreTestDoc}`,
    ].join('\0');
    let solver = this.#solvers.get(key);
    if (solver === undefined) {
      this.counts.solvers++;
      solver = this.#loaders.createSolver(this.load(universe), {
        compiler: q.compiler,
        env,
        withTest: q.withTest,
        adminCheck: q.adminCheck !== undefined,
        ignoreTestDoc: q.adminCheck?.ignoreTestDoc === true,
        systemPackages: depexts?.manager,
      });
      this.#solvers.set(key, solver);
    }
    return solver;
  }

  /**
   * Drops the solvers built so far: a step that plans nothing more (a run, once its plan is made) does
   * not keep the solvers' encodings of the repository (hundreds of MiB for the whole of it) while it
   * builds. A later question builds its solver again.
   */
  releaseSolvers(): void {
    this.#solvers.clear();
  }

  /** Whether the command opened a database. */
  get hasDatabase(): boolean {
    return this.#shared.db !== null;
  }

  /** The database opened for the command (`database` in its request). */
  get db(): Db {
    if (this.#shared.db === null) throw new SessionError('this command opened no database', 'internal');
    return this.#shared.db;
  }

  /**
   * The same command over other repositories (`--changed-since`: the base checkout; a rerun: the run's
   * own repositories and pins): its own load and solvers; the host's facts, the database and the counts
   * are the command's, and the config too when it is the same file.
   */
  withWorkspace(workspace: { repositories: readonly string[]; pins?: readonly string[]; config?: string }): CommandContext {
    return new CommandContext({ ...this.#request, ...workspace, database: undefined }, this.#shared, this.counts);
  }

  /**
   * The same repositories loaded again, with compilers and solvers of their own: for steps whose
   * compiler trees differ but name the same version (a bisection's commits all build `V+local`, which
   * resolving a tree adds to the load), so that no step sees another's tree.
   */
  freshWorkspace(): CommandContext {
    return new CommandContext({ ...this.#request, database: undefined }, this.#shared, this.counts);
  }

  /** The repositories as the user gave them (none: the config's are used). */
  get givenRepositories(): readonly string[] {
    return this.#request.repositories ?? [];
  }

  /** @internal: the database handle, set once by `openCommandContext`. */
  attachDatabase(db: Db): void {
    this.#shared.db = db;
  }

  close(): void {
    this.#shared.db?.close();
    this.#shared.db = null;
  }
}

function platformKey(vars: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(vars).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The command's context; with `database`, the database is opened now (the store is loaded only then,
 * so verbs without one never load it). `read` of a missing database is the caller's to word: it checks first.
 */
export async function openCommandContext(request: CommandRequest): Promise<CommandContext> {
  const ctx = new CommandContext(request);
  if (request.database !== undefined) {
    // Through the session's opener: an upgrade of an older schema gets what it needs from the builder.
    const { openStateDatabase } = await import('./state-database.js');
    ctx.attachDatabase(openStateDatabase(request.paths.database, { readonly: request.database === 'read' }));
  }
  return ctx;
}

/**
 * A verb's work in its context: opened, handed to `work`, closed. A SQLite failure on the way is one
 * line naming the database (damaged, full, unreadable), as the store words it.
 */
export async function withCommandContext<T>(request: CommandRequest, work: (ctx: CommandContext) => Promise<T> | T): Promise<T> {
  const ctx = await openCommandContext(request);
  try {
    return await work(ctx);
  } catch (err) {
    if (request.database === undefined) throw err;
    const { databaseFailure } = await import('../store/database.js');
    throw databaseFailure(err, request.paths.database);
  } finally {
    ctx.close();
  }
}

/** Whether the state has a database yet (the verbs that only read say "no runs recorded yet" without one). */
export function hasDatabase(paths: StatePaths): boolean {
  return existsSync(paths.database);
}
