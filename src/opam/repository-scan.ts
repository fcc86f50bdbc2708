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
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, type Stats } from 'node:fs';
import type { Buffer } from 'node:buffer';
import { join, sep } from 'node:path';
import { isValidPackageName, isValidVersion } from './filter.js';
import { OpamError } from './opam-error.js';
import { compareVersions } from './version.js';
import { readCacheFile, writeCacheFile } from './cache-file.js';
import { MIN_CACHED_FILES, SCAN_RECORD_PREFIX, repositoryCacheDir } from './repository-cache.js';

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

  bytes(): Buffer {
    if (this.held !== null) return this.held;
    const file = this.dir + sep + 'opam';
    const now = readFileSync(file);
    if (sha256(now) !== this.contentHash) {
      throw new OpamError('the opam file changed while ecocheck was reading the repository: run again', 'input', { setting: 'repository', value: file });
    }
    return now;
  }
}

const FORMAT = 'ecocheck-scan-2';
/** Changes this close to the scan that recorded them are not trusted (the clock's tick, with room). */
const RACY_MS = 1000;

/** [mtime, ctime, entries] of a name folder. */
type FolderRecord = [number, number, string[]];

/**
 * A scan's record as stored: the head (JSON) holds the folders, the file keys (`NAME/NAME.VERSION`, or
 * `NAME.VERSION` in the flat layout) joined by newlines and their hashes as one hex string; the body
 * holds each file's inode, size, mtime and ctime as float64.
 */
interface StoredHead {
  format: string;
  root: string;
  /** When the scan that wrote it started (ms since the epoch). */
  startedAt: number;
  folders: Record<string, FolderRecord>;
  keys: string;
  hashes: string;
}

/** A record in columns: file `i` is `keys[i]`, its times and such at `stats[4i…4i+3]`, its hash at `hashes[64i…]`. */
interface ScanRecord {
  startedAt: number;
  folders: Record<string, FolderRecord>;
  index: Map<string, number>;
  stats: Float64Array;
  hashes: string;
}

/** The record a scan writes, filled as it goes. */
class RecordBuilder {
  readonly folders: Record<string, FolderRecord> = {};
  readonly keys: string[] = [];
  readonly stats: number[] = [];
  readonly hashes: string[] = [];

  file(key: string, st: Stats, contentHash: string): void {
    this.keys.push(key);
    this.stats.push(st.ino, st.size, st.mtimeMs, st.ctimeMs);
    this.hashes.push(contentHash);
  }

  write(file: string, root: string, startedAt: number): void {
    const head: StoredHead = { format: FORMAT, root, startedAt, folders: this.folders, keys: this.keys.join('\n'), hashes: this.hashes.join('') };
    writeCacheFile(file, head, new Uint8Array(new Float64Array(this.stats).buffer));
  }
}

function recordFile(root: string): string | null {
  const dir = repositoryCacheDir();
  if (dir === null) return null;
  return join(dir, `${SCAN_RECORD_PREFIX}${createHash('sha256').update(FORMAT).update('\0').update(root).digest('hex')}.bin`);
}

function readRecord(file: string | null, root: string): ScanRecord | null {
  if (file === null) return null;
  const read = readCacheFile(file);
  if (read === null) return null;
  const head = read.head as StoredHead;
  if (head.format !== FORMAT || head.root !== root) return null;
  const keys = head.keys === '' ? [] : head.keys.split('\n');
  const stats = new Float64Array(read.body.buffer, read.body.byteOffset, read.body.byteLength >> 3);
  if (stats.length !== keys.length * 4 || head.hashes.length !== keys.length * 64) return null;
  const index = new Map<string, number>();
  for (let i = 0; i < keys.length; i++) index.set(keys[i], i);
  return { startedAt: head.startedAt, folders: head.folders, index, stats, hashes: head.hashes };
}

/** `NAME.VERSION` → name and version (package names never contain a dot). */
export function splitFolder(folder: string): { name: string; version: string } | null {
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

/** Whether `path` exists (what `existsSync` says, without the cost of an error per missing path). */
function exists(path: string): boolean {
  return statOrNull(path) !== null;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Finds every opam file of one root: name folders by spelling, version folders as `folderOrder` says. */
export function scanRoot(root: string, rootIndex: number, warnings: RepositoryWarning[]): Candidate[] {
  const startedAt = Date.now();
  const file = recordFile(root);
  const old = readRecord(file, root);
  const trusted = (st: Stats) => old !== null && st.ctimeMs < old.startedAt - RACY_MS;
  const next = new RecordBuilder();
  let changed = old === null;

  const out: Candidate[] = [];
  const packagesDir = join(root, 'packages');
  /** A version folder's opam file, if it has one; `warn` (about the folder's place) is said first. */
  const add = (dir: string, folder: string, key: string, warn?: string): void => {
    const opamFile = dir + sep + 'opam';
    const st = statOrNull(opamFile);
    if (st === null || !st.isFile()) return;
    const i = old?.index.get(key);
    let held: Buffer | null = null;
    let contentHash: string;
    const o = 4 * (i ?? 0);
    if (
      old !== null &&
      i !== undefined &&
      trusted(st) &&
      old.stats[o] === st.ino &&
      old.stats[o + 1] === st.size &&
      old.stats[o + 2] === st.mtimeMs &&
      old.stats[o + 3] === st.ctimeMs
    ) {
      contentHash = old.hashes.slice(64 * i, 64 * i + 64);
    } else {
      try {
        held = readFileSync(opamFile);
      } catch {
        return; // unreadable: as if absent
      }
      contentHash = sha256(held);
      changed = true;
    }
    next.file(key, st, contentHash);
    if (warn !== undefined) warnings.push({ file: opamFile, message: warn });
    const nv = splitFolder(folder);
    if (!nv) {
      warnings.push({ file: opamFile, message: `ignored: folder name ${folder} is not NAME.VERSION` });
      return;
    }
    const filesDir = dir + sep + 'files';
    out.push(new FoundFile(rootIndex, root, dir, folder, nv.name, nv.version, contentHash, exists(filesDir) ? filesDir : null, held));
  };

  const top = readdirSync(packagesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  for (const entry of top) {
    const dir = packagesDir + sep + entry;
    if (entry.includes('.')) {
      // Flat layout: packages/NAME.VERSION/opam.
      add(dir, entry, entry);
      continue;
    }
    // Version folders; anything else (a stray file) has no opam file inside and is skipped.
    const st = statOrNull(dir);
    if (st === null) continue;
    const known = old?.folders[entry];
    let subs: string[];
    if (known !== undefined && trusted(st) && known[0] === st.mtimeMs && known[1] === st.ctimeMs) subs = known[2];
    else {
      subs = readdirSync(dir).sort(folderOrder(entry));
      changed = true;
    }
    next.folders[entry] = [st.mtimeMs, st.ctimeMs, subs];
    for (const sub of subs) add(dir + sep + sub, sub, entry + '/' + sub, sub.startsWith(entry + '.') ? undefined : `package folder ${sub} is filed under ${entry}/`);
  }
  if (old !== null && old.index.size !== next.keys.length) changed = true;
  if (changed && file !== null && next.keys.length >= MIN_CACHED_FILES) {
    try {
      next.write(file, root, startedAt);
    } catch {
      // A record that cannot be written only makes the next scan read everything.
    }
  }
  return out;
}
