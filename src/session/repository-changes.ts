/**
 * What a change to an opam repository (an opam-repository pull request: new versions, edited opam
 * files or patches, removed versions) touches: the names whose versions differ between the base
 * checkout and the changed one, each version compared by its opam file's content and its `files/`.
 */
import type { OpamPackage } from '../opam/package-model.js';
import { loadRepositories } from '../opam/repository.js';
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

/** The packages changed from `base` to `head` (each a repository root), by name, sorted; `cacheDir`: the repository cache's. */
export function repositoryChanges(base: string, head: string, cacheDir: string | null): RepositoryChange[] {
  const before = loadRepositories([base], { cacheDir }).packages;
  const after = loadRepositories([head], { cacheDir }).packages;
  const hashes = new FilesDirHashCache();
  const out: RepositoryChange[] = [];
  for (const name of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = fingerprints(before.get(name) ?? [], hashes);
    const a = fingerprints(after.get(name) ?? [], hashes);
    const added = [...a.keys()].filter((v) => !b.has(v));
    const removed = [...b.keys()].filter((v) => !a.has(v));
    const edited = [...a.keys()].filter((v) => b.has(v) && b.get(v) !== a.get(v));
    if (added.length + removed.length + edited.length > 0) out.push({ name, inBase: b.size > 0, inHead: a.size > 0, added, removed, edited });
  }
  return out;
}
