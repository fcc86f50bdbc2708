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
 *
 * Results name a layer by its job key only, never by where it lies: `LayerStore` is what the builder
 * and the session ask about layers (is the key's layer complete, where is it mounted from, begin, commit
 * and remove one, carry layers between machines, what the store holds), and `LocalLayerStore` is the
 * store as a local folder (the functions below). Another store (shared between CI runners, remote)
 * plugs in behind the same interface.
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createEmptySwitch } from './switch-layout.js';
import { handOver } from './build-user.js';
import { readStoreContents, type StoreContents } from './store-contents.js';
import { exportLayerArchive, unpackLayerArchive } from './layer-archive.js';
import { dedupeLayer, sweepUnsharedObjects } from './layer-dedupe.js';
import { layerDigest } from './layer-digest.js';
import { BuilderError } from './builder-error.js';

/** The digests' file inside a layer archive (not a layer name: job keys are hex). */
const LAYER_DIGESTS = '.ecocheck-layer-digests.json';

function readLayerDigests(path: string, file: string): Record<string, string> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new BuilderError(`${file}: no layer digests (written by an older ecocheck, or damaged): refused (export it again)`, 'input');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data) || !Object.values(data).every((v) => typeof v === 'string'))
    throw new BuilderError(`${file}: its layer digests are damaged: refused`, 'input');
  return data as Record<string, string>;
}

/** The layers of job keys, wherever they are kept (see the module comment). */
export interface LayerStore {
  /** Where the store is, for messages (the local folder). */
  readonly location: string;
  /** True when the layer of `key` is complete: its files and its completion record are both there. */
  complete(key: string): boolean;
  /** The folder a switch mounts for the layer of `key` (derived from the store and the key). */
  pathOf(key: string): string;
  /** Before building `key`: forgets any leftover of an earlier attempt. */
  begin(key: string): void;
  /** Seals a finished upper directory as the layer of `record.key` and records it complete; returns its path. */
  commit(upperDir: string, record: CompletionRecord, owner?: LayerOwner): string;
  /** Removes the layer of `key` (its record first: a half-removed layer is never taken as complete). */
  remove(key: string): void;
  /** Removes a leftover entry (a layer without its record, a temporary name). */
  removeLeftover(name: string): void;
  /** The bottom layer of every switch (the empty switch's directories, `owner`'s). */
  emptySwitch(owner?: LayerOwner): string;
  /** Writes the complete layers among `keys` (with their records) to `file`; returns the keys written. */
  exportLayers(keys: readonly string[], file: string): string[];
  /** Puts the layers of a file `exportLayers` wrote into the store, where missing only; returns the keys now complete from it. */
  importLayers(file: string): string[];
  /** What the store holds, with sizes (gc and status). */
  contents(): StoreContents;
  /** After removals: forgets the files layers shared (layer-dedupe.ts) that no layer uses any more. */
  sweepUnshared(): { removed: number; bytes: number };
}

/** The layer store as a local folder: `storeDir/KEY` and `storeDir/KEY.done`. */
export class LocalLayerStore implements LayerStore {
  constructor(readonly location: string) {}
  complete(key: string): boolean {
    return isLayerComplete(this.location, key);
  }
  pathOf(key: string): string {
    return layerPath(this.location, key);
  }
  begin(key: string): void {
    discardLayer(this.location, key);
  }
  commit(upperDir: string, record: CompletionRecord, owner: LayerOwner = null): string {
    return completeLayer(this.location, upperDir, record, owner);
  }
  remove(key: string): void {
    discardLayer(this.location, key);
  }
  removeLeftover(name: string): void {
    removeStoreLeftover(this.location, name);
  }
  emptySwitch(owner: LayerOwner = null): string {
    return emptySwitchLayer(this.location, owner);
  }
  exportLayers(keys: readonly string[], file: string): string[] {
    const present = [...new Set(keys)].filter((k) => this.complete(k)).sort();
    // Each layer's content digest travels in the archive: the importing store checks what arrived.
    const digests: Record<string, string> = {};
    for (const k of present) digests[k] = layerDigest(this.pathOf(k));
    const meta = mkdtempSync(`${file}.meta-`);
    try {
      writeFileSync(join(meta, LAYER_DIGESTS), `${JSON.stringify(digests, null, 1)}\n`);
      exportLayerArchive(
        this.location,
        present.flatMap((k) => [k, `${k}.done`]),
        file,
        { dir: meta, names: [LAYER_DIGESTS] },
      );
    } finally {
      rmSync(meta, { recursive: true, force: true });
    }
    return present;
  }
  importLayers(file: string): string[] {
    const placed: string[] = [];
    // Unpacked on the store's filesystem, so that layers are renamed into place, never copied.
    const incoming = join(this.location, '.incoming');
    mkdirSync(incoming, { recursive: true });
    const scratch = mkdtempSync(join(incoming, `merge-${process.pid}-`));
    try {
      unpackLayerArchive(file, scratch);
      const digests = readLayerDigests(join(scratch, LAYER_DIGESTS), file);
      const names = readdirSync(scratch)
        .sort()
        .filter((name) => name !== LAYER_DIGESTS && !name.endsWith('.done') && existsSync(join(scratch, `${name}.done`)));
      // Every layer checked before any is placed: an archive with one bad layer places none.
      for (const name of names) {
        const want = digests[name];
        if (want === undefined) throw new BuilderError(`${file}: layer ${name} has no recorded digest: refused (export it again)`, 'input');
        const got = layerDigest(join(scratch, name));
        if (got !== want)
          throw new BuilderError(
            `${file}: layer ${name} is not what was exported (content digest ${got.slice(0, 12)}, recorded ${want.slice(0, 12)}): refused`,
            'input',
          );
      }
      for (const name of names) {
        if (!this.complete(name)) {
          removeTree(layerPath(this.location, name));
          renameSync(join(scratch, name), layerPath(this.location, name));
          // The completion record last: a layer is complete only once both are in place.
          renameSync(join(scratch, `${name}.done`), completionRecordPath(this.location, name));
          // Shared with the layers already here, as a layer built here would be (an economy: never fatal).
          try {
            dedupeLayer(this.location, layerPath(this.location, name));
          } catch {
            /* the layer is complete without it */
          }
        }
        placed.push(name);
      }
    } finally {
      removeTree(scratch);
    }
    return placed;
  }
  contents(): StoreContents {
    return readStoreContents(this.location);
  }
  sweepUnshared(): { removed: number; bytes: number } {
    return sweepUnsharedObjects(this.location);
  }
}

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

/**
 * removeTree without blocking: the removal runs on libuv's thread pool, so the other builds running
 * meanwhile go on (removing a job's folders takes tens of milliseconds where the file system discards
 * freed blocks at once). A tree it cannot remove (a read-only directory) is removed by removeTree.
 */
export async function removeTreeAsync(root: string): Promise<void> {
  try {
    await rm(root, { recursive: true, force: true });
    return;
  } catch {
    // Some directory is not writable: removeTree gives write permission back.
  }
  removeTree(root);
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
