/**
 * The parsed-repository cache: what loading a repository produced, stored under a key made of the
 * repository's content (every opam file's bytes and place, whether it has a `files/` folder) and of the
 * loader's own code, so a changed file or a changed parser is a new key and never a stale answer.
 *
 * Parsing all of opam-repository takes seconds; most commands (solve, plan, installable) read only the
 * fields the solver needs from most packages. The cache stores those fields (`INDEX_FIELDS`) as JSON;
 * a cached package is a `CachedPackage` whose other fields (build commands, the syntax tree, …) are
 * parsed from the opam file's bytes the first time one of them is read.
 *
 * Location: `$ECOCHECK_CACHE_DIR/repositories`, else `$XDG_CACHE_HOME/ecocheck/repositories`, else
 * `~/.cache/ecocheck/repositories`; `ECOCHECK_REPOSITORY_CACHE=off` disables it. Entries are written
 * atomically; the least recently used beyond 8 entries or 1 GiB are dropped. Repositories of fewer
 * than `MIN_CACHED_FILES` opam files are not cached (they parse in no time).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Buffer } from 'node:buffer';
import type { OpamPackage } from './package-model.js';

/** The fields of a package a load always knows (from the opam file's place and bytes). */
export type PackagePlace = Pick<OpamPackage, 'name' | 'version' | 'file' | 'repository' | 'filesDir' | 'contentHash'>;

/** The fields of a package the cache holds (what solving reads from every package). */
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
  'extraSources',
  'setenv',
  'buildEnv',
  'synopsis',
  'extensions',
  'ast',
  'fieldSpans',
] as const satisfies readonly Exclude<keyof OpamPackage, (typeof INDEX_FIELDS)[number] | keyof PackagePlace>[];

/**
 * A package from the cache: its place at once, its index fields decoded from the cache's text when
 * first read, the others parsed from its opam file when first read.
 */
class CachedPackage {
  readonly name: string;
  readonly version: string;
  readonly file: string;
  readonly repository: string;
  readonly filesDir: string | null;
  readonly contentHash: string;
  #text: Buffer;
  #start: number;
  #end: number;
  #index: PackageIndex | null = null;
  #parse: (() => OpamPackage) | null;
  #full: OpamPackage | null = null;

  constructor(place: PackagePlace, text: Buffer, start: number, end: number, parse: () => OpamPackage) {
    this.name = place.name;
    this.version = place.version;
    this.file = place.file;
    this.repository = place.repository;
    this.filesDir = place.filesDir;
    this.contentHash = place.contentHash;
    this.#text = text;
    this.#start = start;
    this.#end = end;
    this.#parse = parse;
  }

  index(): PackageIndex {
    if (this.#index === null) {
      this.#index = JSON.parse(this.#text.toString('utf8', this.#start, this.#end)) as PackageIndex;
    }
    return this.#index;
  }

  full(): OpamPackage {
    if (this.#full === null) {
      this.#full = (this.#parse as () => OpamPackage)();
      this.#parse = null;
    }
    return this.#full;
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

/** A package of a cached load: bytes `start`…`end` of `text` are its index fields' JSON. */
export function cachedPackage(place: PackagePlace, text: Buffer, start: number, end: number, parse: () => OpamPackage): OpamPackage {
  return new CachedPackage(place, text, start, end, parse) as unknown as OpamPackage;
}

/**
 * What a load stores: per name, its versions with the byte span of their index JSON in `text` (kept as
 * bytes: a package's JSON is decoded only when it is read); the load's reports.
 */
export interface CachedLoad {
  packages: [string, [version: string, start: number, end: number][]][];
  text: Buffer;
  errors: unknown[];
  lint: unknown[];
}

/** The cached form of loaded packages. */
export function cachedForm(packages: ReadonlyMap<string, readonly OpamPackage[]>, errors: unknown[], lint: unknown[]): CachedLoad {
  const parts: Buffer[] = [];
  let at = 0;
  const out: CachedLoad['packages'] = [];
  for (const [name, list] of packages) {
    out.push([
      name,
      list.map((p) => {
        const fields: Record<string, unknown> = {};
        for (const f of INDEX_FIELDS) fields[f] = p[f];
        const json = Buffer.from(JSON.stringify(fields), 'utf8');
        parts.push(json);
        const span: [string, number, number] = [p.version, at, at + json.length];
        at += json.length;
        return span;
      }),
    ]);
  }
  return { packages: out, text: Buffer.concat(parts), errors, lint };
}

const FORMAT = 'ecocheck-repository-cache-3';
/** Least recently used entries beyond these are dropped. */
const KEEP = 8;
const KEEP_BYTES = 1 << 30;
/** Smaller repositories parse faster than a cache entry is read and written: they are not cached. */
export const MIN_CACHED_FILES = 500;

export function repositoryCacheDir(): string | null {
  if (process.env.ECOCHECK_REPOSITORY_CACHE === 'off') return null;
  const base = process.env.ECOCHECK_CACHE_DIR ?? (process.env.XDG_CACHE_HOME !== undefined ? join(process.env.XDG_CACHE_HOME, 'ecocheck') : join(homedir(), '.cache', 'ecocheck'));
  return join(base, 'repositories');
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
  private readonly h = createHash('sha256').update(FORMAT).update('\0');

  constructor(roots: readonly string[]) {
    this.h.update(loaderCode()).update('\0');
    for (const r of roots) this.h.update(r).update('\0');
  }

  add(file: string, contentHash: string, hasFiles: boolean): void {
    this.h.update(file).update('\0').update(contentHash).update(hasFiles ? '1' : '0');
  }

  digest(): string {
    return this.h.digest('hex');
  }
}

export function readRepositoryCache(key: string): CachedLoad | null {
  const dir = repositoryCacheDir();
  if (dir === null) return null;
  try {
    const head = JSON.parse(readFileSync(join(dir, `${key}.json`), 'utf8')) as Omit<CachedLoad, 'text'> & { format: string; length: number };
    if (head.format !== FORMAT) return null;
    const text = readFileSync(join(dir, `${key}.text`));
    if (text.length !== head.length) return null;
    const now = new Date();
    utimesSync(join(dir, `${key}.json`), now, now); // recently used
    return { packages: head.packages, errors: head.errors, lint: head.lint, text };
  } catch {
    return null;
  }
}

/** Stores a load (best effort: a cache that cannot be written is no error). */
export function writeRepositoryCache(key: string, load: CachedLoad): void {
  const dir = repositoryCacheDir();
  if (dir === null) return;
  try {
    mkdirSync(dir, { recursive: true });
    const put = (name: string, data: string | Buffer) => {
      const tmp = join(dir, `${name}.${process.pid}.tmp`);
      writeFileSync(tmp, data);
      renameSync(tmp, join(dir, name));
    };
    // The text first: a head names a complete text.
    put(`${key}.text`, load.text);
    put(`${key}.json`, JSON.stringify({ format: FORMAT, packages: load.packages, errors: load.errors, lint: load.lint, length: load.text.length }));
    const heads = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => {
        const text = join(dir, f.replace(/\.json$/, '.text'));
        return { f, text, t: statSync(join(dir, f)).mtimeMs, bytes: existsSync(text) ? statSync(text).size : 0 };
      })
      .sort((a, b) => b.t - a.t);
    let bytes = 0;
    heads.forEach((h, k) => {
      bytes += h.bytes;
      if (k < KEEP && (k === 0 || bytes <= KEEP_BYTES)) return;
      unlinkSync(join(dir, h.f));
      if (existsSync(h.text)) unlinkSync(h.text);
    });
  } catch {
    // Read-only or full disk: loading still works, only slower next time.
  }
}
