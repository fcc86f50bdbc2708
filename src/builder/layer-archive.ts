/**
 * Layers as one file, to carry them between machines (`export --layers`, `merge`): a tar of store
 * entries with overlayfs' whiteouts and opaque-directory xattrs kept. What goes in, where it is unpacked
 * and where it lands is the layer store's (layer-store.ts): this module only packs and unpacks.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { BuilderError } from './builder-error.js';

const TAR_XATTRS = ['--xattrs', '--xattrs-include=trusted.overlay.*', '--xattrs-include=user.overlay.*'];

function tar(args: string[], what: string): void {
  const r = spawnSync('tar', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error !== undefined || r.status !== 0) {
    const why = r.error?.message ?? (r.stderr.trim().split('\n').pop() || `exit code ${r.status}`);
    throw new BuilderError(`${what}: tar failed: ${why}`, 'environment');
  }
}

/**
 * Writes the entries `names` of `dir` (trees as they are) to the tar `file`, and then, when given, the
 * entries `also.names` of `also.dir` (the archive's own metadata).
 */
export function exportLayerArchive(
  dir: string,
  names: readonly string[],
  file: string,
  also?: { dir: string; names: readonly string[] },
): void {
  const list = `${file}.list`;
  writeFileSync(list, names.join('\n') + (names.length > 0 ? '\n' : ''));
  try {
    tar(['-C', dir, ...TAR_XATTRS, '-cf', file, '-T', list, ...(also === undefined ? [] : ['-C', also.dir, ...also.names])], file);
  } finally {
    rmSync(list, { force: true });
  }
}

/** Unpacks the tar `file` into the folder `scratch`. */
export function unpackLayerArchive(file: string, scratch: string): void {
  tar(['-C', scratch, ...TAR_XATTRS, '-xf', file], file);
}
