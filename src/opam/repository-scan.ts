/**
 * Finding the opam files of one repository root, and what each one's content is (its sha256), without
 * reading the files that have not changed since the last scan.
 *
 * A scan record (`scan-<hash of the root>.bin` in the repository cache's folder) keeps, per version
 * folder, the opam file's inode, size, mtime and ctime with its content hash, and per name folder its
 * mtime, ctime and entries. A later scan trusts a record only where the file system says nothing changed:
 * - the kernel sets a file's ctime from the clock at every change, and no tool can set it back (`touch`
 *   and `tar` set mtimes only): what changed after the record was made has a later ctime. As git does
 *   with its index, what changed less than `RACY_MS` before the scan that recorded it is not trusted
 *   either (a change in the same clock tick would keep its times), so it is read again;
 * - an opam file is known unchanged when its inode, size, mtime and ctime are the recorded ones (a file
 *   replaced has another inode), a name folder's entries when its mtime and ctime are (adding, removing
 *   or renaming a version folder changes them).
 * `files/` folders are looked up every time. Everything not trusted is read and hashed; the record is
 * rewritten when anything was. `ECOCHECK_REPOSITORY_CACHE=off` turns records off with the cache.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, statSync, type Stats } from 'node:fs';
import { Buffer } from 'node:buffer';
import { join, sep } from 'node:path';
import { isValidPackageName, isValidVersion } from './filter.js';
import { OpamError } from './opam-error.js';
import { compareVersions } from './version.js';
import { readCacheFile, writeCacheFile } from './cache-file.js';
import { MIN_CACHED_FILES, SCAN_RECORD_PREFIX } from './repository-cache.js';

export interface RepositoryWarning {
  file: string;
  message: string;
}

/** One `opam` file found on disk. */
export interface Candidate {
  rootIndex: number;
  root: string;
  /** The folder holding the opam file, and its name (`NAME.VERSION`). */
  dir: string;
  folder: string;
  name: string;
  version: string;
  /** The sha256 of the opam file's bytes, in hex. */
  contentHash: string;
  /** `dir/files` when it exists. */
  filesDir: string | null;
  /** Whether the scan read the file (else its record said it had not changed). */
  read: boolean;
  /** The opam file's bytes: those read by the scan, else read now (and checked against `contentHash`). */
  bytes(): Buffer;
  /** The same file listed under another version and folder (opam's equal versions, `repository.ts`). */
  listedAs(version: string, folder: string): Candidate;
  /**
   * The same file without the bytes the scan read: its bytes are read again (and checked) when asked.
   * What a load keeps to parse a package later holds no copy of its file.
   */
  unheld(): Candidate;
}

class FoundFile implements Candidate {
  constructor(
    readonly rootIndex: number,
    readonly root: string,
    readonly dir: string,
    readonly folder: string,
    readonly name: string,
    readonly version: string,
    readonly contentHash: string,
    readonly filesDir: string | null,
    private readonly held: Buffer | null,
  ) {}

  get read(): boolean {
    return this.held !== null;
  }

  listedAs(version: string, folder: string): Candidate {
    return new FoundFile(this.rootIndex, this.root, this.dir, folder, this.name, version, this.contentHash, this.filesDir, this.held);
  }

  unheld(): Candidate {
    if (this.held === null) return this;
    return new FoundFile(this.rootIndex, this.root, this.dir, this.folder, this.name, this.version, this.contentHash, this.filesDir, null);
  }

  bytes(): Buffer {
    if (this.held !== null) return this.held;
    const file = this.dir + sep + 'opam';
    const now = readFileSync(file);
    if (sha256(now) !== this.contentHash) {
      throw new OpamError('the opam file changed while ecocheck was reading the repository: run again', 'input', {
        setting: 'repository',
        value: file,
      });
    }
    return now;
  }
}

const FORMAT = 'ecocheck-scan-8';
/** Per file in a record's body: inode, size, mtime, ctime, whether `files/` exists (1 or 0). */
const COLUMNS = 5;
/** Changes this close to the scan that recorded them are not trusted (the clock's tick, with room). */
const RACY_MS = 1000;

/** [mtime, ctime, entries] of a name folder, as listed. */
type FolderRecord = [number, number, string[]];

/**
 * A name folder as stored: [mtime, ctime, its entries joined by `/` (no file name holds one), how many,
 * their files in the record, 1 when an entry is filed under another name]. The files are `first`, for
 * entries that are files `first`, `first + 1`, … (nearly always), else one per entry (`NOT_A_FILE`:
 * recorded without an opam file; `UNRECORDED`: not recorded, e.g. unreadable). A load trusting the
 * folder so finds its files without a lookup per file, and splits its entries only when it reads them.
 */
type StoredFolder = [number, number, string, number, number | number[], number];
const NOT_A_FILE = -1;
const UNRECORDED = -2;

/** The file in the record of a folder's entry `k` (`StoredFolder`'s files). */
export function fileOfEntry(files: number | readonly number[], k: number): number {
  return typeof files === 'number' ? files + k : files[k];
}

/**
 * A scan's record as stored: the head (JSON) holds the folders and how many files; the body holds each
 * file's inode, size, mtime, ctime and whether it has a `files/` folder (float64), then each file's
 * sha256 (32 bytes), then the file keys (`NAME/NAME.VERSION`, or `NAME.VERSION` in the flat layout)
 * joined by newlines (UTF-8): what a load reads of one name is not parsed for the 18,000 others.
 */
interface StoredHead {
  format: string;
  root: string;
  /** When the scan that wrote it started (ms since the epoch). */
  startedAt: number;
  /** Made anew at every write: what was derived from a record can be kept under its generation. */
  generation: string;
  folders: Record<string, StoredFolder>;
  files: number;
  /** The version folders holding no opam file, joined by newlines. */
  empty: string;
}

/**
 * A record in columns: file `i` is `keys[i]`, its stat at `stats[COLUMNS·i…]`, its hash at `hashes[32i…]`.
 * The keys and the lookups by key are read when first asked (a load trusting every name folder asks none).
 */
class ScanRecord {
  #index: Map<string, number> | null = null;
  #empty: Set<string> | null = null;

  constructor(
    readonly startedAt: number,
    readonly generation: string,
    readonly folders: Record<string, StoredFolder>,
    private readonly keys: Buffer,
    readonly stats: Float64Array,
    private readonly hashes: Buffer,
    private readonly emptyKeys: string,
  ) {}

  /** The content hash of file `i`, in hex. */
  hash(i: number): string {
    return this.hashes.toString('hex', 32 * i, 32 * i + 32);
  }

  /** File index by key (`NAME/NAME.VERSION`). */
  get index(): Map<string, number> {
    if (this.#index === null) {
      const text = this.keys.toString('utf8');
      const keys = text === '' ? [] : text.split('\n');
      this.#index = new Map();
      for (let i = 0; i < keys.length; i++) this.#index.set(keys[i], i);
    }
    return this.#index;
  }

  /** The version folders recorded without an opam file. */
  get empty(): Set<string> {
    return (this.#empty ??= new Set(this.emptyKeys === '' ? [] : this.emptyKeys.split('\n')));
  }

  get fileCount(): number {
    return this.stats.length / COLUMNS;
  }
}

/** The record a scan writes, filled as it goes. */
class RecordBuilder {
  readonly folders: Record<string, FolderRecord> = {};
  readonly keys: string[] = [];
  readonly stats: number[] = [];
  readonly hashes: string[] = [];
  readonly empty: string[] = [];

  file(key: string, st: Stats, contentHash: string, hasFiles: boolean): void {
    this.keys.push(key);
    this.stats.push(st.ino, st.size, st.mtimeMs, st.ctimeMs, hasFiles ? 1 : 0);
    this.hashes.push(contentHash);
  }

  write(file: string, root: string, startedAt: number): void {
    // Each name folder's entries with their files in the record.
    const index = new Map<string, number>(this.keys.map((k, i) => [k, i]));
    const empty = new Set(this.empty);
    const folders: Record<string, StoredFolder> = {};
    for (const [entry, [mtime, ctime, subs]] of Object.entries(this.folders)) {
      const files = subs.map((sub) => {
        const key = entry + '/' + sub;
        return index.get(key) ?? (empty.has(key) ? NOT_A_FILE : UNRECORDED);
      });
      const consecutive = files.length > 0 && files.every((f, k) => f === files[0] + k);
      const misplaced = subs.some((sub) => !sub.startsWith(entry + '.'));
      folders[entry] = [mtime, ctime, subs.join('/'), subs.length, consecutive ? files[0] : files, misplaced ? 1 : 0];
    }
    const head: StoredHead = {
      format: FORMAT,
      root,
      startedAt,
      generation: randomBytes(12).toString('hex'),
      folders,
      files: this.keys.length,
      empty: this.empty.join('\n'),
    };
    const stats = new Uint8Array(new Float64Array(this.stats).buffer);
    writeCacheFile(file, head, Buffer.concat([stats, Buffer.from(this.hashes.join(''), 'hex'), Buffer.from(this.keys.join('\n'), 'utf8')]));
  }
}

function recordFile(dir: string | null, root: string): string | null {
  if (dir === null) return null;
  return join(dir, `${SCAN_RECORD_PREFIX}${createHash('sha256').update(FORMAT).update('\0').update(root).digest('hex')}.bin`);
}

function readRecord(file: string | null, root: string): ScanRecord | null {
  if (file === null) return null;
  const read = readCacheFile(file);
  if (read === null) return null;
  const head = read.head as StoredHead;
  if (head.format !== FORMAT || head.root !== root || typeof head.generation !== 'string') return null;
  const files = head.files;
  if (typeof head.empty !== 'string' || !Number.isInteger(files) || files < 0) return null;
  const body = read.body;
  const statBytes = files * COLUMNS * 8;
  if (body.byteLength < statBytes + files * 32) return null;
  const stats = new Float64Array(body.buffer, body.byteOffset, files * COLUMNS);
  const hashes = Buffer.from(body.buffer, body.byteOffset + statBytes, files * 32);
  const keys = Buffer.from(body.buffer, body.byteOffset + statBytes + files * 32, body.byteLength - statBytes - files * 32);
  // The keys are counted, not split: a key holds no newline.
  let lines = keys.length === 0 ? 0 : 1;
  for (let k = 0; k < keys.length; k++) if (keys[k] === NEWLINE) lines++;
  if (lines !== files) return null;
  return new ScanRecord(head.startedAt, head.generation, head.folders, keys, stats, hashes, head.empty);
}

/** `NAME.VERSION` → name and version (package names never contain a dot). */
function splitFolder(folder: string): { name: string; version: string } | null {
  const dot = folder.indexOf('.');
  if (dot <= 0 || dot === folder.length - 1) return null;
  const name = folder.slice(0, dot);
  const version = folder.slice(dot + 1);
  if (!isValidPackageName(name) || !isValidVersion(version)) return null;
  return { name, version };
}

/**
 * The order of a name folder's entries: `NAME.VERSION` folders by opam's version order (then by
 * spelling), then anything else by spelling. Candidates come out of a scan in the order the loader
 * sorts them in, so its sort has nothing left to do.
 */
function folderOrder(name: string): (a: string, b: string) => number {
  const prefix = name + '.';
  const spelling = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return (a, b) => {
    const pa = a.startsWith(prefix);
    const pb = b.startsWith(prefix);
    if (pa !== pb) return pa ? -1 : 1;
    return (pa ? compareVersions(a.slice(prefix.length), b.slice(prefix.length)) : 0) || spelling(a, b);
  };
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null; // ENOTDIR: a stray file where a folder was expected
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

/** Whether `path` exists (what `existsSync` says, without the cost of an error per missing path). */
function exists(path: string): boolean {
  return statOrNull(path) !== null;
}

/** The stat of a version folder's opam file, or null when it has none (or it is no file). */
function opamFileStat(dir: string): Stats | null {
  const st = statOrNull(dir + sep + 'opam');
  return st !== null && st.isFile() ? st : null;
}

/** The content hash the record holds for file `i`. */
function recordedHash(old: ScanRecord, i: number): string {
  return old.hash(i);
}
const NEWLINE = 0x0a;

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A version folder a listing found (it may hold no opam file). */
export interface VersionFolder {
  dir: string;
  folder: string;
  /** `NAME/NAME.VERSION` (or `NAME.VERSION` in the flat layout): its place in the record. */
  key: string;
  /** A warning about its place (`filed under` another name's folder), said when it has an opam file. */
  misplaced: string | undefined;
}

/** A name folder of a listing (`packages/NAME/`), its entries not looked into. */
export class NameFolder {
  readonly kind = 'name';
  #subs: string[] | null;
  readonly #joined: string;

  constructor(
    readonly entry: string,
    readonly dir: string,
    readonly mtime: number,
    readonly ctime: number,
    /** Its entries, or as stored (joined by `/`). */
    subs: string[] | string,
    /** How many entries. */
    readonly count: number,
    /** The entries' files in the record (`StoredFolder`), when the folder is as recorded; null when listed again. */
    readonly recorded: number | number[] | null,
    /** Whether an entry is filed under another name, when known from the record. */
    readonly misplaced: boolean | null,
  ) {
    this.#subs = typeof subs === 'string' ? null : subs;
    this.#joined = typeof subs === 'string' ? subs : '';
  }

  /** Its entries (split from the record when first asked). */
  get subs(): string[] {
    return (this.#subs ??= this.#joined === '' ? [] : this.#joined.split('/'));
  }

  /** Whether it holds an entry spelled `sub`. */
  has(sub: string): boolean {
    if (this.#subs !== null) return this.#subs.includes(sub);
    const t = this.#joined;
    for (let i = t.indexOf(sub); i >= 0; i = t.indexOf(sub, i + 1)) {
      const end = i + sub.length;
      if ((i === 0 || t.charCodeAt(i - 1) === SLASH) && (end === t.length || t.charCodeAt(end) === SLASH)) return true;
    }
    return false;
  }
}
const SLASH = 0x2f;

/** A version folder straight under `packages/` (opam's flat layout). */
export interface FlatFolder {
  kind: 'flat';
  folder: VersionFolder;
}

/** A name folder's entry as a version folder. */
export function versionFolderOf(nf: NameFolder, sub: string): VersionFolder {
  return {
    dir: nf.dir + sep + sub,
    folder: sub,
    key: nf.entry + '/' + sub,
    misplaced: sub.startsWith(nf.entry + '.') ? undefined : `package folder ${sub} is filed under ${nf.entry}/`,
  };
}

/**
 * The folders of one root: the name folders' entries (from the record where the folder is unchanged),
 * without looking into the version folders. `scanListing` then looks at each; `RecordedNames`
 * takes the record's word for them.
 */
export class RootListing {
  #versionFolders: VersionFolder[] | null = null;

  constructor(
    readonly root: string,
    readonly rootIndex: number,
    readonly startedAt: number,
    readonly recordFile: string | null,
    readonly old: ScanRecord | null,
    /** `packages/`'s folders in sorted order. */
    readonly entries: readonly (NameFolder | FlatFolder)[],
    /**
     * Whether a name folder was listed again (changed, or too new to trust, or there is no record). When
     * not, the listing is the record's own: what the record's generation says of it holds.
     */
    readonly relisted: boolean,
  ) {}

  /** The name folders as a record holds them. */
  get folders(): Record<string, FolderRecord> {
    const out: Record<string, FolderRecord> = {};
    for (const e of this.entries) if (e.kind === 'name') out[e.entry] = [e.mtime, e.ctime, e.subs];
    return out;
  }

  /** Every version folder, in the listing's order (made when first asked: a load trusting the record asks per name). */
  get versionFolders(): VersionFolder[] {
    return (this.#versionFolders ??= this.entries.flatMap((e) =>
      e.kind === 'flat' ? [e.folder] : e.subs.map((sub) => versionFolderOf(e, sub)),
    ));
  }
}

/** `cacheDir`: the repository cache's folder, where the scan records live (null: none). */
export function listRoot(root: string, rootIndex: number, cacheDir: string | null): RootListing {
  const startedAt = Date.now();
  const recordPath = recordFile(cacheDir, root);
  const old = readRecord(recordPath, root);
  const entries: (NameFolder | FlatFolder)[] = [];
  let relisted = old === null;
  const packagesDir = join(root, 'packages');
  // The folders of packages/ (not a link to one): each name folder's own stat says so, with the times
  // its record is checked against (cheaper than listing every entry's type first).
  const top = readdirSync(packagesDir).sort();
  for (const entry of top) {
    const dir = packagesDir + sep + entry;
    const st = lstatOrNull(dir);
    if (st === null || !st.isDirectory()) continue;
    if (entry.includes('.')) {
      // Flat layout: packages/NAME.VERSION/opam.
      entries.push({ kind: 'flat', folder: { dir, folder: entry, key: entry, misplaced: undefined } });
      continue;
    }
    const known = old?.folders[entry];
    if (
      old !== null &&
      known !== undefined &&
      trusted(st, old) &&
      known[0] === st.mtimeMs &&
      known[1] === st.ctimeMs &&
      wellFormed(known)
    ) {
      entries.push(new NameFolder(entry, dir, st.mtimeMs, st.ctimeMs, known[2], known[3], known[4], known[5] === 1));
    } else {
      const subs = readdirSync(dir).sort(folderOrder(entry));
      relisted = true;
      entries.push(new NameFolder(entry, dir, st.mtimeMs, st.ctimeMs, subs, subs.length, null, null));
    }
  }
  return new RootListing(root, rootIndex, startedAt, recordPath, old, entries, relisted);
}

/** Whether a stored folder has the shape this format writes (else it is listed again). */
function wellFormed(f: StoredFolder): boolean {
  return (
    Array.isArray(f) &&
    typeof f[2] === 'string' &&
    typeof f[3] === 'number' &&
    (typeof f[4] === 'number' || (Array.isArray(f[4]) && f[4].length === f[3])) &&
    (f[3] === 0) === (f[2] === '')
  );
}

function trusted(st: Stats, old: ScanRecord): boolean {
  return st.ctimeMs < old.startedAt - RACY_MS;
}

/** Whether the record knows file `i` as `st` shows it, with (or without) a `files/` folder. */
function recordedAs(old: ScanRecord, i: number, st: Stats, hasFiles: boolean): boolean {
  const o = COLUMNS * i;
  const s = old.stats;
  return (
    trusted(st, old) &&
    s[o] === st.ino &&
    s[o + 1] === st.size &&
    s[o + 2] === st.mtimeMs &&
    s[o + 3] === st.ctimeMs &&
    s[o + 4] === (hasFiles ? 1 : 0)
  );
}

/** The candidate of a version folder with an opam file of this content, or a warning when its name is no NAME.VERSION. */
function candidateOf(
  l: RootListing,
  vf: VersionFolder,
  contentHash: string,
  hasFiles: boolean,
  held: Buffer | null,
  warnings: RepositoryWarning[],
): Candidate | null {
  const opamFile = vf.dir + sep + 'opam';
  if (vf.misplaced !== undefined) warnings.push({ file: opamFile, message: vf.misplaced });
  const nv = splitFolder(vf.folder);
  if (!nv) {
    warnings.push({ file: opamFile, message: `ignored: folder name ${vf.folder} is not NAME.VERSION` });
    return null;
  }
  return new FoundFile(
    l.rootIndex,
    l.root,
    vf.dir,
    vf.folder,
    nv.name,
    nv.version,
    contentHash,
    hasFiles ? vf.dir + sep + 'files' : null,
    held,
  );
}

/**
 * Every opam file of a listing, looked at: read and hashed unless the record knows it unchanged. The
 * record is rewritten when anything was read or listed again. Candidates come in the listing's order:
 * name folders by spelling, version folders as `folderOrder` says.
 */
export function scanListing(l: RootListing, warnings: RepositoryWarning[]): Candidate[] {
  const out: Candidate[] = [];
  const next = new RecordBuilder();
  let changed = l.relisted;
  for (const vf of l.versionFolders) {
    const st = opamFileStat(vf.dir);
    if (st === null) {
      next.empty.push(vf.key);
      continue;
    }
    const hasFiles = exists(vf.dir + sep + 'files');
    const i = l.old?.index.get(vf.key);
    let held: Buffer | null = null;
    let contentHash: string;
    if (l.old !== null && i !== undefined && recordedAs(l.old, i, st, hasFiles)) contentHash = recordedHash(l.old, i);
    else {
      try {
        held = readFileSync(vf.dir + sep + 'opam');
      } catch {
        continue; // unreadable: as if absent
      }
      contentHash = sha256(held);
      changed = true;
    }
    next.file(vf.key, st, contentHash, hasFiles);
    const c = candidateOf(l, vf, contentHash, hasFiles, held, warnings);
    if (c !== null) out.push(c);
  }
  if (l.old !== null && (l.old.index.size !== next.keys.length || l.old.empty.size !== next.empty.length)) changed = true;
  Object.assign(next.folders, l.folders);
  if (changed && l.recordFile !== null && next.keys.length >= MIN_CACHED_FILES) {
    try {
      next.write(l.recordFile, l.root, l.startedAt);
    } catch {
      // A record that cannot be written only makes the next scan read everything.
    }
  }
  return out;
}

/** A version folder of a listing and what its record says of it: file `index` of the record, or -1 when it has no opam file. */
export interface RecordedFolder {
  listing: RootListing;
  folder: VersionFolder;
  index: number;
}

/** The name a version folder is a version of: its name up to the first dot ('' for none: no NAME.VERSION). */
function nameOfFolder(folder: string): string {
  return folder.slice(0, Math.max(0, folder.indexOf('.')));
}

/** Where some version folders of a name are: entries of a name folder (those at `ks`, or all), or one flat folder. */
type Source =
  { l: RootListing; nf: NameFolder; ks: number[] | null; recorded: number | number[] } | { l: RootListing; flat: RecordedFolder };

/**
 * The version folders of the listings with what their records say of each, without looking at a file,
 * grouped by the name they are versions of; each name's folders (in the listings' order) are made when
 * first asked. What the record says is to be checked (`stillAsRecorded`) before it is used.
 */
export class RecordedNames {
  readonly #sources: Map<string, Source[]>;
  readonly #memo = new Map<string, RecordedFolder[]>();
  /** How many of the folders hold an opam file, as recorded. */
  readonly files: number;
  /** The names, sorted ('' left out). */
  readonly names: string[];

  private constructor(sources: Map<string, Source[]>, files: number) {
    this.#sources = sources;
    this.files = files;
    this.names = [...sources.keys()].filter((n) => n !== '').sort();
  }

  /** null when a listing has no record, or holds a version folder its record does not know. */
  static of(listings: readonly RootListing[]): RecordedNames | null {
    const sources = new Map<string, Source[]>();
    const add = (name: string, source: Source) => {
      const list = sources.get(name);
      if (list === undefined) sources.set(name, [source]);
      else list.push(source);
    };
    let files = 0;
    for (const l of listings) {
      const old = l.old;
      if (old === null) return null;
      for (const e of l.entries) {
        if (e.kind === 'flat') {
          const i = old.index.get(e.folder.key);
          if (i === undefined && !old.empty.has(e.folder.key)) return null;
          if (i !== undefined) files++;
          add(nameOfFolder(e.folder.folder), { l, flat: { listing: l, folder: e.folder, index: i ?? NOT_A_FILE } });
          continue;
        }
        const recorded =
          e.recorded ??
          e.subs.map((sub) => {
            const key = e.entry + '/' + sub;
            return old.index.get(key) ?? (old.empty.has(key) ? NOT_A_FILE : UNRECORDED);
          });
        if (typeof recorded === 'number') files += e.count;
        else
          for (const f of recorded) {
            if (f === UNRECORDED) return null;
            if (f >= 0) files++;
          }
        const misplaced = e.misplaced ?? e.subs.some((sub) => !sub.startsWith(e.entry + '.'));
        if (!misplaced) {
          if (e.count > 0) add(e.entry, { l, nf: e, ks: null, recorded });
          continue;
        }
        // Entries filed under another name's folder count for the name they spell.
        const byName = new Map<string, number[]>();
        e.subs.forEach((sub, k) => {
          const name = nameOfFolder(sub);
          const ks = byName.get(name);
          if (ks === undefined) byName.set(name, [k]);
          else ks.push(k);
        });
        for (const [name, ks] of byName) add(name, { l, nf: e, ks, recorded });
      }
    }
    return new RecordedNames(sources, files);
  }

  /** A name's version folders, in the listings' order. */
  folders(name: string): RecordedFolder[] {
    let out = this.#memo.get(name);
    if (out === undefined) {
      out = [];
      for (const s of this.#sources.get(name) ?? []) {
        if ('flat' in s) out.push(s.flat);
        else
          for (const k of s.ks ?? s.nf.subs.keys())
            out.push({ listing: s.l, folder: versionFolderOf(s.nf, s.nf.subs[k]), index: fileOfEntry(s.recorded, k) });
      }
      this.#memo.set(name, out);
    }
    return out;
  }

  /** Every version folder (those of no NAME.VERSION too), in the listings' order. */
  all(): RecordedFolder[] {
    const out: RecordedFolder[] = [];
    const seen = new Set<NameFolder>();
    const listings: RootListing[] = [];
    for (const list of this.#sources.values()) for (const s of list) if (!listings.includes(s.l)) listings.push(s.l);
    listings.sort((a, b) => a.rootIndex - b.rootIndex);
    const recordedOf = new Map<NameFolder, number | number[]>();
    const flats = new Map<VersionFolder, RecordedFolder>();
    for (const list of this.#sources.values())
      for (const s of list) {
        if ('flat' in s) flats.set(s.flat.folder, s.flat);
        else recordedOf.set(s.nf, s.recorded);
      }
    for (const l of listings)
      for (const e of l.entries) {
        if (e.kind === 'flat') {
          const r = flats.get(e.folder);
          if (r !== undefined) out.push(r);
          continue;
        }
        const recorded = recordedOf.get(e);
        if (recorded === undefined || seen.has(e)) continue;
        seen.add(e);
        e.subs.forEach((sub, k) => out.push({ listing: l, folder: versionFolderOf(e, sub), index: fileOfEntry(recorded, k) }));
      }
    return out;
  }

  /** The names (sorted) with a version folder spelled `NAME.version`. */
  withVersion(version: string): string[] {
    return this.names.filter((name) => {
      const folder = name + '.' + version;
      return (this.#sources.get(name) ?? []).some((s) =>
        'flat' in s ? s.flat.folder.folder === folder : s.ks === null ? s.nf.has(folder) : s.ks.some((k) => s.nf.subs[k] === folder),
      );
    });
  }
}

/** The candidate a recorded folder holds as its record says (its place's warnings said), or null (no opam file, or no NAME.VERSION). */
export function recordedCandidate(r: RecordedFolder, warnings: RepositoryWarning[]): Candidate | null {
  const old = r.listing.old;
  if (old === null || r.index < 0) return null;
  const i = r.index;
  return candidateOf(r.listing, r.folder, recordedHash(old, i), old.stats[COLUMNS * i + 4] === 1, null, warnings);
}

/**
 * Whether a recorded folder is still as its record says: its opam file (and `files/` folder) as
 * recorded, or, for one recorded without an opam file, still without one.
 */
export function stillAsRecorded(r: RecordedFolder): boolean {
  const st = opamFileStat(r.folder.dir);
  if (r.index < 0) return st === null;
  const old = r.listing.old;
  return old !== null && st !== null && recordedAs(old, r.index, st, exists(r.folder.dir + sep + 'files'));
}

/**
 * A version folder looked at now (read and hashed, no record asked): its candidate, or null when it
 * holds no opam file or its name is no NAME.VERSION.
 */
export function lookAt(l: RootListing, vf: VersionFolder): Candidate | null {
  if (opamFileStat(vf.dir) === null) return null;
  let held: Buffer;
  try {
    held = readFileSync(vf.dir + sep + 'opam');
  } catch {
    return null;
  }
  return candidateOf(l, vf, sha256(held), exists(vf.dir + sep + 'files'), held, []);
}
