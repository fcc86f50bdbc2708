/**
 * The job's log file: ecocheck's own lines (steps, fetches, patches, installs) interleaved with the
 * commands the process runner writes through it (command line, output, exit code, duration).
 *
 * A log is capped, as crater caps its logs: it keeps its first LOG_HEAD_BYTES as they come, then only
 * its last LOG_TAIL_BYTES, in memory, written after the head with a line saying how much was cut
 * (`[... 987,654,321 bytes of output cut ...]`) when the log is closed or read. The disk never holds
 * more than the head, the tail and that line, however much a build prints. Why these sizes: the head
 * holds the whole log of any real build (the OCaml compiler's, the longest, is about 2 MiB), and the
 * tail holds more than the builder reads back at the end of a failed command (4 MiB scanned for
 * evidence, 8 MiB for its first error), so a huge log is read as a normal one is.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, readSync, writeFileSync, writeSync, fstatSync } from 'node:fs';
import { dirname } from 'node:path';

export const LOG_HEAD_BYTES = 10 * 1024 * 1024;
export const LOG_TAIL_BYTES = 10 * 1024 * 1024;

/** A partial first line of the tail is dropped when no longer than this (it is the cut's continuation). */
const PARTIAL_LINE_MAX = 4096;

export interface BuildLogOptions {
  /** Keep what the file holds and write after it (default: start an empty file). */
  append?: boolean;
  headBytes?: number;
  tailBytes?: number;
}

/** The line put where output was cut. */
export function cutNote(bytes: number): string {
  return `[... ${bytes.toLocaleString('en-US')} bytes of output cut ...]`;
}

export class BuildLog {
  private fd: number | null;
  /** Bytes written through this log so far, counted from the file's start (what was cut included). */
  private written: number;
  /** The file's bytes that are the head, written as they came. */
  private headEnd: number;
  private readonly headLimit: number;
  private readonly tailBytes: number;
  /** The tail: the last bytes written after the head, at most `tailBytes`. */
  private tailChunks: Buffer[] = [];
  private tailLength = 0;
  /** The tail changed since the file last got it. */
  private dirty = false;
  private lastHeadByte = 0x0a;

  constructor(
    readonly path: string,
    options: BuildLogOptions = {},
  ) {
    mkdirSync(dirname(path), { recursive: true });
    if (options.append !== true) writeFileSync(path, '');
    // O_APPEND: after the file is cut back to its head, writes land there.
    this.fd = openSync(path, 'a+');
    const existing = fstatSync(this.fd).size;
    this.written = existing;
    this.headEnd = existing;
    if (existing > 0) {
      const last = Buffer.alloc(1);
      readSync(this.fd, last, 0, 1, existing - 1);
      this.lastHeadByte = last[0];
    }
    this.headLimit = existing + (options.headBytes ?? LOG_HEAD_BYTES);
    this.tailBytes = options.tailBytes ?? LOG_TAIL_BYTES;
  }

  /** Where the next byte goes, counted as if nothing were cut (a command's output starts there). */
  get position(): number {
    return this.written;
  }

  /** Bytes written but not kept. */
  get cutBytes(): number {
    return this.written - this.tailLength - this.headEnd;
  }

  /** Appends to the log (nothing once it is closed: output still in flight from a killed command). */
  write(data: string | Buffer): void {
    if (this.fd === null) return;
    let buf = typeof data === 'string' ? Buffer.from(data) : data;
    if (buf.length === 0) return;
    this.written += buf.length;
    if (this.headEnd < this.headLimit) {
      const n = Math.min(buf.length, this.headLimit - this.headEnd);
      writeAll(this.fd, buf.subarray(0, n));
      this.headEnd += n;
      this.lastHeadByte = buf[n - 1];
      if (n === buf.length) return;
      buf = buf.subarray(n);
    }
    this.tailChunks.push(buf);
    this.tailLength += buf.length;
    this.dirty = true;
    while (this.tailLength > this.tailBytes) {
      const excess = this.tailLength - this.tailBytes;
      const first = this.tailChunks[0];
      if (first.length <= excess) {
        this.tailChunks.shift();
        this.tailLength -= first.length;
      } else {
        this.tailChunks[0] = first.subarray(excess);
        this.tailLength -= excess;
      }
    }
  }

  line(text: string): void {
    this.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  section(title: string): void {
    this.line(`## ${title}`);
  }

  /** The tail as kept: its partial first line dropped when something before it was cut. */
  private keptTail(): { cut: number; tail: Buffer } {
    let tail = Buffer.concat(this.tailChunks, this.tailLength);
    let cut = this.cutBytes;
    if (cut > 0) {
      const nl = tail.subarray(0, PARTIAL_LINE_MAX).indexOf(0x0a);
      if (nl >= 0) {
        tail = tail.subarray(nl + 1);
        cut += nl + 1;
      }
    }
    return { cut, tail };
  }

  private cutLine(cut: number): string {
    return `${this.lastHeadByte === 0x0a ? '' : '\n'}${cutNote(cut)}\n`;
  }

  /** Writes the tail (and the cut line) after the head in the file; the log stays open. */
  flush(): void {
    if (this.fd === null || !this.dirty) return;
    ftruncateSync(this.fd, this.headEnd);
    const { cut, tail } = this.keptTail();
    if (cut > 0) writeAll(this.fd, Buffer.from(this.cutLine(cut)));
    writeAll(this.fd, tail);
    this.dirty = false;
  }

  /**
   * The log's text from `from` (a `position`) to its end, at most its last `maxBytes` (the head's part
   * read from the file, the tail's from memory, the cut line between them). Bounded memory, whatever was written.
   */
  readBack(from: number, maxBytes: number): string {
    const start = Math.max(from, this.written - maxBytes, 0);
    const parts: Buffer[] = [];
    if (start < this.headEnd && this.fd !== null) {
      const length = this.headEnd - start;
      const buf = Buffer.alloc(length);
      let read = 0;
      while (read < length) {
        const n = readSync(this.fd, buf, read, length - read, start + read);
        if (n === 0) break;
        read += n;
      }
      parts.push(buf.subarray(0, read));
    }
    if (this.tailLength > 0) {
      const tailStart = this.written - this.tailLength;
      if (start < tailStart) {
        const { cut, tail } = this.keptTail();
        if (cut > 0) parts.push(Buffer.from(start < this.headEnd ? this.cutLine(cut) : `${cutNote(cut)}\n`));
        parts.push(tail);
      } else {
        parts.push(Buffer.concat(this.tailChunks, this.tailLength).subarray(start - tailStart));
      }
    }
    return Buffer.concat(parts).toString('utf8');
  }

  /** The last `n` lines of the log. */
  tail(n = 40): string {
    const lines = this.readBack(0, 64 * 1024)
      .replace(/\n$/, '')
      .split('\n');
    return lines.slice(-n).join('\n');
  }

  /** Flushes the tail and closes the file (idempotent). */
  close(): void {
    if (this.fd === null) return;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/**
 * A log file's text, whole when it is at most `headBytes + tailBytes`, else its head, the cut line and
 * its tail: what `ecocheck export --logs` carries, in bounded memory even for a huge log an older
 * version kept whole.
 */
export function readLogCapped(path: string, headBytes = LOG_HEAD_BYTES, tailBytes = LOG_TAIL_BYTES): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const readAt = (position: number, length: number): Buffer => {
      const buf = Buffer.alloc(length);
      let read = 0;
      while (read < length) {
        const n = readSync(fd, buf, read, length - read, position + read);
        if (n === 0) break;
        read += n;
      }
      return buf.subarray(0, read);
    };
    if (size <= headBytes + tailBytes) return readAt(0, size).toString('utf8');
    const head = readAt(0, headBytes);
    let tail = readAt(size - tailBytes, tailBytes);
    let cut = size - headBytes - tailBytes;
    const nl = tail.subarray(0, PARTIAL_LINE_MAX).indexOf(0x0a);
    if (nl >= 0) {
      tail = tail.subarray(nl + 1);
      cut += nl + 1;
    }
    const note = `${head[head.length - 1] === 0x0a ? '' : '\n'}${cutNote(cut)}\n`;
    return Buffer.concat([head, Buffer.from(note), tail]).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
