/**
 * The store of installed prefixes: `storeDir/<job key>` is the prefix a job installs into. A job
 * builds and installs directly in its final prefix, because builds bake their install paths into
 * what they install (the compiler's standard library path, findlib.conf, META files, generated
 * scripts): a prefix built elsewhere and then renamed would point at a directory that no longer
 * exists. Completion is therefore recorded separately and atomically: `storeDir/<key>.done` (a small
 * JSON record written to a temporary name and renamed) exists only once the prefix is complete and
 * made read-only. A prefix without its record is the leftover of an interrupted or failed build and
 * is removed before the key is built again.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CompletionRecord {
  id: string;
  key: string;
  builder: string;
  finishedAt: string;
  durationMs: number;
  logPath: string | null;
}

export function prefixPath(storeDir: string, key: string): string {
  return join(storeDir, key);
}

export function completionRecordPath(storeDir: string, key: string): string {
  return join(storeDir, `${key}.done`);
}

export function isPrefixComplete(storeDir: string, key: string): boolean {
  return existsSync(completionRecordPath(storeDir, key)) && existsSync(prefixPath(storeDir, key));
}

/** Walks a tree (not following symbolic links), children before their directory when `post`. */
function walk(path: string, visit: (p: string, isDir: boolean) => void): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    visit(path, true);
    for (const e of readdirSync(path)) walk(join(path, e), visit);
  } else visit(path, false);
}

/** Removes write permission everywhere in the tree. */
export function makeReadOnly(root: string): void {
  const dirs: string[] = [];
  walk(root, (p, isDir) => {
    if (isDir) dirs.push(p);
    else chmodSync(p, lstatSync(p).mode & 0o555);
  });
  // Directories last, deepest first, so the walk above could still list them.
  for (const d of dirs.reverse()) chmodSync(d, lstatSync(d).mode & 0o555);
}

/** Removes a tree even when parts of it were made read-only. */
export function removeTree(root: string): void {
  if (!existsSync(root)) return;
  try {
    rmSync(root, { recursive: true, force: true });
    return;
  } catch {
    // Some directory is not writable: give write permission back and retry.
  }
  walk(root, (p, isDir) => {
    if (isDir) chmodSync(p, lstatSync(p).mode | 0o700);
  });
  rmSync(root, { recursive: true, force: true });
}

/** A fresh, empty prefix for `key` (any leftover from an earlier attempt removed). */
export function preparePrefix(storeDir: string, key: string): string {
  const prefix = prefixPath(storeDir, key);
  rmSync(completionRecordPath(storeDir, key), { force: true });
  removeTree(prefix);
  mkdirSync(prefix, { recursive: true });
  return prefix;
}

/** Seals a finished prefix: read-only, then its completion record written atomically. */
export function completePrefix(storeDir: string, record: CompletionRecord): void {
  makeReadOnly(prefixPath(storeDir, record.key));
  const dest = completionRecordPath(storeDir, record.key);
  const tmp = `${dest}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n');
  renameSync(tmp, dest);
}

/** Forgets a prefix: record first (so it is never seen complete), then the tree. */
export function discardPrefix(storeDir: string, key: string): void {
  rmSync(completionRecordPath(storeDir, key), { force: true });
  removeTree(prefixPath(storeDir, key));
}
