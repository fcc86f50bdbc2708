/**
 * Loads opam repositories from disk: `packages/NAME/NAME.VERSION/opam` (or opam's flat
 * `packages/NAME.VERSION/opam`), with an optional `files/` folder beside each opam file. Several roots
 * are layered: for the same package version the FIRST root wins. Within one root, two folders whose
 * versions are equal in opam's order (`1.0` and `1.00`) define one package version, as in opam: it is
 * listed under the first folder's version and defined by the last folder's opam file (sorted order), which
 * is what opam 2.1.2 lists and solves with on the real repository (its package list keeps the first of
 * equal versions, its map of opam files the last); a warning names both. A file that fails to parse is
 * recorded as an error and skipped; everything else loads.
 */
import { statSync, existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { OpamPackage } from './package-model.js';
import { OpamFormatError } from './parse-error.js';
import { parseOpamFile } from './parser.js';
import { compareVersions, versionsEqual } from './version.js';
import { packageFromAstWithWarnings } from './package-from-ast.js';
import { OpamError } from './opam-error.js';
import { MIN_CACHED_FILES, RepositoryKey, cachedForm, cachedPackage, readRepositoryCache, writeRepositoryCache } from './repository-cache.js';
import { scanRoot, type Candidate, type RepositoryWarning } from './repository-scan.js';
import { ValueReader } from './value-table.js';

export interface RepositoryError {
  file: string;
  line: number;
  column: number;
  message: string;
}

export type { RepositoryWarning } from './repository-scan.js';

export interface RepositoryLoad {
  roots: string[];
  /** By name; each list holds the versions in ascending opam order. */
  packages: Map<string, OpamPackage[]>;
  errors: RepositoryError[];
  warnings: RepositoryWarning[];
  /** opam files found (before layering and de-duplication). */
  fileCount: number;
  /** How many of them were read from disk (the others were known unchanged from the last scan, `repository-scan.ts`). */
  filesRead: number;
  loadMs: number;
  /**
   * What opam's linter would say about loaded files without refusing them (unknown flags, a conflicts
   * conjunction…): kept apart from `warnings`, which are about the repository's layout.
   */
  lint: RepositoryWarning[];
}

function checkRoot(arg: string): string {
  const root = resolve(arg);
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    throw new OpamError('no such directory', 'input', { setting: 'repository', value: arg });
  }
  if (!isDir) throw new OpamError('not a directory', 'input', { setting: 'repository', value: arg });
  if (!existsSync(join(root, 'packages'))) {
    throw new OpamError('not an opam repository (no packages/ folder)', 'input', { setting: 'repository', value: arg });
  }
  return root;
}

/** Loads and layers the repositories; throws OpamError when a root is missing or not a repository. */
export function loadRepositories(rootArgs: string[]): RepositoryLoad {
  const t0 = performance.now();
  if (rootArgs.length === 0) throw new OpamError('no repository given', 'input', { setting: 'repository' });
  const roots = rootArgs.map(checkRoot);
  const errors: RepositoryError[] = [];
  const warnings: RepositoryWarning[] = [];
  const lint: RepositoryWarning[] = [];
  const candidates: Candidate[] = [];
  roots.forEach((root, i) => {
    for (const c of scanRoot(root, i, warnings)) candidates.push(c);
  });
  const fileCount = candidates.length;
  const filesRead = candidates.filter((c) => c.read).length;

  // Group by name; within a name, order by (root priority, folder name) so the winner comes first.
  const byNameMap = new Map<string, Candidate[]>();
  for (const c of candidates) {
    let list = byNameMap.get(c.name);
    if (!list) byNameMap.set(c.name, (list = []));
    list.push(c);
  }
  const keptByName: [string, Candidate[]][] = [];
  const names = [...byNameMap.keys()].sort();
  for (const name of names) {
    const list = byNameMap.get(name)!;
    // The scan lists a folder's versions in ascending order: when they are (one root, no equal
    // versions), there is nothing to sort or merge.
    let ascending = true;
    for (let k = 1; k < list.length && ascending; k++) ascending = compareVersions(list[k - 1].version, list[k].version) < 0;
    if (ascending) {
      keptByName.push([name, list]);
      continue;
    }
    // Ascending versions; among equal versions the winner (first root, then first folder) comes first.
    list.sort(
      (a, b) =>
        compareVersions(a.version, b.version) ||
        a.rootIndex - b.rootIndex ||
        (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0),
    );
    const kept: Candidate[] = [];
    for (const c of list) {
      const winner = kept.length > 0 ? kept[kept.length - 1]! : undefined;
      if (!winner || !versionsEqual(winner.version, c.version)) {
        kept.push(c);
      } else if (winner.rootIndex === c.rootIndex) {
        // Listed under the first folder's version, defined by the later folder's file.
        kept[kept.length - 1] = c.listedAs(winner.version, winner.folder);
        warnings.push({
          file: join(c.dir, 'opam'),
          message: `versions ${winner.version} and ${c.version} are equal in opam's version order: as opam does, one package version is listed, ${winner.folder}, defined by the opam file of ${c.name}.${c.version}`,
        });
      }
      // A lower-priority root's version is shadowed by the overlay silently: that is what layering means.
    }
    keptByName.push([name, kept]);
  }

  // The parsed-repository cache (repository-cache.ts), keyed by every kept opam file's content.
  const key = new RepositoryKey(roots);
  for (const [, kept] of keptByName) for (const c of kept) key.add(`${c.dir}\0${c.name}\0${c.version}`, c.contentHash, c.filesDir !== null);
  const digest = key.digest();
  const useCache = fileCount >= MIN_CACHED_FILES;
  const cached = useCache ? readRepositoryCache(digest) : null;
  const packages = new Map<string, OpamPackage[]>();
  if (cached !== null) {
    // The same key means the same kept candidates in the same order: the cache lists them in that
    // order, less the files that did not parse.
    const values = new ValueReader(cached.table.head, cached.table.body);
    const keptOf = new Map(keptByName);
    for (const [name, list] of cached.packages) {
      const kept = keptOf.get(name) ?? [];
      let k = 0;
      packages.set(
        name,
        list.map(([version, id]) => {
          while (k < kept.length && kept[k].version !== version) k++;
          const c = kept[k];
          if (c === undefined) throw new OpamError(`the repository cache lists ${name}.${version}, which the repository does not have`, 'internal');
          const place = { name, version, file: c.dir + sep + 'opam', repository: c.root, filesDir: c.filesDir, contentHash: c.contentHash };
          return cachedPackage(place, values, id, () => loadOne(c, [], []) as OpamPackage);
        }),
      );
    }
    errors.push(...(cached.errors as RepositoryError[]));
    lint.push(...(cached.lint as RepositoryWarning[]));
    return { roots, packages, errors, warnings, fileCount, filesRead, loadMs: performance.now() - t0, lint };
  }
  for (const [name, kept] of keptByName) {
    const loaded: OpamPackage[] = [];
    for (const c of kept) {
      const pkg = loadOne(c, errors, lint);
      if (pkg) loaded.push(pkg);
    }
    if (loaded.length > 0) packages.set(name, loaded);
  }
  if (useCache) writeRepositoryCache(digest, cachedForm(packages, errors, lint));
  return { roots, packages, errors, warnings, fileCount, filesRead, loadMs: performance.now() - t0, lint };
}

function loadOne(c: Candidate, errors: RepositoryError[], lint: RepositoryWarning[]): OpamPackage | null {
  const file = c.dir + sep + 'opam';
  const { contentHash, filesDir } = c;
  try {
    const ast = parseOpamFile(c.bytes().toString('utf8'), file);
    const { pkg, warnings: w } = packageFromAstWithWarnings(ast, {
      name: c.name,
      version: c.version,
      file,
      repository: c.root,
      filesDir,
      contentHash,
    });
    for (const message of w) lint.push({ file, message });
    return pkg;
  } catch (e) {
    if (e instanceof OpamFormatError) {
      errors.push(e.toJSON());
      return null;
    }
    throw e;
  }
}

/** The package `name` at `version` (exact folder spelling first, else an equal version), or its newest version. */
export function findPackage(load: RepositoryLoad, name: string, version?: string): OpamPackage | undefined {
  const list = load.packages.get(name);
  if (!list || list.length === 0) return undefined;
  if (version === undefined) return list[list.length - 1];
  return list.find((p) => p.version === version) ?? list.find((p) => versionsEqual(p.version, version));
}

/** Number of package versions loaded. */
export function versionCount(load: RepositoryLoad): number {
  let n = 0;
  for (const list of load.packages.values()) n += list.length;
  return n;
}
