/**
 * Where ecocheck keeps its state: the database, the prefix store and the logs under the XDG data folder,
 * the download cache and build directories under the XDG cache folder. `--state-dir DIR` moves them all
 * under DIR; `--cache-dir DIR` moves only the download cache. Nothing goes inside a repository being read.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { UsageError } from './usage-error.js';

export interface StatePaths {
  database: string;
  storeDir: string;
  logDir: string;
  buildRoot: string;
  downloadCache: string;
}

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
      const rel = relative(root, p);
      if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel)))
        throw new UsageError(`the ${what} (${p}) would be inside the repository ${root}; choose a --state-dir outside it`);
    }
  }
}
