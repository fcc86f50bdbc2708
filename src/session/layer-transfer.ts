/**
 * A shard's layers carried with its export (`export --layers`): the finished layers of its ok jobs,
 * with their completion records, in a tar file beside the export (`FILE.layers.tar`, overlayfs'
 * whiteouts and opaque-directory xattrs kept), and put in place by `merge` in the merging machine's
 * store — where a layer is missing only, never over one — so the merged run's results are usable
 * there (a later check takes them from the cache instead of building them again).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { completionRecordPath, isLayerComplete, layerPath, removeTree } from '../builder/layer-store.js';
import { SessionError } from './session-error.js';

const TAR_XATTRS = ['--xattrs', '--xattrs-include=trusted.overlay.*', '--xattrs-include=user.overlay.*'];

export function layersFileOf(exportFile: string): string {
  return `${exportFile}.layers.tar`;
}

function tar(args: string[], what: string): void {
  const r = spawnSync('tar', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error !== undefined || r.status !== 0) {
    const why = r.error?.message ?? (r.stderr.trim().split('\n').pop() || `exit code ${r.status}`);
    throw new SessionError(`${what}: tar failed: ${why}`, 'environment');
  }
}

/** Writes the complete layers among `keys` to the tar beside `exportFile`; returns how many. */
export function writeLayers(storeDir: string, keys: readonly string[], exportFile: string): number {
  const present = [...new Set(keys)].filter((k) => isLayerComplete(storeDir, k)).sort();
  const list = `${layersFileOf(exportFile)}.list`;
  writeFileSync(list, present.flatMap((k) => [k, `${k}.done`]).join('\n') + (present.length > 0 ? '\n' : ''));
  try {
    tar(['-C', storeDir, ...TAR_XATTRS, '-cf', layersFileOf(exportFile), '-T', list], layersFileOf(exportFile));
  } finally {
    rmSync(list, { force: true });
  }
  return present.length;
}

/**
 * Puts the layers of the tar beside `exportFile` (when there is one) into `storeDir`, the missing ones
 * only; returns the keys now in place from it (put there, or already complete).
 */
export function readLayers(storeDir: string, exportFile: string): string[] {
  const file = layersFileOf(exportFile);
  if (!existsSync(file)) return [];
  const incoming = join(storeDir, '.incoming');
  mkdirSync(incoming, { recursive: true });
  const scratch = mkdtempSync(join(incoming, `merge-${process.pid}-`));
  const placed: string[] = [];
  try {
    tar(['-C', scratch, ...TAR_XATTRS, '-xf', file], file);
    for (const name of readdirSync(scratch).sort()) {
      if (name.endsWith('.done') || !existsSync(join(scratch, `${name}.done`))) continue;
      if (!isLayerComplete(storeDir, name)) {
        removeTree(layerPath(storeDir, name));
        renameSync(join(scratch, name), layerPath(storeDir, name));
        // The completion record last: a layer is complete only once both are in place.
        renameSync(join(scratch, `${name}.done`), completionRecordPath(storeDir, name));
      }
      placed.push(name);
    }
  } finally {
    removeTree(scratch);
  }
  return placed;
}
