/**
 * Where ecocheck keeps its state: the database, the prefix store and the logs under the XDG data folder,
 * the download cache, build directories, the repository cache and the host package manager's answers
 * under the XDG cache folder. A state dir moves them all under it (ecocheck then writes nothing
 * elsewhere); a cache dir moves only the download cache. Nothing goes inside a repository being read.
 * The paths are passed down to what writes there (no module keeps one).
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { repositoryCacheDir } from '../opam/repository-cache.js';
import { SessionError } from './session-error.js';

export interface StatePaths {
  database: string;
  storeDir: string;
  logDir: string;
  buildRoot: string;
  downloadCache: string;
  /** The parsed-repository cache (opam/repository-cache.ts); null when `ECOCHECK_REPOSITORY_CACHE=off`. */
  repositoryCache: string | null;
  /** The host package manager's answers (host/answer-store.ts); null when `ECOCHECK_HOST_ANSWERS=off`. */
  hostAnswers: string | null;
}

/** What reading repositories and asking the host keep between commands: every verb that reads a repository has them. */
export type ReadCaches = Pick<StatePaths, 'repositoryCache' | 'hostAnswers'>;

export interface StateOptions {
  stateDir?: string;
  cacheDir?: string;
}

function xdg(variable: string, fallback: string, env: NodeJS.ProcessEnv): string {
  const v = env[variable];
  // The XDG spec says relative values are invalid and must be ignored.
  return v !== undefined && v !== '' && isAbsolute(v) ? v : join(env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir(), fallback);
}

export function resolveStatePaths(options: StateOptions, env: NodeJS.ProcessEnv = process.env): StatePaths {
  let paths: StatePaths;
  if (options.stateDir !== undefined) {
    const root = resolve(options.stateDir);
    paths = {
      database: join(root, 'ecocheck.sqlite'),
      storeDir: join(root, 'store'),
      logDir: join(root, 'logs'),
      buildRoot: join(root, 'build'),
      downloadCache: join(root, 'downloads'),
      repositoryCache: env.ECOCHECK_REPOSITORY_CACHE === 'off' ? null : join(root, 'repositories'),
      hostAnswers: env.ECOCHECK_HOST_ANSWERS === 'off' ? null : join(root, 'host-packages.json'),
    };
  } else {
    const data = join(xdg('XDG_DATA_HOME', '.local/share', env), 'ecocheck');
    const cache = join(xdg('XDG_CACHE_HOME', '.cache', env), 'ecocheck');
    paths = {
      database: join(data, 'ecocheck.sqlite'),
      storeDir: join(data, 'store'),
      logDir: join(data, 'logs'),
      buildRoot: join(cache, 'build'),
      downloadCache: join(cache, 'downloads'),
      // The repository cache's own default (under the same XDG cache folder; ECOCHECK_CACHE_DIR moves it).
      repositoryCache: repositoryCacheDir(env),
      hostAnswers: env.ECOCHECK_HOST_ANSWERS === 'off' ? null : join(cache, 'host-packages.json'),
    };
  }
  if (options.cacheDir !== undefined) paths.downloadCache = resolve(options.cacheDir);
  return paths;
}

/** Refuses state paths inside a repository being read: ecocheck never writes there. */
export function checkStateOutsideRepositories(paths: StatePaths, repositories: readonly string[]): void {
  for (const repo of repositories) {
    const root = resolve(repo);
    for (const [what, p] of Object.entries(paths)) {
      if (p === null) continue;
      const rel = relative(root, p);
      if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel)))
        throw new SessionError(`the ${what} (${p}) would be inside the repository ${root}; ecocheck never writes there`, 'input', {
          setting: 'stateDir',
        });
    }
  }
}

/** Each folder in words, and the setting that moves it (`stateDir` moves all but the download cache). */
const FOLDER_WORDS: Record<Exclude<keyof StatePaths, keyof ReadCaches>, { what: string; setting: keyof StateOptions }> = {
  database: { what: 'database folder', setting: 'stateDir' },
  storeDir: { what: 'prefix store', setting: 'stateDir' },
  logDir: { what: 'log folder', setting: 'stateDir' },
  buildRoot: { what: 'build folder', setting: 'stateDir' },
  downloadCache: { what: 'download cache', setting: 'cacheDir' },
};

/**
 * Refuses, with one line naming the folder (and the setting that moves it), a state folder that cannot be
 * written or created: its nearest existing ancestor is not a directory, or not writable (a read-only
 * mount stops root too). Creates nothing.
 */
export function checkStateWritable(paths: StatePaths): void {
  for (const key of Object.keys(FOLDER_WORDS) as (keyof typeof FOLDER_WORDS)[]) {
    const folder = key === 'database' ? dirname(paths.database) : paths[key];
    const { what, setting } = FOLDER_WORDS[key];
    let existing = folder;
    for (;;) {
      try {
        const st = statSync(existing);
        if (!st.isDirectory()) {
          const why = existing === folder ? 'it is not a directory' : `${existing} is not a directory`;
          throw new SessionError(`the ${what} ${folder} cannot be used: ${why}`, 'environment', { setting });
        }
        break;
      } catch (err) {
        if (err instanceof SessionError) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(existing) === existing) {
          throw new SessionError(`the ${what} ${folder} cannot be used: ${(err as Error).message}`, 'environment', { setting });
        }
        existing = dirname(existing);
      }
    }
    try {
      accessSync(existing, fsConstants.W_OK | fsConstants.X_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EROFS' ? 'read-only file system' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
      const where = existing === folder ? '' : ` (${existing})`;
      throw new SessionError(`the ${what} ${folder} is not writable${where}: ${why}`, 'environment', { setting });
    }
  }
}
