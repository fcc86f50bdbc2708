/**
 * The files of the repository cache: a JSON head and a binary body (numbers that JSON would make
 * slow to read and heavy to hold), in one file written atomically, so a reader sees a whole file or none.
 *
 * Layout: `ECOC`, the head's byte length (u32, little-endian), the head (UTF-8 JSON), zero padding to a
 * multiple of 8, the body. The body is returned as its own aligned buffer, ready for typed-array views.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { dirname } from 'node:path';

const MAGIC = 0x434f4345; // "ECOC"

/** Writes `file` as a head and a body (creating its folder); throws when the disk refuses. */
export function writeCacheFile(file: string, head: unknown, body: Uint8Array): void {
  const headBytes = Buffer.from(JSON.stringify(head), 'utf8');
  const start = Math.ceil((8 + headBytes.length) / 8) * 8;
  const out = Buffer.alloc(start + body.byteLength);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(headBytes.length, 4);
  headBytes.copy(out, 8);
  out.set(body, start);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, out);
  renameSync(tmp, file);
}

/** The head and body of a cache file, or null when it is missing or not one. */
export function readCacheFile(file: string): { head: unknown; body: Uint8Array } | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return null;
  }
  if (bytes.length < 8 || bytes.readUInt32LE(0) !== MAGIC) return null;
  const headLength = bytes.readUInt32LE(4);
  if (8 + headLength > bytes.length) return null;
  let head: unknown;
  try {
    head = JSON.parse(bytes.toString('utf8', 8, 8 + headLength));
  } catch {
    return null;
  }
  const start = Math.ceil((8 + headLength) / 8) * 8;
  if (start > bytes.length) return null;
  // A copy when the view would be misaligned (small files share Node's buffer pool).
  const aligned = (bytes.byteOffset + start) % 8 === 0;
  const body = aligned
    ? new Uint8Array(bytes.buffer, bytes.byteOffset + start, bytes.length - start)
    : new Uint8Array(bytes.subarray(start));
  return { head, body };
}
