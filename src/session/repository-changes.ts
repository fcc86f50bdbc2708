/**
 * What a change to an opam repository (an opam-repository pull request: new versions, edited opam
 * files or patches, removed versions) touches: the names whose versions differ between the base
 * checkout and the changed one, each version compared by its opam file's content and its `files/`.
 */
import { resolve } from 'node:path';
import type { OpamPackage } from '../opam/package-model.js';
import type { RepositoryLoad } from '../opam/repository.js';
import { FilesDirHashCache } from '../plan/files-hash.js';

export interface RepositoryChange {
  name: string;
  /** Whether the base, and the changed repository, have any version of the name. */
  inBase: boolean;
  inHead: boolean;
  added: string[];
  removed: string[];
  edited: string[];
}

function fingerprints(versions: readonly OpamPackage[], hashes: FilesDirHashCache): Map<string, string> {
  return new Map(versions.map((p) => [p.version, `${p.contentHash}\0${hashes.hash(p.filesDir)}`]));
}

/** The packages of one repository of a layered load (its first: every package it has is kept), by name. */
export function packagesOfRoot(load: RepositoryLoad, root: string): Map<string, OpamPackage[]> {
  const abs = resolve(root);
  const out = new Map<string, OpamPackage[]>();
  for (const [name, versions] of load.packages) {
    const own = versions.filter((p) => p.repository === abs);
    if (own.length > 0) out.set(name, own);
  }
  return out;
}

/**
 * The packages changed from `before` (the base checkout's packages) to `after` (the changed
 * repository's), by name, sorted. Each side is the first repository of a load the check uses anyway
 * (`packagesOfRoot`): nothing is loaded for this alone.
 */
export function repositoryChanges(
  before: ReadonlyMap<string, readonly OpamPackage[]>,
  after: ReadonlyMap<string, readonly OpamPackage[]>,
): RepositoryChange[] {
  const hashes = new FilesDirHashCache();
  const out: RepositoryChange[] = [];
  for (const name of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = fingerprints(before.get(name) ?? [], hashes);
    const a = fingerprints(after.get(name) ?? [], hashes);
    const added = [...a.keys()].filter((v) => !b.has(v));
    const removed = [...b.keys()].filter((v) => !a.has(v));
    const edited = [...a.keys()].filter((v) => b.has(v) && b.get(v) !== a.get(v));
    if (added.length + removed.length + edited.length > 0)
      out.push({ name, inBase: b.size > 0, inHead: a.size > 0, added, removed, edited });
  }
  return out;
}
