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
 *
 * Ownership: a layer's files belong to the build user (build-user.ts) when builds drop from root to
 * it, so that a later build may write the directories of the layers below its own, as opam's user
 * writes its switch; sealing gives it what ecocheck's root process wrote there (`NAME.install`
 * processing). No layer keeps a setuid or setgid bit: sealing removes them all (the switch is also
 * mounted nosuid).
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEmptySwitch } from './switch-layout.js';
import { handOver } from './build-user.js';

export interface CompletionRecord {
  id: string;
  key: string;
  builder: string;
  finishedAt: string;
  durationMs: number;
  logPath: string | null;
}

/** Bump when the empty switch's directories or their ownership change (the owner's uid and gid are appended). */
const EMPTY_SWITCH_LAYER = 'empty-switch-2';

/** The build user a store's layers belong to; null: whoever ecocheck runs as. */
export type LayerOwner = { uid: number; gid: number } | null;

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
 * Seals a finished layer: one walk of the job's upper directory (never following a link) gives what
 * is not the owner's to it and removes every setuid and setgid bit; then the upper directory is moved
 * into the store under its key, then its completion record written atomically.
 */
export function completeLayer(storeDir: string, upperDir: string, record: CompletionRecord, owner: LayerOwner = null): string {
  const dest = layerPath(storeDir, record.key);
  handOver(upperDir, owner, true);
  discardLayer(storeDir, record.key);
  mkdirSync(storeDir, { recursive: true });
  renameSync(upperDir, dest);
  const done = completionRecordPath(storeDir, record.key);
  const tmp = `${done}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n');
  renameSync(tmp, done);
  return dest;
}

/**
 * The bottom layer of every switch: opam's empty switch directories, the owner's (a build creates
 * `lib/NAME` in them). Made once per store and owner.
 */
export function emptySwitchLayer(storeDir: string, owner: LayerOwner = null): string {
  const name = owner ? `${EMPTY_SWITCH_LAYER}-${owner.uid}-${owner.gid}` : EMPTY_SWITCH_LAYER;
  const dir = layerPath(storeDir, name);
  const done = completionRecordPath(storeDir, name);
  if (existsSync(done) && existsSync(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  removeTree(tmp);
  createEmptySwitch(tmp);
  handOver(tmp, owner);
  removeTree(dir);
  renameSync(tmp, dir);
  writeFileSync(done, JSON.stringify({ id: 'empty switch', key: name }) + '\n');
  return dir;
}

/** Removes a leftover entry of the store (a layer without its record, a temporary name), never following a link. */
export function removeStoreLeftover(storeDir: string, name: string): void {
  if (name === '' || name.includes('/') || name === '.' || name === '..') throw new Error(`not an entry of the store: ${name}`);
  removeTree(join(storeDir, name));
}
