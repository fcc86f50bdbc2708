/**
 * Unpacking a fetched source into the build directory the way opam does (`OpamSystem.extract`):
 * archives (tar, tar.gz, tar.bz2, tar.xz, zip) are unpacked into a scratch directory; when that holds
 * a single directory its contents become the source, otherwise everything it holds does. A file that
 * is not an archive is copied as is, under its name.
 *
 * An archive is the package's: before anything of it is moved into the build directory, every member
 * is checked where it will land. A symbolic link leading outside (absolute, or climbing out through
 * `..` or other links) or a FIFO, socket or device is refused (UnsafeArchiveError), as opam's
 * `OpamSystem.extract` refuses links leading out; a link is never taken for the single directory.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ProcessResult } from './process-runner.js';
import { BuilderError } from './builder-error.js';
import {
  copyRegularFileInto,
  EscapingPathError,
  kindOf,
  resolveConfined,
  shown,
  UnsafePathError,
  type ConfinedRoot,
} from './confined-path.js';

export type ArchiveKind = 'tar' | 'tar.gz' | 'tar.bz2' | 'tar.xz' | 'zip' | 'plain';

/** Runs a tool (tar, unzip) for the extraction; provided by the builder so it is logged and cancellable. */
export type ToolRunner = (argv: string[], cwd: string) => Promise<ProcessResult>;

export class ExtractionError extends BuilderError {
  constructor(
    message: string,
    readonly result: ProcessResult | null = null,
  ) {
    super(message, 'input');
  }
}

/** An archive member that would lead outside the build directory, or is a special file: a defect of the package. */
export class UnsafeArchiveError extends UnsafePathError {}

/**
 * Checks every member under `root` (where the archive's content will be): symbolic links must resolve
 * inside it (or be dangling inside it), and only directories, regular files and links are allowed.
 */
function checkMembers(root: string, archive: string): void {
  const confined: ConfinedRoot = { dir: root, label: 'the archive' };
  const walk = (rel: string): void => {
    for (const name of readdirSync(rel ? join(root, rel) : root)) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      if (st.isDirectory()) walk(r);
      else if (st.isSymbolicLink()) {
        try {
          resolveConfined(confined, r);
        } catch (e) {
          if (e instanceof EscapingPathError) throw new UnsafeArchiveError(r, `${e.reason} (in ${shown(archive)})`);
          throw e;
        }
      } else if (!st.isFile())
        throw new UnsafeArchiveError(r, `${kindOf(st)} (in ${shown(archive)}): an archive may hold files, directories and links only`);
    }
  };
  walk('');
}

/** The archive kind, from the file's first bytes (its name only breaks ties for plain tar). */
export function archiveKind(file: string): ArchiveKind {
  const head = Buffer.alloc(512);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
  const b = head.subarray(0, n);
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'tar.gz';
  if (b.length >= 3 && b.toString('latin1', 0, 3) === 'BZh') return 'tar.bz2';
  if (b.length >= 6 && b[0] === 0xfd && b.toString('latin1', 1, 6) === '7zXZ\0') return 'tar.xz';
  if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6)) {
    return 'zip';
  }
  if (b.length >= 262 && b.toString('latin1', 257, 262) === 'ustar') return 'tar';
  if (/\.(tar|tgz|tbz|txz|tar\.\w+)$/.test(file) && b.length === 512 && b.subarray(0, 100).includes(0)) return 'tar';
  return 'plain';
}

/** Moves every entry of `from` into `to` (which must exist). */
function moveContents(from: string, to: string): void {
  for (const entry of readdirSync(from)) {
    const dest = join(to, entry);
    rmSync(dest, { recursive: true, force: true });
    renameSync(join(from, entry), dest);
  }
}

/**
 * Extracts (or copies) `file` into `destDir` (created if needed). `scratch` is a directory on the same
 * file system that the extraction may use (it is removed afterwards). `name` is the file name to use
 * for a plain file (defaults to the file's own).
 */
export async function extractInto(
  file: string,
  destDir: string,
  scratch: string,
  run: ToolRunner,
  name: string = basename(file),
): Promise<ArchiveKind> {
  mkdirSync(destDir, { recursive: true });
  const kind = archiveKind(file);
  if (kind === 'plain') {
    copyRegularFileInto(file, { dir: destDir, label: 'the build directory' }, name);
    return kind;
  }
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  try {
    const argv =
      kind === 'zip'
        ? ['unzip', '-q', '-o', file, '-d', scratch]
        : ['tar', '-x', '--no-same-owner', '--no-same-permissions', '-f', file, '-C', scratch];
    const result = await run(argv, scratch);
    if (result.exitCode !== 0 || result.signal !== null || result.timedOut || result.aborted) {
      // tar refuses to write through a link the archive made: that link is the cause worth naming.
      if (result.exitCode !== 0 && result.signal === null && !result.timedOut && !result.aborted) checkMembers(scratch, basename(file));
      throw new ExtractionError(
        `cannot extract ${basename(file)} (${kind}): ${argv[0]} exited with ${result.signal ?? result.exitCode}`,
        result,
      );
    }
    const entries = readdirSync(scratch);
    const only = entries.length === 1 ? join(scratch, entries[0]) : null;
    // lstat: a single member that is a link is moved as a link, never entered.
    const from = only && lstatSync(only).isDirectory() ? only : scratch;
    checkMembers(from, basename(file));
    moveContents(from, destDir);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return kind;
}
