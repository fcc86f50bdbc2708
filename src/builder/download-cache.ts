/**
 * The download cache: files keyed by checksum, laid out like opam's (`CACHE/<algo>/<2 hex>/<hex>`).
 * A file is stored under each of its checksums, so a later fetch naming any one of them finds it,
 * without network: the cache doubles as an offline mirror. Only verified files are stored.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Checksum } from '../opam/package-model.js';
import { checksumMismatches } from './checksum.js';

export class DownloadCache {
  constructor(readonly root: string) {}

  pathFor(c: Checksum): string {
    const hex = c.hex.toLowerCase();
    return join(this.root, c.algorithm, hex.slice(0, 2), hex);
  }

  /** A cached file matching every checksum in `checksums`, or null. Corrupt entries are dropped. */
  async lookup(checksums: Checksum[]): Promise<string | null> {
    for (const c of checksums) {
      const p = this.pathFor(c);
      if (!existsSync(p)) continue;
      if ((await checksumMismatches(p, checksums)).length === 0) return p;
      rmSync(p, { force: true });
    }
    return null;
  }

  /** Stores an already verified file under each of its checksums (atomically: copy then rename). */
  store(file: string, checksums: Checksum[]): void {
    for (const c of checksums) {
      const dest = this.pathFor(c);
      if (existsSync(dest)) continue;
      mkdirSync(dirname(dest), { recursive: true });
      const tmp = `${dest}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
      try {
        linkSync(file, tmp);
      } catch {
        copyFileSync(file, tmp);
      }
      renameSync(tmp, dest);
    }
  }
}
