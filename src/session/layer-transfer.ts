/**
 * A shard's layers carried with its export (`export --layers`): the finished layers of its ok jobs,
 * with their completion records, in a tar file beside the export (`FILE.layers.tar`, overlayfs'
 * whiteouts and opaque-directory xattrs kept), and put in place by `merge` in the merging machine's
 * store — where a layer is missing only, never over one — so the merged run's results are usable
 * there (a later check takes them from the cache instead of building them again; a CI shard takes the
 * compiler its first job built this way).
 *
 * The tar also holds each layer's content digest (layer-digest.ts), written at export: a layer is put
 * in place only when what arrived has that digest, and the key it is placed under is the key its job
 * record names (a shard's cache lookup then finds it only where its own plan computes that very key).
 * A tar without digests, or a layer that does not match, is refused whole, before any layer is placed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { completionRecordPath, isLayerComplete, layerPath, removeTree } from '../builder/layer-store.js';
import { SessionError } from './session-error.js';
import { layerDigest } from './layer-digest.js';

/** The digests' file inside the tar (not a layer name: job keys are hex). */
const DIGESTS = '.ecocheck-layer-digests.json';

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
  const digests: Record<string, string> = {};
  for (const k of present) digests[k] = layerDigest(layerPath(storeDir, k));
  const meta = mkdtempSync(`${layersFileOf(exportFile)}.meta-`);
  writeFileSync(join(meta, DIGESTS), `${JSON.stringify(digests, null, 1)}\n`);
  writeFileSync(list, present.flatMap((k) => [k, `${k}.done`]).join('\n') + (present.length > 0 ? '\n' : ''));
  try {
    tar(['-C', storeDir, ...TAR_XATTRS, '-cf', layersFileOf(exportFile), '-T', list, '-C', meta, DIGESTS], layersFileOf(exportFile));
  } finally {
    rmSync(list, { force: true });
    rmSync(meta, { recursive: true, force: true });
  }
  return present.length;
}

/** The digests a tar records, by layer key; a tar without them is refused. */
function readDigests(path: string, file: string): Record<string, string> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new SessionError(`${file}: no layer digests (written by an older ecocheck, or damaged): refused (export it again)`, 'input');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data) || !Object.values(data).every((v) => typeof v === 'string'))
    throw new SessionError(`${file}: its layer digests are damaged: refused`, 'input');
  return data as Record<string, string>;
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
    const digests = readDigests(join(scratch, DIGESTS), file);
    const names = readdirSync(scratch)
      .sort()
      .filter((name) => name !== DIGESTS && !name.endsWith('.done') && existsSync(join(scratch, `${name}.done`)));
    // Every layer checked before any is placed: a tar with one bad layer places none.
    for (const name of names) {
      const want = digests[name];
      if (want === undefined) throw new SessionError(`${file}: layer ${name} has no recorded digest: refused (export it again)`, 'input');
      const got = layerDigest(join(scratch, name));
      if (got !== want) throw new SessionError(`${file}: layer ${name} is not what was exported (content digest ${got.slice(0, 12)}, recorded ${want.slice(0, 12)}): refused`, 'input');
    }
    for (const name of names) {
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
