/**
 * A layer's content as one hash, so a layer carried between machines (`export --layers`, then `merge`)
 * is put in a store only when it is what was exported: every entry's path, type, permission bits, and a
 * file's bytes, a link's target, a device's numbers (overlayfs' whiteouts are 0/0 character devices),
 * walked in sorted order, links not followed. Owners are left out (a layer is handed to the build user
 * of the machine that uses it); so are extended attributes (tar carries overlayfs' opaque marks).
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { hashOpenFile } from './checksum.js';
import { openRegularNoFollow } from './confined-path.js';

const CHUNK = 1 << 20;

/** A regular file's bytes into `h`, opened without following a link (one swapped in is refused). */
function hashFile(h: Hash, file: string, rel: string, buf: Buffer): void {
  const { fd } = openRegularNoFollow(file, rel);
  try {
    hashOpenFile(h, fd, buf);
  } finally {
    closeSync(fd);
  }
}

/** The digest of the tree at `dir` (hex sha256). */
export function layerDigest(dir: string): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  const visit = (abs: string, rel: string) => {
    const st = lstatSync(abs);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) {
      h.update(`d ${rel} ${mode}\n`);
      for (const name of readdirSync(abs).sort()) visit(join(abs, name), rel === '' ? name : `${rel}/${name}`);
    } else if (st.isFile()) {
      h.update(`f ${rel} ${mode} ${st.size}\n`);
      hashFile(h, abs, rel, buf);
    } else if (st.isSymbolicLink()) h.update(`l ${rel} ${readlinkSync(abs)}\n`);
    else if (st.isCharacterDevice() || st.isBlockDevice()) h.update(`${st.isCharacterDevice() ? 'c' : 'b'} ${rel} ${mode} ${st.rdev}\n`);
    else h.update(`${st.isFIFO() ? 'p' : 's'} ${rel} ${mode}\n`);
  };
  visit(dir, '');
  return h.digest('hex');
}
