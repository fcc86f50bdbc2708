/**
 * File operations on paths a package controls, done by the (privileged) ecocheck process on the host:
 * each is relative to a ROOT directory (the build directory, the job's upper directory, a dependency's
 * layer, the package's `files/`) and never leaves it.
 *
 * - Resolving a path (for reading) walks it component by component with lstat. A symbolic link is
 *   followed only when its target stays inside the root: a relative target is resolved from the link's
 *   directory, an absolute one only when it names the path the root is seen at inside the sandbox
 *   (`seenAt`, e.g. the build directory's `/home/opam/.opam/default/.opam-switch/build/NAME.VER`).
 *   dune's `_build/install/default/…` links into `_build/default/…` are such links. A target leaving the
 *   root, or more than 40 links in a row, is refused.
 * - Writing (files and the directories leading to them) never follows a symbolic link in any component:
 *   a link where a directory is expected is refused; a link, special file or file at the final name is
 *   removed first (opam removes an existing destination before installing).
 * - Reading accepts regular files only: FIFOs, sockets, devices and directories are refused by lstat
 *   before any open, then the file is opened with O_NOFOLLOW|O_NONBLOCK and checked again on its
 *   descriptor, so what is read is the very file that was checked, and opening never blocks.
 *
 * Paths are checked with lstat and then used by name: that is safe because nothing of the package runs
 * while the host handles them (the process runner has killed every process of the job's tree by then,
 * and the build directory, upper directory and layers are seen by no other job).
 *
 * Every refusal is an UnsafePathError: one line naming the path relative to its root, never any of
 * the content of the file refused.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { join, posix } from 'node:path';
import { BuilderError } from './builder-error.js';

/** A directory whose inside is the only place an operation may touch. */
export interface ConfinedRoot {
  /** Its host path. */
  dir: string;
  /** Where the sandbox shows it (absolute symbolic links under it stay inside); none: absolute links escape. */
  seenAt?: string;
  /** How messages name it ("the build directory"). */
  label: string;
}

/** Files parsed in memory (`.install`, `.config`, substituted files): larger ones are refused. */
export const PARSED_FILE_MAX_BYTES = 16 * 1024 * 1024;

/** The most symbolic links followed while resolving one path (Linux's own limit). */
const MAX_LINK_HOPS = 40;

/** A path a package controls that ecocheck refused to use. */
export class UnsafePathError extends BuilderError {
  constructor(
    /** The path, relative to its root. */
    readonly path: string,
    /** Why, without the path. */
    readonly reason: string,
  ) {
    super(`${shown(path)}: ${reason}`, 'input');
  }
}

/** The path, or a symbolic link on it, leads outside its root (or loops). */
export class EscapingPathError extends UnsafePathError {}
/** A FIFO, socket, device or directory where a regular file is wanted. */
export class SpecialFileError extends UnsafePathError {}
/** A symbolic link or non-directory where a directory of a destination is expected. */
export class LinkInDestinationError extends UnsafePathError {}
/** A file to parse is larger than PARSED_FILE_MAX_BYTES. */
export class OversizedFileError extends UnsafePathError {}

/** A name as messages show it: on one line, control characters escaped, at most 200 characters. */
export function shown(name: string): string {
  const escaped = name.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return escaped.length > 200 ? `${escaped.slice(0, 200)}…` : escaped;
}

/** What a file system object is, in words (for "not a regular file" refusals). */
export function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFile()) return 'a regular file';
  return 'a special file';
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

function components(rel: string): string[] {
  return rel.split('/').filter((c) => c !== '' && c !== '.');
}

/** `rel` made relative and normal; an absolute path or one climbing above the root is refused. */
export function confinedRelative(root: ConfinedRoot, rel: string): string {
  const norm = posix.normalize(rel);
  if (rel.startsWith('/') || norm === '..' || norm.startsWith('../')) {
    throw new EscapingPathError(rel, `leads outside ${root.label}`);
  }
  return norm === '.' ? '' : norm.replace(/\/+$/, '');
}

export interface ResolvedPath {
  /** The host path, every symbolic link on it resolved. */
  path: string;
  /** The same, relative to the root. */
  rel: string;
  /** lstat of what it names (never a symbolic link). */
  stat: Stats;
}

/**
 * Resolves `rel` inside `root`, following the symbolic links that stay inside it. Null when nothing is
 * there (a component is missing, or is not a directory). Throws EscapingPathError when `rel` or a link
 * on the way leads outside the root, or links loop.
 */
export function resolveConfined(root: ConfinedRoot, rel: string): ResolvedPath | null {
  if (rel.startsWith('/')) throw new EscapingPathError(rel, `leads outside ${root.label}`);
  const done: string[] = [];
  const todo = components(rel);
  let hops = 0;
  let lastLink: { at: string; target: string } | null = null;
  while (todo.length > 0) {
    const c = todo.shift() as string;
    if (c === '..') {
      if (done.length === 0) {
        if (lastLink)
          throw new EscapingPathError(lastLink.at, `a symbolic link leading outside ${root.label} (to ${shown(lastLink.target)})`);
        throw new EscapingPathError(rel, `leads outside ${root.label}`);
      }
      done.pop();
      continue;
    }
    const here = [...done, c].join('/');
    const st = lstatOrNull(join(root.dir, here));
    if (st === null) return null;
    if (st.isSymbolicLink()) {
      if (++hops > MAX_LINK_HOPS) throw new EscapingPathError(here, 'too many levels of symbolic links');
      const target = readlinkSync(join(root.dir, here));
      lastLink = { at: here, target };
      if (target.startsWith('/')) {
        const base = root.seenAt?.replace(/\/+$/, '');
        if (base === undefined || (target !== base && !target.startsWith(`${base}/`))) {
          throw new EscapingPathError(here, `a symbolic link leading outside ${root.label} (to ${shown(target)})`);
        }
        done.length = 0;
        todo.unshift(...components(target.slice(base.length)));
      } else {
        // Relative to the link's directory; a `..` above the root is caught above.
        const parts = components(target);
        let depth = done.length;
        for (const p of parts) {
          depth += p === '..' ? -1 : 1;
          if (depth < 0) throw new EscapingPathError(here, `a symbolic link leading outside ${root.label} (to ${shown(target)})`);
        }
        todo.unshift(...parts);
      }
      continue;
    }
    if (todo.length > 0 && !st.isDirectory()) return null;
    done.push(c);
  }
  const path = join(root.dir, ...done);
  return { path, rel: done.join('/'), stat: lstatSync(path) };
}

/**
 * Opens the regular file `rel` names inside `root` (links inside the root followed) for reading and
 * returns its descriptor and fstat, or null when it is absent. Throws SpecialFileError for anything
 * else than a regular file, without opening it.
 */
function openConfined(root: ConfinedRoot, rel: string): { fd: number; stat: Stats; rel: string } | null {
  const found = resolveConfined(root, rel);
  if (found === null) return null;
  if (!found.stat.isFile()) throw new SpecialFileError(found.rel || rel, `${kindOf(found.stat)}, not a regular file`);
  return { ...openRegularNoFollow(found.path, found.rel), rel: found.rel };
}

/**
 * Opens `path` (named `rel` in messages) for reading when it is a regular file, never through a link as
 * its final component and without blocking: a link (swapped in meanwhile) is an EscapingPathError,
 * anything but a regular file a SpecialFileError.
 */
export function openRegularNoFollow(path: string, rel: string): { fd: number; stat: Stats } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new EscapingPathError(rel, 'became a symbolic link');
    if (code === 'ENXIO') throw new SpecialFileError(rel, 'a special file, not a regular file');
    throw e;
  }
  let stat: Stats;
  try {
    stat = fstatSync(fd);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  if (!stat.isFile()) {
    closeSync(fd);
    throw new SpecialFileError(rel, `${kindOf(stat)}, not a regular file`);
  }
  return { fd, stat };
}

/** Reads all of an open regular file, refusing more than `maxBytes`. */
function readAll(fd: number, rel: string, maxBytes: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    total += n;
    if (total > maxBytes) throw new OversizedFileError(rel, `larger than ${maxBytes} bytes`);
    chunks.push(buf.subarray(0, n));
  }
  return Buffer.concat(chunks, total);
}

/**
 * The bytes and permission bits of the regular file `rel` inside `root`, or null when it is absent.
 * Larger than `maxBytes` (default PARSED_FILE_MAX_BYTES): OversizedFileError.
 */
export function readConfinedFile(
  root: ConfinedRoot,
  rel: string,
  maxBytes: number = PARSED_FILE_MAX_BYTES,
): { bytes: Buffer; mode: number } | null {
  const opened = openConfined(root, rel);
  if (opened === null) return null;
  try {
    if (opened.stat.size > maxBytes) throw new OversizedFileError(opened.rel, `larger than ${maxBytes} bytes`);
    return { bytes: readAll(opened.fd, opened.rel, maxBytes), mode: opened.stat.mode & 0o7777 };
  } finally {
    closeSync(opened.fd);
  }
}

/**
 * Reads a regular file at a host path the user or ecocheck chose (a `file://` source): links on the
 * path are followed, but only a regular file is read, opened without blocking.
 */
export function openRegularFile(path: string): { fd: number; stat: Stats } {
  // Checked before opening too: opening a device can act (a watchdog, a tape rewinding).
  const before = statSync(path);
  if (!before.isFile()) throw new SpecialFileError(path, `${kindOf(before)}, not a regular file`);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let stat: Stats;
  try {
    stat = fstatSync(fd);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  if (!stat.isFile()) {
    closeSync(fd);
    throw new SpecialFileError(path, `${kindOf(stat)}, not a regular file`);
  }
  return { fd, stat };
}

/**
 * Makes the directories of `rel` inside `root` (mkdir -p) without following any link: a symbolic link
 * or other non-directory on the way is a LinkInDestinationError. Returns the host path.
 */
export function makeConfinedDirs(root: ConfinedRoot, rel: string): string {
  const norm = confinedRelative(root, rel);
  mkdirSync(root.dir, { recursive: true }); // the root is ecocheck's choice
  let here = '';
  for (const c of components(norm)) {
    here = here ? `${here}/${c}` : c;
    const p = join(root.dir, here);
    const st = lstatOrNull(p);
    if (st === null) mkdirSync(p);
    else if (!st.isDirectory()) throw new LinkInDestinationError(here, `${kindOf(st)} where a directory is expected`);
  }
  return join(root.dir, norm);
}

/** The final name of a destination, made free: a directory there is refused, anything else removed. */
function freeDestination(root: ConfinedRoot, norm: string): string {
  if (norm === '') throw new LinkInDestinationError(norm, 'a directory where a file is expected');
  const slash = norm.lastIndexOf('/');
  makeConfinedDirs(root, slash >= 0 ? norm.slice(0, slash) : '');
  const p = join(root.dir, norm);
  const st = lstatOrNull(p);
  if (st?.isDirectory()) throw new LinkInDestinationError(norm, 'a directory where a file is expected');
  if (st !== null) unlinkSync(p);
  return p;
}

/** Creates `rel` inside `root` anew, exclusively, never through a link; returns its descriptor. */
function createConfined(root: ConfinedRoot, rel: string, mode: number): number {
  const norm = confinedRelative(root, rel);
  const p = freeDestination(root, norm);
  const fd = openSync(p, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode & 0o777);
  fchmodSync(fd, mode & 0o777); // the umask does not decide the mode
  return fd;
}

/** Writes `data` as the file `rel` inside `root` (replacing what is there), with `mode`. Returns the host path. */
export function writeConfinedFile(root: ConfinedRoot, rel: string, data: Buffer | string, mode: number = 0o644): string {
  const fd = createConfined(root, rel, mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
  } finally {
    closeSync(fd);
  }
  return join(root.dir, confinedRelative(root, rel));
}

/** One buffer for every copy (they are synchronous): a fresh megabyte per file costs more than the copy. */
let copyBuffer: Buffer | null = null;

function copyDescriptor(from: number, to: number): void {
  copyBuffer ??= Buffer.allocUnsafe(1 << 20);
  const buf = copyBuffer;
  for (;;) {
    const n = readSync(from, buf, 0, buf.length, null);
    if (n === 0) return;
    let off = 0;
    while (off < n) off += writeSync(to, buf, off, n - off);
  }
}

/**
 * Copies the regular file `srcRel` of `src` (links inside it followed) to `destRel` of `dest` (no link
 * followed), with `mode` (default: the source's permission bits, without setuid/setgid/sticky).
 * False when the source is absent.
 */
export function copyConfinedFile(src: ConfinedRoot, srcRel: string, dest: ConfinedRoot, destRel: string, mode?: number): boolean {
  const opened = openConfined(src, srcRel);
  if (opened === null) return false;
  copyOpenedInto(opened, dest, destRel, mode);
  return true;
}

/**
 * Copies an opened regular file to `destRel` inside `dest` (no link followed), with `mode` (default: its
 * permission bits, without setuid/setgid/sticky); closes the source's descriptor.
 */
function copyOpenedInto(opened: { fd: number; stat: Stats }, dest: ConfinedRoot, destRel: string, mode?: number): void {
  try {
    const out = createConfined(dest, destRel, mode ?? opened.stat.mode & 0o777);
    try {
      copyDescriptor(opened.fd, out);
    } finally {
      closeSync(out);
    }
  } finally {
    closeSync(opened.fd);
  }
}

/** Copies the regular file at a chosen host path (see openRegularFile) to `destRel` inside `dest`. */
export function copyRegularFileInto(path: string, dest: ConfinedRoot, destRel: string): void {
  copyOpenedInto(openRegularFile(path), dest, destRel);
}

/**
 * Copies the tree under the host directory `from` (itself chosen by the user or ecocheck) into `dest`
 * (its root, or `destRel` inside it), following no link: links are copied as links with their target
 * as written, regular files with their permission bits (without setuid/setgid/sticky), directories
 * merged. FIFOs, sockets and devices are refused (SpecialFileError naming the path under `from`).
 * `keep(rel)`, when given, says which entries (relative to `from`) are copied.
 */
export function copyTreeConfined(
  from: string,
  dest: ConfinedRoot,
  destRel = '',
  keep: (rel: string, name: string) => boolean = () => true,
): void {
  const fromRoot: ConfinedRoot = { dir: from, label: from };
  const walk = (rel: string, destHere: string): void => {
    makeConfinedDirs(dest, destHere);
    for (const name of readdirSync(join(from, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (!keep(r, name)) continue;
      const d = destHere ? `${destHere}/${name}` : name;
      const st = lstatSync(join(from, r));
      if (st.isDirectory()) {
        const there = lstatOrNull(join(dest.dir, d));
        if (there !== null && !there.isDirectory()) unlinkSync(join(dest.dir, d));
        walk(r, d);
      } else if (st.isSymbolicLink()) {
        const p = freeDestination(dest, confinedRelative(dest, d));
        symlinkSync(readlinkSync(join(from, r)), p);
      } else if (st.isFile()) {
        copyConfinedFileNoFollow(fromRoot, r, dest, d);
      } else {
        throw new SpecialFileError(r, `${kindOf(st)}: only files, directories and symbolic links can be copied`);
      }
    }
  };
  walk('', confinedRelative(dest, destRel));
}

/** Copies the regular file `rel` of `src`, refusing a link as its final component (tree copies). */
function copyConfinedFileNoFollow(src: ConfinedRoot, rel: string, dest: ConfinedRoot, destRel: string): void {
  copyOpenedInto(openRegularNoFollow(join(src.dir, rel), rel), dest, destRel);
}

/**
 * Removes `rel` inside `root` without following any link: when a component on the way is a symbolic
 * link, that link itself is what is removed (`rel` is not in the root then); when it is another
 * non-directory, nothing is. Returns the host path removed, or null. `remove` removes `rel` itself
 * (default rmSync, which never follows links inside the tree).
 */
export function removeConfined(
  root: ConfinedRoot,
  rel: string,
  remove: (path: string) => void = (p) => rmSync(p, { recursive: true, force: true }),
): string | null {
  const norm = confinedRelative(root, rel);
  if (norm === '') throw new LinkInDestinationError(rel, `is ${root.label} itself`);
  let here = '';
  for (const c of components(norm)) {
    here = here ? `${here}/${c}` : c;
    const p = join(root.dir, here);
    const st = lstatOrNull(p);
    if (st === null) return null;
    if (here === norm) {
      remove(p);
      return p;
    }
    if (st.isSymbolicLink()) {
      unlinkSync(p);
      return p;
    }
    if (!st.isDirectory()) return null;
  }
  return null;
}
