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
import {
  MIN_CACHED_FILES,
  RepositoryKey,
  CachedLoadWriter,
  cachedPackage,
  cachedVersions,
  readKnownKey,
  readRepositoryCache,
  repositoryCacheDir,
  writeKnownKey,
  writeRepositoryCache,
} from './repository-cache.js';
import {
  listRoot,
  lookAt,
  recordedCandidate,
  RecordedNames,
  scanListing,
  stillAsRecorded,
  type Candidate,
  type RecordedFolder,
  type RepositoryWarning,
  type RootListing,
} from './repository-scan.js';
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
  /** See `errorsRead`. */
  errorsRead?: () => RepositoryError[];
}

function checkRoot(arg: string): string {
  const root = resolve(arg);
  let isDir: boolean;
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

/**
 * Loads and layers the repositories; throws OpamError when a root is missing or not a repository.
 *
 * When the scan records and the parsed-repository cache know the repositories as they are listed (the
 * same version folders), the load is answered from them and each name is checked on disk when it is
 * first read (`OnDemandPackages`): a one-package query looks at its own packages' files only, not at the
 * 18,000 others. What is about the whole repository (errors, warnings, counts, iterating every name)
 * checks every name first; so the load is, whatever is read of it, the load from disk.
 */
export function loadRepositories(rootArgs: string[], options: LoadOptions = {}): RepositoryLoad {
  const t0 = performance.now();
  if (rootArgs.length === 0) throw new OpamError('no repository given', 'input', { setting: 'repository' });
  const cacheDir = options.cacheDir === undefined ? repositoryCacheDir() : options.cacheDir;
  const roots = rootArgs.map(checkRoot);
  const listings = roots.map((root, i) => listRoot(root, i, cacheDir));
  return onDemandLoad(roots, listings, t0, cacheDir) ?? eagerLoad(roots, listings, t0, cacheDir);
}

export interface LoadOptions {
  /** The repository cache's folder (repository-cache.ts); null: no cache; absent: its default folder. */
  cacheDir?: string | null;
}

/** Candidates by name, in (root, listing) order. */
function byName(candidates: readonly Candidate[]): Map<string, Candidate[]> {
  const out = new Map<string, Candidate[]>();
  for (const c of candidates) {
    let list = out.get(c.name);
    if (!list) out.set(c.name, (list = []));
    list.push(c);
  }
  return out;
}

/**
 * One name's candidates layered: ascending versions, the first root's of each version, and of two
 * folders of one root with equal versions the first folder's version defined by the later one's file.
 */
function layerName(list: Candidate[], warnings: RepositoryWarning[]): Candidate[] {
  // The scan lists a folder's versions in ascending order: when they are (one root, no equal
  // versions), there is nothing to sort or merge.
  let ascending = true;
  for (let k = 1; k < list.length && ascending; k++) ascending = compareVersions(list[k - 1].version, list[k].version) < 0;
  if (ascending) return list;
  // Ascending versions; among equal versions the winner (first root, then first folder) comes first.
  const sorted = [...list].sort(
    (a, b) =>
      compareVersions(a.version, b.version) || a.rootIndex - b.rootIndex || (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0),
  );
  const kept: Candidate[] = [];
  for (const c of sorted) {
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
  return kept;
}

/** Every name layered, names in sorted order. */
function layer(grouped: Map<string, Candidate[]>, warnings: RepositoryWarning[]): Map<string, Candidate[]> {
  const out = new Map<string, Candidate[]>();
  for (const name of [...grouped.keys()].sort()) out.set(name, layerName(grouped.get(name)!, warnings));
  return out;
}

/** The parsed-repository cache's key (repository-cache.ts): every kept opam file's place and content. */
function contentKey(roots: readonly string[], kept: Map<string, Candidate[]>): string {
  const key = new RepositoryKey(roots);
  for (const list of kept.values()) for (const c of list) key.add(`${c.dir}\0${c.name}\0${c.version}`, c.contentHash, c.filesDir !== null);
  return key.digest();
}

/** A name's packages from the cache: its cached versions (the kept ones that parsed), in order. */
function cachedPackages(
  name: string,
  cachedList: readonly [string, number][],
  kept: readonly Candidate[],
  values: ValueReader,
): OpamPackage[] {
  let k = 0;
  return cachedList.map(([version, id]) => {
    while (k < kept.length && kept[k].version !== version) k++;
    const c = kept[k];
    if (c === undefined)
      throw new OpamError(`the repository cache lists ${name}.${version}, which the repository does not have`, 'internal');
    const place = { name, version, file: c.dir + sep + 'opam', repository: c.root, filesDir: c.filesDir, contentHash: c.contentHash };
    return cachedPackage(place, values, id, () => loadOne(c, [], []) as OpamPackage);
  });
}

/** Every file looked at: read where the records do not know it unchanged, the cache used when it has this content. */
function eagerLoad(roots: string[], listings: readonly RootListing[], t0: number, cacheDir: string | null): RepositoryLoad {
  const errors: RepositoryError[] = [];
  const warnings: RepositoryWarning[] = [];
  const lint: RepositoryWarning[] = [];
  const candidates: Candidate[] = [];
  for (const l of listings) for (const c of scanListing(l, warnings)) candidates.push(c);
  const fileCount = candidates.length;
  const filesRead = candidates.filter((c) => c.read).length;
  const keptByName = layer(byName(candidates), warnings);
  const digest = contentKey(roots, keptByName);
  const useCache = fileCount >= MIN_CACHED_FILES;
  const cached = useCache ? readRepositoryCache(cacheDir, digest) : null;
  const packages = new Map<string, OpamPackage[]>();
  if (cached !== null) {
    // The same key means the same kept candidates in the same order: the cache lists them in that
    // order, less the files that did not parse.
    const values = new ValueReader(cached.table.head, cached.table.body);
    for (const [name, list] of cached.packages)
      packages.set(name, cachedPackages(name, cachedVersions(list), keptByName.get(name) ?? [], values));
    errors.push(...(cached.errors as RepositoryError[]));
    lint.push(...(cached.lint as RepositoryWarning[]));
    return { roots, packages, errors, warnings, fileCount, filesRead, loadMs: performance.now() - t0, lint };
  }
  // With a cache, the load is what the next one will read back from it: each name's packages go into
  // the cached form as they are parsed, and are then the cache's packages (index fields from its value
  // table, the rest parsed again from the file when read). The syntax trees, commands and spans of
  // every file, which the whole repository's parse would otherwise hold for the command's life
  // (hundreds of MiB at opam-repository's scale), are not kept; the answers are the cached load's.
  const writer = useCache && cacheDir !== null ? new CachedLoadWriter() : null;
  for (const [name, kept] of keptByName) {
    const loaded: OpamPackage[] = [];
    for (const c of kept) {
      const pkg = loadOne(c, errors, lint);
      if (pkg) loaded.push(pkg);
    }
    if (loaded.length === 0) continue;
    if (writer !== null) writer.add(name, loaded);
    else packages.set(name, loaded);
  }
  // Without a cache (a small repository, or none asked for), the parsed packages are the load.
  if (writer === null) return { roots, packages, errors, warnings, fileCount, filesRead, loadMs: performance.now() - t0, lint };
  const form = writer.finish(errors, lint);
  writeRepositoryCache(cacheDir, digest, form);
  const values = new ValueReader(form.table.head, form.table.body);
  for (const [name, list] of form.packages) {
    const kept = (keptByName.get(name) ?? []).map((c) => c.unheld());
    packages.set(name, cachedPackages(name, cachedVersions(list), kept, values));
  }
  return { roots, packages, errors, warnings, fileCount, filesRead, loadMs: performance.now() - t0, lint };
}

/**
 * The packages of a load answered from the records: a name is checked on disk (its opam files and
 * `files/` folders still as recorded) when it is first read, and read again from disk when it is not.
 * Iterating, or asking the size, checks every name first, and gives the names in sorted order (those
 * `set` by the caller that the repository does not have after them), as a load from disk does.
 */
export class OnDemandPackages extends Map<string, OpamPackage[]> {
  #pending: Set<string> | null = null;
  #repositoryNames: readonly string[] = [];
  #settleName: (name: string) => OpamPackage[] = () => [];
  #settled: string[] = [];
  #listedWithVersion: (version: string) => string[] = () => [];
  #peek: (name: string, version: string) => OpamPackage | null = () => null;

  /**
   * `names`: the repository's names in order; `listedWithVersion`: those with a folder spelling a
   * version (the listing is checked: it is the disk's).
   */
  static of(
    names: readonly string[],
    listedWithVersion: (version: string) => string[],
    settle: (name: string) => OpamPackage[],
    peek?: (name: string, version: string) => OpamPackage | null,
  ): OnDemandPackages {
    const m = new OnDemandPackages();
    m.#repositoryNames = names;
    m.#pending = new Set(names);
    m.#listedWithVersion = listedWithVersion;
    m.#settleName = settle;
    if (peek !== undefined) m.#peek = peek;
    return m;
  }

  /**
   * The package `name` lists at exactly `version` (`get(name)` and that version), checking on disk
   * only that version's folder when it alone can define it (`peek`: one folder of an equal version in
   * every root, as recorded, and no error recorded for it); else the name is checked whole.
   */
  atVersion(name: string, version: string): OpamPackage | undefined {
    if (this.#pending?.has(name) === true) {
      const p = this.#peek(name, version);
      if (p !== null) return p;
    }
    return this.get(name)?.find((p) => p.version === version);
  }

  /** The names that have a folder of `version`, without checking any (`namesWithVersion`). */
  listedWithVersion(version: string): string[] {
    const out = this.#listedWithVersion(version);
    const listed = new Set(this.#repositoryNames);
    for (const name of super.keys()) if (!listed.has(name) && (super.get(name) ?? []).some((p) => p.version === version)) out.push(name);
    return out;
  }

  #settle(name: string): void {
    if (this.#pending === null || !this.#pending.delete(name)) return;
    this.#settled.push(name);
    const list = this.#settleName(name);
    if (list.length > 0) super.set(name, list);
  }

  /** Checks every name not checked yet, and puts the names in a load's order. */
  settleAll(): void {
    if (this.#pending === null) return;
    for (const name of [...this.#pending]) this.#settle(name);
    this.#pending = null;
    const entries = new Map(super.entries());
    super.clear();
    for (const name of this.#repositoryNames) {
      const list = entries.get(name);
      if (list !== undefined) super.set(name, list);
      entries.delete(name);
    }
    for (const [name, list] of entries) super.set(name, list);
  }

  /** The names checked so far (every name once `settleAll` ran). */
  settledNames(): readonly string[] {
    return this.#settled;
  }

  override get(name: string): OpamPackage[] | undefined {
    this.#settle(name);
    return super.get(name);
  }

  override has(name: string): boolean {
    this.#settle(name);
    return super.has(name);
  }

  override set(name: string, value: OpamPackage[]): this {
    this.#pending?.delete(name);
    return super.set(name, value);
  }

  override delete(name: string): boolean {
    this.#pending?.delete(name);
    return super.delete(name);
  }

  override get size(): number {
    this.settleAll();
    return super.size;
  }

  override keys(): MapIterator<string> {
    this.settleAll();
    return super.keys();
  }

  override values(): MapIterator<OpamPackage[]> {
    this.settleAll();
    return super.values();
  }

  override entries(): MapIterator<[string, OpamPackage[]]> {
    this.settleAll();
    return super.entries();
  }

  override forEach(f: (value: OpamPackage[], key: string, map: Map<string, OpamPackage[]>) => void, thisArg?: unknown): void {
    this.settleAll();
    super.forEach(f, thisArg);
  }

  override [Symbol.iterator](): MapIterator<[string, OpamPackage[]]> {
    return this.entries();
  }
}

/** The load answered from the scan records and the cache, each name checked when first read; null when they do not know the repositories as listed. */
function onDemandLoad(roots: string[], listings: readonly RootListing[], t0: number, cacheDir: string | null): RepositoryLoad | null {
  // The version folders by the name they are versions of (the folder name up to its first dot; one
  // that is no NAME.VERSION gives no candidate); their candidates are made when the name is read.
  const recorded = RecordedNames.of(listings);
  if (recorded === null || recorded.files < MIN_CACHED_FILES) return null;
  const candidatesMemo = new Map<string, Candidate[]>();
  const candidatesOf = (name: string): Candidate[] => {
    let list = candidatesMemo.get(name);
    if (list === undefined) {
      list = [];
      for (const r of recorded.folders(name)) {
        const c = recordedCandidate(r, []);
        if (c !== null && c.name === name) list.push(c);
      }
      candidatesMemo.set(name, list);
    }
    return list;
  };
  const names = recorded.names;
  // The content key: known from the last load while the records are those it read; else layered and
  // hashed (and then known for the next load).
  const generations = listings.some((l) => l.relisted || l.old === null) ? null : listings.map((l) => l.old!.generation);
  let layered: { kept: Map<string, Candidate[]>; warnings: RepositoryWarning[] } | null = null;
  const layering = () => {
    if (layered === null) {
      const warnings: RepositoryWarning[] = [];
      const grouped = new Map<string, Candidate[]>();
      for (const n of names) if (candidatesOf(n).length > 0) grouped.set(n, candidatesOf(n));
      layered = { kept: layer(grouped, warnings), warnings };
    }
    return layered;
  };
  const known = generations === null ? null : readKnownKey(cacheDir, roots, generations);
  const key = known ?? contentKey(roots, layering().kept);
  const cached = readRepositoryCache(cacheDir, key);
  if (cached === null) return null;
  if (known === null && generations !== null) writeKnownKey(cacheDir, roots, generations, key);
  const keptOf = (name: string): Candidate[] => layered?.kept.get(name) ?? layerName(candidatesOf(name), []);
  // What the listing says of the folders' places (misplaced, not NAME.VERSION), in its order.
  const placeWarnings = (): RepositoryWarning[] => {
    const warnings: RepositoryWarning[] = [];
    for (const r of recorded.all()) recordedCandidate(r, warnings);
    return warnings;
  };
  const values = new ValueReader(cached.table.head, cached.table.body);
  const cachedOf = new Map(cached.packages);
  const cachedErrors = cached.errors as RepositoryError[];
  const cachedLint = cached.lint as RepositoryWarning[];
  // Names read again from disk (their files changed): their packages, and what parsing them said.
  const changed = new Map<string, { errors: RepositoryError[] }>();
  const settle = (name: string): OpamPackage[] => {
    const folders = recorded.folders(name);
    if (folders.every(stillAsRecorded)) {
      const list = cachedOf.get(name);
      return list === undefined ? [] : cachedPackages(name, cachedVersions(list), keptOf(name), values);
    }
    // Read again: every version folder of the name, in the listing's order (a folder with a new
    // opam file too), layered as a load from disk layers them.
    const fresh: Candidate[] = [];
    for (const r of folders) {
      const again = lookAt(r.listing, r.folder);
      if (again !== null && again.name === name) fresh.push(again);
    }
    const errors: RepositoryError[] = [];
    const loaded: OpamPackage[] = [];
    for (const c of layerName(fresh, [])) {
      const p = loadOne(c, errors, []);
      if (p !== null) loaded.push(p);
    }
    changed.set(name, { errors });
    return loaded;
  };
  // One version of a name, as `settle` would give it, when one folder alone can define it (null: settle the name).
  let errorFiles: Set<string> | null = null;
  const peek = (name: string, version: string): OpamPackage | null => {
    let only: RecordedFolder | null = null;
    for (const r of recorded.folders(name)) {
      if (!versionsEqual(r.folder.folder.slice(name.length + 1), version)) continue;
      if (only !== null) return null;
      only = r;
    }
    if (only === null || only.folder.folder !== `${name}.${version}` || !stillAsRecorded(only)) return null;
    const c = recordedCandidate(only, []);
    errorFiles ??= new Set(cachedErrors.map((e) => e.file));
    if (c === null || c.name !== name || errorFiles.has(c.dir + sep + 'opam')) return null;
    const id = cachedVersions(cachedOf.get(name) ?? '').find(([v]) => v === version)?.[1];
    if (id === undefined) return null;
    const place = { name, version, file: c.dir + sep + 'opam', repository: c.root, filesDir: c.filesDir, contentHash: c.contentHash };
    return cachedPackage(place, values, id, () => loadOne(c, [], []) as OpamPackage);
  };
  const packages = OnDemandPackages.of(names, (version) => recorded.withVersion(version), settle, peek);
  // What is about every file: as recorded when no name changed, else from a load from disk.
  let fromDisk: RepositoryLoad | null = null;
  // Folders of no name (not NAME.VERSION) count for the whole only (their warnings).
  let elsewhereChanged: boolean | null = null;
  const whole = (): RepositoryLoad | null => {
    packages.settleAll();
    elsewhereChanged ??= !recorded.folders('').every(stillAsRecorded);
    if (changed.size === 0 && !elsewhereChanged) return null;
    fromDisk ??= eagerLoad(
      roots,
      roots.map((root, i) => listRoot(root, i, cacheDir)),
      performance.now(),
      cacheDir,
    );
    return fromDisk;
  };
  const filesOf = (settled: readonly string[]) =>
    new Set(settled.flatMap((n) => recorded.folders(n).map((r) => r.folder.dir + sep + 'opam')));
  let allWarnings: RepositoryWarning[] | null = null;
  const load = { roots, packages, loadMs: performance.now() - t0 } as unknown as RepositoryLoad;
  Object.defineProperties(load, {
    errors: { enumerable: true, get: () => whole()?.errors ?? cachedErrors },
    lint: { enumerable: true, get: () => whole()?.lint ?? cachedLint },
    warnings: { enumerable: true, get: () => whole()?.warnings ?? (allWarnings ??= [...placeWarnings(), ...layering().warnings]) },
    fileCount: { enumerable: true, get: () => whole()?.fileCount ?? names.reduce((n, name) => n + candidatesOf(name).length, 0) },
    filesRead: { enumerable: true, get: () => whole()?.filesRead ?? 0 },
  });
  load.errorsRead = () => {
    const settled = packages.settledNames();
    const unchanged = filesOf(settled.filter((n) => !changed.has(n)));
    return [...cachedErrors.filter((e) => unchanged.has(e.file)), ...settled.flatMap((n) => changed.get(n)?.errors ?? [])];
  };
  return load;
}

/**
 * The names of `packages` that may have a version spelled `version` (all that do, maybe more): for a
 * load checked name by name, from its listing, so that no other name is checked.
 */
export function namesWithVersion(packages: ReadonlyMap<string, readonly OpamPackage[]>, version: string): string[] {
  if (packages instanceof OnDemandPackages) return packages.listedWithVersion(version);
  return [...packages].filter(([, list]) => list.some((p) => p.version === version)).map(([name]) => name);
}

/** The package `name` lists at exactly `version`, checking as little on disk as it can (`OnDemandPackages.atVersion`). */
export function packageAtVersion(
  packages: ReadonlyMap<string, readonly OpamPackage[]>,
  name: string,
  version: string,
): OpamPackage | undefined {
  if (packages instanceof OnDemandPackages) return packages.atVersion(name, version);
  return packages.get(name)?.find((p) => p.version === version);
}

/** The errors of the opam files a query read: all of them, but for a load checked name by name (`loadRepositories`), those of the names read so far. */
export function errorsRead(load: RepositoryLoad): RepositoryError[] {
  return load.errorsRead?.() ?? load.errors;
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
