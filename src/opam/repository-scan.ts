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
import { existsSync, readFileSync, readdirSync, statSync, type Stats } from 'node:fs';
import type { Buffer } from 'node:buffer';
import { join, sep } from 'node:path';
import { isValidPackageName, isValidVersion } from './filter.js';
import { OpamError } from './opam-error.js';
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
}

const FORMAT = 'ecocheck-scan-1';
/** Changes this close to the scan that recorded them are not trusted (the clock's tick, with room). */
const RACY_MS = 1000;

/** What a scan found of one opam file. */
interface FileRecord {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  contentHash: string;
}
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

interface ScanRecord {
  startedAt: number;
  folders: Record<string, FolderRecord>;
  files: Map<string, FileRecord>;
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
  const files = new Map<string, FileRecord>();
  keys.forEach((k, i) => {
    files.set(k, { ino: stats[4 * i], size: stats[4 * i + 1], mtimeMs: stats[4 * i + 2], ctimeMs: stats[4 * i + 3], contentHash: head.hashes.slice(64 * i, 64 * i + 64) });
  });
  return { startedAt: head.startedAt, folders: head.folders, files };
}

function writeRecord(file: string, root: string, r: ScanRecord): void {
  const keys = [...r.files.keys()];
  const stats = new Float64Array(keys.length * 4);
  let hashes = '';
  keys.forEach((k, i) => {
    const f = r.files.get(k) as FileRecord;
    stats.set([f.ino, f.size, f.mtimeMs, f.ctimeMs], 4 * i);
    hashes += f.contentHash;
  });
  const head: StoredHead = { format: FORMAT, root, startedAt: r.startedAt, folders: r.folders, keys: keys.join('\n'), hashes };
  writeCacheFile(file, head, new Uint8Array(stats.buffer));
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

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null; // ENOTDIR: a stray file where a folder was expected
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Finds every opam file of one root, in sorted folder order. */
export function scanRoot(root: string, rootIndex: number, warnings: RepositoryWarning[]): Candidate[] {
  const startedAt = Date.now();
  const file = recordFile(root);
  const old = readRecord(file, root);
  const trusted = (st: Stats) => old !== null && st.ctimeMs < old.startedAt - RACY_MS;
  const next: ScanRecord = { startedAt, folders: {}, files: new Map() };
  let changed = old === null;

  const out: Candidate[] = [];
  const packagesDir = join(root, 'packages');
  /** A version folder's opam file, if it has one; `warn` (about the folder's place) is said first. */
  const add = (dir: string, folder: string, key: string, warn?: string): void => {
    const opamFile = dir + sep + 'opam';
    const st = statOrNull(opamFile);
    if (st === null || !st.isFile()) return;
    const known = old?.files.get(key);
    let held: Buffer | null = null;
    let contentHash: string;
    if (known !== undefined && trusted(st) && known.ino === st.ino && known.size === st.size && known.mtimeMs === st.mtimeMs && known.ctimeMs === st.ctimeMs) {
      contentHash = known.contentHash;
    } else {
      try {
        held = readFileSync(opamFile);
      } catch {
        return; // unreadable: as if absent
      }
      contentHash = sha256(held);
      changed = true;
    }
    next.files.set(key, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, contentHash });
    if (warn !== undefined) warnings.push({ file: opamFile, message: warn });
    const nv = splitFolder(folder);
    if (!nv) {
      warnings.push({ file: opamFile, message: `ignored: folder name ${folder} is not NAME.VERSION` });
      return;
    }
    const filesDir = dir + sep + 'files';
    out.push({
      rootIndex,
      root,
      dir,
      folder,
      name: nv.name,
      version: nv.version,
      contentHash,
      filesDir: existsSync(filesDir) ? filesDir : null,
      read: held !== null,
      bytes: () => {
        if (held !== null) return held;
        const now = readFileSync(opamFile);
        if (sha256(now) !== contentHash) {
          throw new OpamError('the opam file changed while ecocheck was reading the repository: run again', 'input', { setting: 'repository', value: opamFile });
        }
        return now;
      },
    });
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
      subs = readdirSync(dir).sort();
      changed = true;
    }
    next.folders[entry] = [st.mtimeMs, st.ctimeMs, subs];
    for (const sub of subs) add(dir + sep + sub, sub, entry + '/' + sub, sub.startsWith(entry + '.') ? undefined : `package folder ${sub} is filed under ${entry}/`);
  }
  if (old !== null && old.files.size !== next.files.size) changed = true;
  if (changed && file !== null && next.files.size >= MIN_CACHED_FILES) {
    try {
      writeRecord(file, root, next);
    } catch {
      // A record that cannot be written only makes the next scan read everything.
    }
  }
  return out;
}
