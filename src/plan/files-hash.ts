/**
 * The one directory hasher of job keys: a package's `files/` folder (extra files and patches), a
 * pinned source directory, and a local source without a checksum (a file's bytes, a directory as a
 * pinned one, a git checkout's commit). Editing a patch, or a file of a pinned checkout, changes the key like editing
 * the opam file does.
 *
 * The hash is sha256 over the directory's entries in sorted order of their relative paths ('/'
 * separated), each as
 * - a regular file: `PATH \0 LENGTH \0 CONTENT`, or `PATH \0 x LENGTH \0 CONTENT` when it is executable
 *   (the one mode bit that is kept: the others vary with the umask of a checkout, as git knows);
 * - a symbolic link: `PATH \0 l \0 TARGET \0`, its target as written, never followed (a link to a
 *   directory is not descended into);
 * - a directory: its entries (an empty directory adds nothing); other kinds (sockets, fifos) nothing.
 * A non-executable file hashes as it did before links and modes were told apart, so the keys of
 * packages whose `files/` hold only such files did not change.
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { isExcludedFromLocalCopy } from '../opam/pin-source.js';
import { openRegularFileNoFollow } from './regular-file.js';
import { resolveGitCommit } from './git-commit.js';

export interface DirectoryHashOptions {
  /** Entries left out (by name, at any depth), with everything under them. */
  exclude?: (name: string) => boolean;
}

/** The directory's hash (see the header); '' when it holds no file or link, or cannot be read. */
export function hashDirectory(dir: string, options: DirectoryHashOptions = {}): string {
  const entries: { rel: string; kind: 'file' | 'link' }[] = [];
  const walk = (rel: string) => {
    let list;
    try {
      list = readdirSync(rel === '' ? dir : join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of list) {
      if (options.exclude?.(e.name) === true) continue;
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.isSymbolicLink()) entries.push({ rel: r, kind: 'link' });
      else if (e.isFile()) entries.push({ rel: r, kind: 'file' });
    }
  };
  walk('');
  if (entries.length === 0) return '';
  entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const h = createHash('sha256');
  for (const { rel, kind } of entries) {
    const path = join(dir, rel);
    if (kind === 'link') {
      let target = '';
      try {
        target = readlinkSync(path);
      } catch {
        // Vanished since the walk: hashed as an empty link.
      }
      h.update(`${rel}\0l\0${target}\0`);
      continue;
    }
    let content: Buffer;
    let executable = false;
    try {
      executable = (lstatSync(path).mode & 0o111) !== 0;
      content = readFileSync(path);
    } catch {
      content = Buffer.alloc(0);
    }
    h.update(`${rel}\0${executable ? 'x' : ''}${content.length}\0`);
    h.update(content);
  }
  return h.digest('hex');
}

/** A package's `files/` folder: every entry counts; '' for none. */
export function hashFilesDir(dir: string | null): string {
  return dir === null ? '' : hashDirectory(dir);
}

/**
 * A pinned source directory, as the build receives it: without what opam's copy leaves out (`.git`,
 * `_build`, `_opam*`…, `opam/pin-source.ts`), so building in the checkout does not change its key.
 */
export function hashPinnedDirectory(dir: string): string {
  return hashDirectory(dir, { exclude: isExcludedFromLocalCopy });
}

/**
 * A regular file's bytes, read in chunks (sha256 hex); '' when it is not a regular file or cannot be
 * read. Opened without following a link and without blocking, so a FIFO or a device is never waited on.
 */
export function hashFileContent(path: string): string {
  const fd = openRegularFileNoFollow(path);
  if (fd === null) return '';
  try {
    const h = createHash('sha256');
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
    return h.digest('hex');
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}

/**
 * A local source without a checksum, as the fetcher gives it to the build: a file's bytes, or a
 * directory as a pinned directory is hashed (what the copy leaves out left out). '' when it is neither.
 */
export function hashLocalSource(path: string): string {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return '';
  }
  if (st.isDirectory()) return `dir:${hashPinnedDirectory(path)}`;
  if (st.isFile()) return `file:${hashFileContent(path)}`;
  return '';
}

/** Hashes each directory once per process (per plan): many solutions share the same package. */
export class FilesDirHashCache {
  private readonly cache = new Map<string, string>();

  hash(dir: string | null): string {
    if (dir === null) return '';
    return this.memo(`files\0${dir}`, () => hashFilesDir(dir));
  }

  pinnedDirectory(dir: string): string {
    return this.memo(`pin\0${dir}`, () => hashPinnedDirectory(dir));
  }

  /** A local source's content (`hashLocalSource`), by its real path. */
  localSource(path: string): string {
    return this.memo(`local\0${path}`, () => hashLocalSource(path));
  }

  /** The commit `ref` (HEAD when null) names in the git checkout `dir` (`git-commit.ts`); '' when none. */
  gitCommit(dir: string, ref: string | null): string {
    return this.memo(`git\0${dir}\0${ref ?? ''}`, () => resolveGitCommit(dir, ref) ?? '');
  }

  private memo(key: string, compute: () => string): string {
    let h = this.cache.get(key);
    if (h === undefined) {
      h = compute();
      this.cache.set(key, h);
    }
    return h;
  }
}
