/**
 * The store of layers: `storeDir/<job key>` holds what a job added to or changed in its switch, as
 * overlayfs records it (new and modified files, whiteouts for removed ones, opaque directories),
 * relative to the switch prefix. A job's switch is the stack of its closure's layers, in build order,
 * over the empty switch; see switch-mount.ts.
 *
 * A finished layer is immutable: overlayfs never writes to a lower layer, whatever a later build does
 * to the files it shows. (The files keep their modes: a directory made read-only on disk would be
 * read-only in every switch above it, where opam's switch is writable.) Completion is recorded separately and atomically: `storeDir/<key>.done` (a small
 * JSON record written to a temporary name and renamed) exists only once the layer is complete. A
 * layer without its record is the leftover of an interrupted or failed build and is removed before
 * the key is built again.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEmptySwitch } from './switch-layout.js';

export interface CompletionRecord {
  id: string;
  key: string;
  builder: string;
  finishedAt: string;
  durationMs: number;
  logPath: string | null;
}

/** Bump when the empty switch's directories change. */
const EMPTY_SWITCH_LAYER = 'empty-switch-1';

export function layerPath(storeDir: string, key: string): string {
  return join(storeDir, key);
}

export function completionRecordPath(storeDir: string, key: string): string {
  return join(storeDir, `${key}.done`);
}

export function isLayerComplete(storeDir: string, key: string): boolean {
  return existsSync(completionRecordPath(storeDir, key)) && existsSync(layerPath(storeDir, key));
}

/** Walks a tree (not following symbolic links). */
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

/** Removes a tree even when parts of it were made read-only. */
export function removeTree(root: string): void {
  if (!existsSync(root)) {
    try {
      lstatSync(root);
    } catch {
      return;
    }
  }
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

/** Forgets any leftover of an earlier attempt at `key` (record first, then the tree). */
export function discardLayer(storeDir: string, key: string): void {
  rmSync(completionRecordPath(storeDir, key), { force: true });
  removeTree(layerPath(storeDir, key));
}

/**
 * Seals a finished layer: the job's upper directory is moved into the store under its key, then its
 * completion record written atomically.
 */
export function completeLayer(storeDir: string, upperDir: string, record: CompletionRecord): string {
  const dest = layerPath(storeDir, record.key);
  discardLayer(storeDir, record.key);
  mkdirSync(storeDir, { recursive: true });
  renameSync(upperDir, dest);
  const done = completionRecordPath(storeDir, record.key);
  const tmp = `${done}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n');
  renameSync(tmp, done);
  return dest;
}

/** The bottom layer of every switch: opam's empty switch directories. Made once per store. */
export function emptySwitchLayer(storeDir: string): string {
  const dir = layerPath(storeDir, EMPTY_SWITCH_LAYER);
  const done = completionRecordPath(storeDir, EMPTY_SWITCH_LAYER);
  if (existsSync(done) && existsSync(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  removeTree(tmp);
  createEmptySwitch(tmp);
  removeTree(dir);
  renameSync(tmp, dir);
  writeFileSync(done, JSON.stringify({ id: 'empty switch', key: EMPTY_SWITCH_LAYER }) + '\n');
  return dir;
}
