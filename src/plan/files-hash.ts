/**
 * The content hash of a package's `files/` folder (extra files and patches): part of every job key, so
 * editing a patch rebuilds the package like editing its opam file does.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** sha256 (hex) over the sorted relative paths and contents of every file under `dir`; '' when there is none. */
export function hashFilesDir(dir: string | null): string {
  if (dir === null) return '';
  const files: string[] = [];
  const walk = (rel: string) => {
    let entries;
    try {
      entries = readdirSync(join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.isFile() || e.isSymbolicLink()) files.push(r);
    }
  };
  walk('');
  if (files.length === 0) return '';
  files.sort();
  const h = createHash('sha256');
  for (const f of files) {
    let content: Buffer;
    try {
      content = readFileSync(join(dir, f));
    } catch {
      content = Buffer.alloc(0);
    }
    h.update(`${f}\0${content.length}\0`);
    h.update(content);
  }
  return h.digest('hex');
}

/** Hashes each `files/` folder once per process: many solutions share the same package. */
export class FilesDirHashCache {
  private readonly cache = new Map<string, string>();

  hash(dir: string | null): string {
    if (dir === null) return '';
    let h = this.cache.get(dir);
    if (h === undefined) {
      h = hashFilesDir(dir);
      this.cache.set(dir, h);
    }
    return h;
  }
}
