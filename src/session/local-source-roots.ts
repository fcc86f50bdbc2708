/**
 * The folders a run's packages may take local sources from (plan/local-source-policy.ts): what the user
 * named, and nothing else — the repositories read (an overlay's `file://` tarballs are the user's), the
 * pins' folders (and a pin's local file or checkout), the compiler source tree of `--compiler DIR`, the
 * config's `allowLocalSources` and the folders of `--allow-local-sources`. A folder named that does not exist is a usage error, one line.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Pin } from '../opam/pin.js';
import { sourceLocation } from '../plan/local-source-policy.js';
import { SessionError } from './session-error.js';

/** `--allow-local-sources` (and the config's) folders, absolute; each must be an existing folder. */
export function checkAllowedFolders(dirs: readonly string[], cwd: string, origin: string | null = null): string[] {
  return dirs.map((d) => {
    const abs = resolve(cwd, d);
    let isDir = false;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      // missing: said below
    }
    if (!isDir) {
      if (origin !== null) throw new SessionError(`${origin}: "allowLocalSources": ${abs}: no such folder`);
      throw new SessionError('no such folder', 'input', { setting: 'allowLocalSources', value: d });
    }
    return abs;
  });
}

/** The folder, file or checkout a pin names on this host, or null for a remote pin. */
function pinRoot(pin: Pin): string | null {
  if (pin.source.kind === 'dir') return pin.source.path;
  const where = sourceLocation(pin.source.url);
  return where.kind === 'local' ? where.path : null;
}

export interface LocalSourceRootsRequest {
  repositories: readonly string[];
  pins: readonly Pin[];
  /** `--compiler DIR`: the compiler source tree named. */
  compilerTree: string | null;
  /** The config's `allowLocalSources` (absolute) and the file they come from. */
  config: { file: string | null; allowLocalSources: readonly string[] };
  /** `--allow-local-sources` as given (relative to `cwd`). */
  allowed: readonly string[];
  cwd: string;
}

export interface LocalSourceRoots {
  /** Every folder local sources may come from, absolute. */
  roots: string[];
  /** The folders named for it alone (config and flag), absolute: what a rerun applies again. */
  named: string[];
}

export function localSourceRoots(req: LocalSourceRootsRequest): LocalSourceRoots {
  const fromConfig = checkAllowedFolders(req.config.allowLocalSources, req.cwd, req.config.file ?? 'ecocheck.json');
  const fromFlag = checkAllowedFolders(req.allowed, req.cwd);
  const named = [...new Set([...fromConfig, ...fromFlag])];
  const pins = req.pins.map(pinRoot).filter((p): p is string => p !== null);
  const tree = req.compilerTree === null ? [] : [req.compilerTree];
  return { roots: [...new Set([...req.repositories.map((r) => resolve(req.cwd, r)), ...pins, ...tree, ...named])], named };
}
