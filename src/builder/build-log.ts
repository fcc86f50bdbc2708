/**
 * The job's log file: ecocheck's own lines (steps, fetches, patches, installs) interleaved with the
 * commands the process runner appends (command line, output, exit code, duration).
 */
import { appendFileSync, existsSync, mkdirSync, openSync, readSync, closeSync, fstatSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export class BuildLog {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '');
  }

  line(text: string): void {
    appendFileSync(this.path, text.endsWith('\n') ? text : `${text}\n`);
  }

  section(title: string): void {
    this.line(`## ${title}`);
  }

  /** The last `n` lines of the log. */
  tail(n = 40): string {
    if (!existsSync(this.path)) return '';
    const fd = openSync(this.path, 'r');
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, size - length);
      const lines = buf.toString('utf8').replace(/\n$/, '').split('\n');
      return lines.slice(-n).join('\n');
    } finally {
      closeSync(fd);
    }
  }
}
