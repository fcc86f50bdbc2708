/**
 * opam checksums (`OpamHash`): `md5=HEX`, `sha256=HEX`, `sha512=HEX` (a bare 32-hex string is md5).
 * A file matches a list of checksums when it matches every one of them.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, readSync } from 'node:fs';
import type { Checksum } from '../opam/package-model.js';

const NODE_ALGORITHM: Record<Checksum['algorithm'], string> = { md5: 'md5', sha256: 'sha256', sha512: 'sha512' };

export function checksumToString(c: Checksum): string {
  return `${c.algorithm}=${c.hex}`;
}

export async function hashFile(path: string, algorithm: Checksum['algorithm']): Promise<string> {
  const hash = createHash(NODE_ALGORITHM[algorithm]);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Feeds `hash` the rest of the open file `fd`, read through `buffer`. */
export function hashOpenFile(hash: Hash, fd: number, buffer: Buffer): void {
  for (let n = readSync(fd, buffer, 0, buffer.length, null); n > 0; n = readSync(fd, buffer, 0, buffer.length, null))
    hash.update(buffer.subarray(0, n));
}

export function hashBytes(bytes: Buffer | string, algorithm: Checksum['algorithm']): string {
  return createHash(NODE_ALGORITHM[algorithm]).update(bytes).digest('hex');
}

/** The checksums `path` fails, with the value it actually has; empty when it matches them all. */
export async function checksumMismatches(path: string, expected: Checksum[]): Promise<{ expected: Checksum; actual: string }[]> {
  const out: { expected: Checksum; actual: string }[] = [];
  for (const c of expected) {
    const actual = await hashFile(path, c.algorithm);
    if (actual.toLowerCase() !== c.hex.toLowerCase()) out.push({ expected: c, actual });
  }
  return out;
}

/** Strongest first, as opam orders them when it picks one to name a file by. */
export function strongestFirst(checksums: Checksum[]): Checksum[] {
  const rank = { sha512: 0, sha256: 1, md5: 2 } as const;
  return [...checksums].sort((a, b) => rank[a.algorithm] - rank[b.algorithm]);
}
