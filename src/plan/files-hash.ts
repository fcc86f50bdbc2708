/**
 * The one directory hasher of job keys: a package's `files/` folder (extra files and patches) and a
 * pinned source directory. Editing a patch, or a file of a pinned checkout, changes the key like editing
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
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { isExcludedFromLocalCopy } from '../opam/pin-source.js';

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

  private memo(key: string, compute: () => string): string {
    let h = this.cache.get(key);
    if (h === undefined) {
      h = compute();
      this.cache.set(key, h);
    }
    return h;
  }
}
