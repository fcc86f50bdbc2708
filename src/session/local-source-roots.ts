/**
 * The folders a run's packages may take local sources from (plan/local-source-policy.ts): what the user
 * named, and nothing else — the repositories read (an overlay's `file://` tarballs are the user's), the
 * pins' folders (and a pin's local file or checkout), the compiler source tree of `--compiler DIR`, the
 * config's `allowLocalSources` and the folders of `--allow-local-sources`. A folder named that does not exist is a usage error, one line.
 * Those lists may also name `http(s)://HOST[:PORT]` origins: a source without a checksum may be downloaded
 * from them although they are not on the public internet (builder/http-download.ts).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Pin } from '../opam/pin.js';
import { sourceLocation } from '../plan/local-source-policy.js';
import { SessionError } from './session-error.js';

/**
 * `--allow-local-sources` (and the config's) entries: folders, absolute, each an existing folder; and
 * `http(s)://HOST[:PORT]` origins, which checksum-less sources may be downloaded from although they are
 * not on the public internet (builder/http-download.ts).
 */
export function checkAllowedFolders(
  entries: readonly string[],
  cwd: string,
  origin: string | null = null,
): { folders: string[]; origins: string[] } {
  const folders: string[] = [];
  const origins: string[] = [];
  const bad = (what: string, value: string): SessionError =>
    origin !== null
      ? new SessionError(`${origin}: "allowLocalSources": ${value}: ${what}`)
      : new SessionError(what, 'input', { setting: 'allowLocalSources', value });
  for (const d of entries) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(d)) {
      let url: URL | null = null;
      try {
        url = new URL(d);
      } catch {
        // said below
      }
      if (
        url === null ||
        (url.protocol !== 'http:' && url.protocol !== 'https:') ||
        url.pathname !== '/' ||
        url.search !== '' ||
        url.hash !== ''
      ) {
        throw bad('not an http(s) origin (http://HOST[:PORT])', d);
      }
      origins.push(url.origin);
      continue;
    }
    const abs = resolve(cwd, d);
    let isDir = false;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      // missing: said below
    }
    if (!isDir) throw bad('no such folder', origin !== null ? abs : d);
    folders.push(abs);
  }
  return { folders, origins };
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
  /** The http(s) origins named: checksum-less sources may be downloaded from them although not public. */
  origins: string[];
  /** The folders and origins named for it alone (config and flag), folders absolute: what a rerun applies again. */
  named: string[];
}

export function localSourceRoots(req: LocalSourceRootsRequest): LocalSourceRoots {
  const fromConfig = checkAllowedFolders(req.config.allowLocalSources, req.cwd, req.config.file ?? 'ecocheck.json');
  const fromFlag = checkAllowedFolders(req.allowed, req.cwd);
  const folders = [...new Set([...fromConfig.folders, ...fromFlag.folders])];
  const origins = [...new Set([...fromConfig.origins, ...fromFlag.origins])];
  const pins = req.pins.map(pinRoot).filter((p): p is string => p !== null);
  const tree = req.compilerTree === null ? [] : [req.compilerTree];
  return {
    roots: [...new Set([...req.repositories.map((r) => resolve(req.cwd, r)), ...pins, ...tree, ...folders])],
    origins,
    named: [...folders, ...origins],
  };
}
