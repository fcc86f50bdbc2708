/**
 * Filling the download cache by hand (`cache import`): each file stored under each of its checksums
 * (md5, sha256, sha512), as a fetch would have stored it, so that builds find it without the network;
 * with repositories, which package versions each file serves (their `url` or an `extra-source` names
 * one of its checksums, and every checksum given agrees). A directory is walked (links not followed).
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hashFile } from '../builder/checksum.js';
import { DownloadCache } from '../builder/download-cache.js';
import type { Checksum, Url } from '../opam/package-model.js';
import { packageId } from '../opam/package-model.js';
import { loadRepositories } from '../opam/repository.js';
import { SessionError } from './session-error.js';

const ALGORITHMS: Checksum['algorithm'][] = ['md5', 'sha256', 'sha512'];

/** Every regular file given, directories walked (symbolic links not followed). */
function filesOf(paths: readonly string[]): string[] {
  const out: string[] = [];
  const visit = (p: string, given: boolean) => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      if (given) throw new SessionError('no such file or directory', 'input', { setting: 'importPath', value: p });
      return;
    }
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) visit(join(p, e), false);
    else if (st.isFile()) out.push(p);
    else if (given) throw new SessionError('not a file or directory', 'input', { setting: 'importPath', value: p });
  };
  for (const p of paths) visit(resolve(p), true);
  return out;
}

export interface Imported {
  file: string;
  checksums: Checksum[];
  serves: string[];
}

/** Imports `paths` into the download cache `downloadCache`; returns what each file is and serves. `repositoryCache`: the state paths'. */
export async function importIntoCache(
  paths: readonly string[],
  downloadCache: string,
  repositories: readonly string[],
  repositoryCache: string | null,
): Promise<{ cache: string; imported: Imported[] }> {
  const store = new DownloadCache(downloadCache);
  const files = filesOf(paths);
  // checksum (algo=hex) -> the package versions whose sources name it
  const wanted = new Map<string, { id: string; url: Url; what: string }[]>();
  if (repositories.length > 0) {
    const load = loadRepositories([...repositories], { cacheDir: repositoryCache });
    for (const versions of load.packages.values()) {
      for (const pkg of versions) {
        const sources = [
          ...(pkg.url ? [{ url: pkg.url, what: 'url' }] : []),
          ...pkg.extraSources.map((e) => ({ url: e.url, what: `extra-source ${e.name}` })),
        ];
        for (const s of sources) {
          for (const c of s.url.checksums) {
            const k = `${c.algorithm}=${c.hex.toLowerCase()}`;
            const list = wanted.get(k) ?? [];
            list.push({ id: packageId(pkg), url: s.url, what: s.what });
            wanted.set(k, list);
          }
        }
      }
    }
  }
  const imported: Imported[] = [];
  for (const file of files) {
    const checksums: Checksum[] = [];
    for (const algorithm of ALGORITHMS) checksums.push({ algorithm, hex: await hashFile(file, algorithm) });
    store.store(file, checksums);
    const has = new Map(checksums.map((c) => [c.algorithm, c.hex]));
    const serves = new Set<string>();
    for (const c of checksums) {
      for (const w of wanted.get(`${c.algorithm}=${c.hex}`) ?? []) {
        if (w.url.checksums.every((x) => has.get(x.algorithm) === x.hex.toLowerCase())) {
          serves.add(w.what === 'url' ? w.id : `${w.id} (${w.what})`);
        }
      }
    }
    imported.push({ file, checksums, serves: [...serves].sort() });
  }
  return { cache: store.root, imported };
}
