/**
 * The parsed-repository cache: what loading a repository produced, stored under a key made of the
 * repository's content (every opam file's bytes and place, whether it has a `files/` folder) and of the
 * loader's own code, so a changed file or a changed parser is a new key and never a stale answer.
 *
 * Parsing all of opam-repository takes seconds; most commands (solve, plan, installable) read only the
 * fields the solver needs from most packages. The cache stores those fields (`INDEX_FIELDS`) in one
 * value table (`value-table.ts`: what packages share, such as `ocaml {>= "4.08"}`, is stored and built
 * once); a cached package is a `CachedPackage` whose other fields (build commands, the syntax tree, …)
 * are parsed from its opam file the first time one of them is read.
 *
 * Location: the folder each call is given (the application's state paths: under `--state-dir` when one
 * is given); `repositoryCacheDir()` is the default, `$ECOCHECK_CACHE_DIR/repositories`, else
 * `$XDG_CACHE_HOME/ecocheck/repositories`, else `~/.cache/ecocheck/repositories`;
 * `ECOCHECK_REPOSITORY_CACHE=off` disables it. Entries are written
 * atomically; the least recently used beyond 8 entries or 1 GiB are dropped. Repositories of fewer
 * than `MIN_CACHED_FILES` opam files are not cached (they parse in no time).
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpamPackage } from './package-model.js';
import { readCacheFile, writeCacheFile } from './cache-file.js';
import { ValueReader, ValueTableWriter, type ValueTableHead } from './value-table.js';

/** The fields of a package a load always knows (from the opam file's place and bytes). */
export type PackagePlace = Pick<OpamPackage, 'name' | 'version' | 'file' | 'repository' | 'filesDir' | 'contentHash'>;

/**
 * The fields of a package the cache holds: what solving reads from every package, and what a plan and
 * its builds read from every job's package and its closure (the sources' urls for the keys, the
 * `setenv` of every installed dependency), so that only the package being built is parsed whole.
 */
export const INDEX_FIELDS = [
  'opamVersion',
  'depends',
  'depopts',
  'conflicts',
  'conflictClass',
  'available',
  'flags',
  'url',
  'depexts',
  'extraSources',
  'setenv',
] as const satisfies readonly (keyof OpamPackage)[];

export type PackageIndex = Pick<OpamPackage, (typeof INDEX_FIELDS)[number]>;

/** The fields read from the opam file on demand. */
const PARSED_ON_DEMAND = [
  'build',
  'install',
  'remove',
  'runTest',
  'patches',
  'substs',
  'extraFiles',
  'buildEnv',
  'synopsis',
  'extensions',
  'ast',
  'fieldSpans',
] as const satisfies readonly Exclude<keyof OpamPackage, (typeof INDEX_FIELDS)[number] | keyof PackagePlace>[];

/**
 * A package from the cache: its place at once, its index fields decoded from the cache's value table
 * when first read, the others parsed from its opam file when first read. That parse is held weakly: a
 * build reads its package's commands while it runs, and the parses of thousands of built packages (the
 * syntax tree and spans of each) are not kept for the rest of the run; read after the garbage collector
 * took it, the file is parsed again (and checked against the content hash its job's key was made of).
 */
class CachedPackage {
  readonly name: string;
  readonly version: string;
  readonly file: string;
  readonly repository: string;
  readonly filesDir: string | null;
  readonly contentHash: string;
  #values: ValueReader;
  #id: number;
  #index: PackageIndex | null = null;
  #parse: () => OpamPackage;
  #full: WeakRef<OpamPackage> | null = null;

  constructor(place: PackagePlace, values: ValueReader, id: number, parse: () => OpamPackage) {
    this.name = place.name;
    this.version = place.version;
    this.file = place.file;
    this.repository = place.repository;
    this.filesDir = place.filesDir;
    this.contentHash = place.contentHash;
    this.#values = values;
    this.#id = id;
    this.#parse = parse;
  }

  index(): PackageIndex {
    if (this.#index === null) this.#index = this.#values.value(this.#id) as PackageIndex;
    return this.#index;
  }

  full(): OpamPackage {
    let full = this.#full?.deref();
    if (full === undefined) {
      full = this.#parse();
      this.#full = new WeakRef(full);
    }
    return full;
  }
}
for (const field of INDEX_FIELDS) {
  Object.defineProperty(CachedPackage.prototype, field, {
    get(this: CachedPackage) {
      return this.index()[field];
    },
    enumerable: true,
  });
}
for (const field of PARSED_ON_DEMAND) {
  Object.defineProperty(CachedPackage.prototype, field, {
    get(this: CachedPackage) {
      return this.full()[field];
    },
    enumerable: true,
  });
}

/** A package of a cached load: value `id` of the load's table holds its index fields. */
export function cachedPackage(place: PackagePlace, values: ValueReader, id: number, parse: () => OpamPackage): OpamPackage {
  return new CachedPackage(place, values, id, parse) as unknown as OpamPackage;
}

/**
 * What a load stores: per name, its versions with the id of their index fields in the value table
 * (shared subtrees stored once; a package's fields are built only when read), as one text per name
 * (`cachedVersions` reads it: a load reads the names a query asks); the load's reports.
 */
export interface CachedLoad {
  packages: [name: string, versions: string][];
  table: { head: ValueTableHead; body: Uint8Array };
  errors: unknown[];
  lint: unknown[];
}

/**
 * The cached form of a load, written name by name: a load from disk adds each name's packages as it
 * parses them and need not hold every parsed package at once.
 */
export class CachedLoadWriter {
  readonly #values = new ValueTableWriter();
  readonly #packages: CachedLoad['packages'] = [];

  /** A name's packages (its versions in order); their index fields go into the value table. */
  add(name: string, list: readonly OpamPackage[]): void {
    this.#packages.push([
      name,
      list
        .map((p) => {
          const fields: Record<string, unknown> = {};
          for (const f of INDEX_FIELDS) fields[f] = p[f];
          return `${p.version} ${this.#values.add(fields)}`;
        })
        .join(' '),
    ]);
  }

  /** The cached form of the names added, with the load's reports. */
  finish(errors: unknown[], lint: unknown[]): CachedLoad {
    return { packages: this.#packages, table: this.#values.encode(), errors, lint };
  }
}

/** A name's cached versions: each version (no version holds a space) with the id of its index fields. */
export function cachedVersions(text: string): [version: string, id: number][] {
  const parts = text === '' ? [] : text.split(' ');
  const out: [string, number][] = [];
  for (let k = 0; k + 1 < parts.length; k += 2) out.push([parts[k], Number(parts[k + 1])]);
  return out;
}

const FORMAT = 'ecocheck-repository-cache-7';
/** Least recently used entries beyond these are dropped. */
const KEEP = 8;
/** Scan records (`repository-scan.ts`) live beside the loads, under this prefix; the newest KEEP_SCANS are kept. */
export const SCAN_RECORD_PREFIX = 'scan-';
const LOAD_SUFFIX = '.load';
const KEEP_SCANS = 16;
const KEEP_BYTES = 1 << 30;
/** Smaller repositories parse faster than a cache entry is read and written: they are not cached. */
export const MIN_CACHED_FILES = 500;

/** The default folder of the cache (null: turned off), for a command without a state dir. */
export function repositoryCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.ECOCHECK_REPOSITORY_CACHE === 'off') return null;
  const xdg =
    env.XDG_CACHE_HOME !== undefined && isAbsolute(env.XDG_CACHE_HOME)
      ? env.XDG_CACHE_HOME
      : join(env.HOME !== undefined && isAbsolute(env.HOME) ? env.HOME : homedir(), '.cache');
  return join(env.ECOCHECK_CACHE_DIR ?? join(xdg, 'ecocheck'), 'repositories');
}

let loaderCodeHash: string | null = null;

/** A hash of the opam layer's code (this folder's modules): a new parser means new keys. */
function loaderCode(): string {
  if (loaderCodeHash === null) {
    const h = createHash('sha256');
    const dir = dirname(fileURLToPath(import.meta.url));
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.js') || f.endsWith('.ts')) h.update(f).update(readFileSync(join(dir, f)));
    loaderCodeHash = h.digest('hex');
  }
  return loaderCodeHash;
}

/** The key of a repository's content: call `add` for every opam file found, in a fixed order. */
export class RepositoryKey {
  private readonly parts: string[] = [];

  constructor(private readonly roots: readonly string[]) {}

  add(file: string, contentHash: string, hasFiles: boolean): void {
    this.parts.push(file, contentHash + (hasFiles ? '1' : '0'));
  }

  digest(): string {
    // One update of the whole text: thousands of small ones cost more than the hashing.
    return createHash('sha256')
      .update(`${FORMAT}\0${loaderCode()}\0${this.roots.join('\0')}\0${this.parts.join('\0')}`)
      .digest('hex');
  }
}

export function readRepositoryCache(dir: string | null, key: string): CachedLoad | null {
  if (dir === null) return null;
  const file = join(dir, `${key}${LOAD_SUFFIX}`);
  const read = readCacheFile(file);
  if (read === null) return null;
  const head = read.head as Omit<CachedLoad, 'table'> & { format: string; table: ValueTableHead };
  if (head.format !== FORMAT) return null;
  try {
    const now = new Date();
    utimesSync(file, now, now); // recently used
  } catch {
    // A read-only cache is still a cache.
  }
  return { packages: head.packages, table: { head: head.table, body: read.body }, errors: head.errors, lint: head.lint };
}

/** Stores a load (best effort: a cache that cannot be written is no error). */
export function writeRepositoryCache(dir: string | null, key: string, load: CachedLoad): void {
  if (dir === null) return;
  try {
    const head = { format: FORMAT, packages: load.packages, table: load.table.head, errors: load.errors, lint: load.lint };
    writeCacheFile(join(dir, `${key}${LOAD_SUFFIX}`), head, load.table.body);
    dropLeastRecentlyUsed(dir);
  } catch {
    // Read-only or full disk: loading still works, only slower next time.
  }
}

/** Keeps the KEEP most recently used loads within KEEP_BYTES (the newest always), and their scan records. */
function dropLeastRecentlyUsed(dir: string): void {
  const loads = readdirSync(dir)
    .filter((f) => f.endsWith(LOAD_SUFFIX))
    .map((f) => {
      const st = statSync(join(dir, f));
      return { f, t: st.mtimeMs, bytes: st.size };
    })
    .sort((a, b) => b.t - a.t);
  let bytes = 0;
  loads.forEach((h, k) => {
    bytes += h.bytes;
    if (k < KEEP && (k === 0 || bytes <= KEEP_BYTES)) return;
    unlinkSync(join(dir, h.f));
  });
  readdirSync(dir)
    .filter((f) => f.startsWith(SCAN_RECORD_PREFIX))
    .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t)
    .slice(KEEP_SCANS)
    .forEach((h) => unlinkSync(join(dir, h.f)));
  // Leftovers of the format before (a `.json` head and a `.text` each).
  for (const f of readdirSync(dir)) if (f.endsWith('.text') || f.endsWith('.json')) unlinkSync(join(dir, f));
}

/**
 * What the last load of these roots by this loader found their content key to be, under the scan
 * records' generations (`repository-scan.ts`): while no record is rewritten and no folder listed
 * again, the key is known without layering and hashing every package again. It is kept per loader
 * code (`loader`, the hash of this folder's modules, as in the content key): another parser (a
 * rebuild, another checkout sharing the cache) never takes a load parsed by this one.
 */
export function readKnownKey(
  dir: string | null,
  roots: readonly string[],
  generations: readonly string[],
  loader: string = loaderCode(),
): string | null {
  if (dir === null || generations.some((g) => typeof g !== 'string' || g === '')) return null;
  const known = readCacheFile(knownKeyFile(dir, roots, loader))?.head as
    { format?: string; generations?: string[]; key?: string } | undefined;
  if (known?.format !== FORMAT || !Array.isArray(known.generations) || typeof known.key !== 'string') return null;
  const same = known.generations.length === generations.length && known.generations.every((g, k) => g === generations[k]);
  return same ? known.key : null;
}

export function writeKnownKey(
  dir: string | null,
  roots: readonly string[],
  generations: readonly string[],
  key: string,
  loader: string = loaderCode(),
): void {
  if (dir === null) return;
  try {
    writeCacheFile(knownKeyFile(dir, roots, loader), { format: FORMAT, generations, key }, new Uint8Array(0));
  } catch {
    // Best effort, as the cache.
  }
}

function knownKeyFile(dir: string, roots: readonly string[], loader: string): string {
  return join(
    dir,
    `${SCAN_RECORD_PREFIX}key-${createHash('sha256').update(loader).update('\0').update(roots.join('\0')).digest('hex')}.bin`,
  );
}
