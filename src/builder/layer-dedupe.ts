/**
 * Files identical across layers stored once. A whole-repository run holds thousands of layers, and
 * many of their files are the same bytes: a package built again over another dependency set installs
 * the same sources, docs and META files; a compiler rebuilt for a candidate keeps most of its stdlib
 * sources. Once a layer is sealed, each of its regular files is looked up by content in the store's
 * object folder (`storeDir/.objects/<sha256>-<mode>-<uid>-<gid>`): a file already there becomes a hard
 * link to it; a new one is linked there for the next layers. A layer's files never change once sealed
 * (overlayfs writes above them, never in them), so sharing an inode changes nothing a build sees but
 * the file's timestamps, which are those of the first copy stored (builds compare a dependency's files
 * by content, opam by checksum). Whiteouts, links, folders and files already hard-linked within their
 * layer are left as they are. Files of another mode or owner are kept apart (the object's name says
 * both, and the object itself is checked before a link, in case it was handed over to another owner).
 *
 * `sweepUnsharedObjects` forgets the objects no layer uses any more (link count 1): gc runs it after
 * removing layers.
 */
import { createHash } from 'node:crypto';
import { closeSync, linkSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { hashOpenFile } from './checksum.js';
import { openRegularNoFollow } from './confined-path.js';

/** The folder of shared files, inside the store (a dot name: the store's own work, not a layer). */
export const OBJECTS_DIR = '.objects';

/** Smaller files are left alone: a link saves at most the one block such a file holds. */
export const DEDUPE_MIN_BYTES = 1024;

export interface DedupeOutcome {
  /** Regular files looked at. */
  files: number;
  /** Files that became links to an object another layer had stored. */
  linked: number;
  /** What those files took on disk before (st_blocks × 512). */
  bytesSaved: number;
}

const HASH_BUFFER = 1 << 20;

/** The content hash of a regular file, read without following a link and checked to be the file lstat saw. */
function contentHash(path: string, seen: Stats, buffer: Buffer): string | null {
  let opened: { fd: number; stat: Stats };
  try {
    opened = openRegularNoFollow(path, path);
  } catch {
    return null;
  }
  try {
    if (opened.stat.ino !== seen.ino || opened.stat.dev !== seen.dev) return null;
    const hash = createHash('sha256');
    hashOpenFile(hash, opened.fd, buffer);
    return hash.digest('hex');
  } finally {
    closeSync(opened.fd);
  }
}

function* regularFiles(dir: string): Generator<{ path: string; st: Stats }> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isDirectory()) yield* regularFiles(path);
    else if (st.isFile()) yield { path, st };
  }
}

function sameIdentity(a: Stats, b: Stats): boolean {
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.size === b.size;
}

/** Stores the sealed layer's files once: each is linked to, or becomes, the object of its content. */
export function dedupeLayer(storeDir: string, layerDir: string): DedupeOutcome {
  const objects = join(storeDir, OBJECTS_DIR);
  mkdirSync(objects, { recursive: true, mode: 0o700 });
  const objectsDev = lstatSync(objects).dev;
  const buffer = Buffer.allocUnsafe(HASH_BUFFER);
  const outcome: DedupeOutcome = { files: 0, linked: 0, bytesSaved: 0 };
  for (const { path, st } of regularFiles(layerDir)) {
    outcome.files++;
    if (st.size < DEDUPE_MIN_BYTES || st.nlink !== 1 || st.dev !== objectsDev) continue;
    const hash = contentHash(path, st, buffer);
    if (hash === null) continue;
    const object = join(objects, `${hash}-${(st.mode & 0o7777).toString(8)}-${st.uid}-${st.gid}`);
    try {
      linkSync(path, object);
      continue; // the first of its content: the object now is this file
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') continue;
    }
    let stored: Stats;
    try {
      stored = lstatSync(object);
    } catch {
      continue;
    }
    if (!stored.isFile() || !sameIdentity(stored, st) || stored.ino === st.ino) continue;
    const tmp = `${path}.dedupe-${process.pid}`;
    try {
      linkSync(object, tmp);
      renameSync(tmp, path);
      outcome.linked++;
      outcome.bytesSaved += st.blocks * 512;
    } catch {
      rmSync(tmp, { force: true });
    }
  }
  return outcome;
}

/** Removes the objects no layer links to any more; returns how many and the bytes freed. */
export function sweepUnsharedObjects(storeDir: string): { removed: number; bytes: number } {
  const objects = join(storeDir, OBJECTS_DIR);
  let names: string[];
  try {
    names = readdirSync(objects);
  } catch {
    return { removed: 0, bytes: 0 };
  }
  let removed = 0;
  let bytes = 0;
  for (const name of names) {
    const path = join(objects, name);
    const st = lstatSync(path);
    if (st.isFile() && st.nlink > 1) continue;
    rmSync(path, { force: true, recursive: st.isDirectory() });
    removed++;
    bytes += st.blocks * 512;
  }
  return { removed, bytes };
}
