/**
 * Run exports as files, and the log files they carry: an export written as JSON (one file per shard,
 * what the CI uploads) with its logs streamed in one at a time, an export file read back and checked,
 * and the logs of a merged run written under the state's log folder.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { RunExportError, validateRunExport, type RunExport } from './run-export-format.js';
import { StoreError } from './store-error.js';

/** Reads and validates one export file: unreadable, not JSON or not an export is a RunExportError naming it. */
export function readRunExportFile(file: string): RunExport {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RunExportError(`cannot read it: ${(err as Error).message.split('\n')[0]}`, file);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new RunExportError(`not JSON: ${(err as Error).message.split('\n')[0]}`, file);
  }
  return validateRunExport(data, file);
}

export interface WriteOptions {
  /** The log files to carry in the export, read as it is written. */
  logsFrom?: readonly string[];
  /** How a log is read (default: whole, as text); the session gives the builder's capped reader. */
  readLog?: (path: string) => string;
}

/**
 * Writes an export as JSON. With `logsFrom`, the export's logs are those files, read one at a time as
 * they are written (with `readLog`, e.g. capped as the builder caps a log: a huge log an older version
 * kept whole is its head and tail), so that memory holds one log at most, whatever the run's size; a
 * file that is gone is listed in `missingLogs`.
 */
export function writeRunExportFile(file: string, exported: RunExport, options: WriteOptions = {}): void {
  if (options.logsFrom === undefined) {
    writeFileSync(file, `${JSON.stringify(exported)}\n`);
    return;
  }
  const readLog = options.readLog ?? ((p: string) => readFileSync(p, 'utf8'));
  const present = options.logsFrom.filter((p) => existsSync(p));
  const missing = options.logsFrom.filter((p) => !present.includes(p));
  const { logs: _logs, missingLogs: _missing, ...rest } = exported;
  const fd = openSync(file, 'w');
  try {
    const put = (text: string) => {
      const buf = Buffer.from(text);
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    };
    put(`${JSON.stringify(rest).slice(0, -1)},"missingLogs":${JSON.stringify(missing)},"logs":{`);
    present.forEach((p, i) => {
      let text: string;
      try {
        text = readLog(p);
      } catch (err) {
        text = `(ecocheck export: the log could not be read: ${(err as Error).message.split('\n')[0]})\n`;
      }
      put(`${i > 0 ? ',' : ''}${JSON.stringify(p)}:${JSON.stringify(text)}`);
    });
    put('}}\n');
  } finally {
    closeSync(fd);
  }
}

/** Where each carried log goes under `logDir` (named as the builder names them: its file name is kept). */
export function logDestinations(recordedPaths: Iterable<string>, logDir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of recordedPaths) if (!out.has(p)) out.set(p, join(logDir, basename(p)));
  return out;
}

/** Writes the carried logs to their destinations (before the records pointing there are written). */
export function writeLogFiles(logDir: string, files: ReadonlyMap<string, string>): void {
  try {
    if (files.size > 0) mkdirSync(logDir, { recursive: true });
    for (const [path, text] of files) writeFileSync(path, text);
  } catch (err) {
    throw new StoreError(`cannot write the merged run's logs under ${logDir}: ${(err as Error).message.split('\n')[0]}`);
  }
}
