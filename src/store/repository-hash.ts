/** The content hash of the repositories a run read: every package's id, opam file hash and files/ hash. */
import { createHash } from 'node:crypto';
import type { OpamPackage } from '../opam/package-model.js';
import { FilesDirHashCache } from '../plan/files-hash.js';

export function repositoryContentHash(
  packages: ReadonlyMap<string, readonly OpamPackage[]>,
  filesHashes = new FilesDirHashCache(),
): string {
  const h = createHash('sha256');
  for (const name of [...packages.keys()].sort()) {
    for (const p of packages.get(name)!) h.update(`${p.name}.${p.version}\0${p.contentHash}\0${filesHashes.hash(p.filesDir)}\n`);
  }
  return h.digest('hex');
}
