/**
 * What every verb starts from: the project config, the repositories (given, or the config's), read and
 * layered, and the compiler the user named, resolved one way for all verbs (`baseline`, `next`,
 * `system`, a config name, a spec, a local source tree), with the pins (`opam pin`) applied. Problems found while reading are returned as
 * data for the CLI to print.
 */
import { resolve } from 'node:path';
import { resolveStatePaths, type ReadCaches } from './state-paths.js';
import { errorsRead, loadRepositories, type RepositoryError, type RepositoryLoad } from '../opam/repository.js';
import { parsePin, type Pin } from '../opam/pin.js';
import { applyPins, type PinnedPackage, type PinnedRepository } from '../opam/pinned-repository.js';
import { projectConfigFor, type ProjectConfig } from './project-config.js';
import { resolveCompiler, type CompilerResolution } from './compiler-choice.js';
import { SessionError } from './session-error.js';

export interface WorkspaceRequest {
  /** Repositories given by the user, first wins; none: the config's. */
  repositories: readonly string[];
  /** The config file given by the user; none: `ecocheck.json` here when no repository is given. */
  config?: string;
  /** Pins given by the user (`NAME[.VERSION]=DIR|URL`), after the config's; `ignorePins` drops both. */
  pins?: readonly string[];
  ignorePins?: boolean;
  cwd?: string;
  /** Where the repository cache and the host's answers go (the state paths'); absent: the default folders. */
  caches?: ReadCaches;
}

export interface Workspace {
  config: ProjectConfig;
  /** The repositories read, absolute, first wins. */
  repositories: string[];
  /** The repositories as read, the pins applied. */
  load: RepositoryLoad;
  /** The repositories without the pins. */
  unpinned: RepositoryLoad;
  pins: Pin[];
  pinned: PinnedPackage[];
  loadMs: number;
  /** Where the repository cache and the host's answers are kept (the state paths'). */
  caches: ReadCaches;
}

export function openWorkspace(req: WorkspaceRequest): Workspace {
  const caches = req.caches ?? resolveStatePaths({});
  const cwd = req.cwd ?? process.cwd();
  const config = projectConfigFor({ config: req.config, repo: req.repositories }, cwd);
  const repositories = req.repositories.length > 0 ? req.repositories.map((r) => resolve(cwd, r)) : config.repositories;
  if (repositories.length === 0) {
    throw new SessionError('no repository: give one (an opam repository) or list "repositories" in ecocheck.json', 'input', { setting: 'repository' });
  }
  const pins = req.ignorePins === true ? [] : [...config.pins, ...(req.pins ?? []).map((text) => parsePin(text, cwd))];
  const t0 = performance.now();
  const unpinned = loadRepositories(repositories, { cacheDir: caches.repositoryCache });
  // Without pins the load is the repositories' own (a copy would ask a load checked name by name for everything).
  const load = pins.length === 0 ? unpinned : applyPins(unpinned, pins);
  const pinned = 'pinned' in load ? (load as PinnedRepository).pinned : [];
  return { config, repositories, load, unpinned, pins, pinned, loadMs: performance.now() - t0, caches };
}

/** The compiler named by the user, resolved in the workspace (a local tree adds its package to the load). */
export function workspaceCompiler(ws: Workspace, name: string): CompilerResolution {
  return resolveCompiler(name, ws.config.compilers, ws.load);
}

/** One line per opam file that could not be read (the run goes on without them). */
export function loadProblems(load: RepositoryLoad): string[] {
  return load.errors.map(problemLine);
}

/** One line per opam file that could not be read, of the packages read so far (`errorsRead`). */
export function problemsRead(load: RepositoryLoad): string[] {
  return errorsRead(load).map(problemLine);
}

function problemLine(e: RepositoryError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.message}`;
}
