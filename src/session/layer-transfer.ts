/**
 * A shard's layers carried with its export (`export --layers`): the finished layers of its ok jobs,
 * with their completion records, in a file beside the export (`FILE.layers.tar`, written and read by
 * the layer store: builder/layer-store.ts), and put in place by `merge` in the merging machine's store —
 * where a layer is missing only, never over one — so the merged run's ok results are usable there (a
 * later check takes them from the cache instead of building them again: results name layers by key; a
 * CI shard takes the compiler its first job built this way). Each layer's content digest travels in the
 * file: a layer is put in place only when what arrived has that digest, and a file with one layer that
 * does not match is refused whole, before any layer is placed (builder/layer-store.ts, layer-digest.ts).
 */
import { existsSync } from 'node:fs';
import type { LayerStore } from '../builder/layer-store.js';

export function layersFileOf(exportFile: string): string {
  return `${exportFile}.layers.tar`;
}

/** Writes the complete layers among `keys` to the file beside `exportFile`; returns how many. */
export function writeLayers(layers: LayerStore, keys: readonly string[], exportFile: string): number {
  return layers.exportLayers(keys, layersFileOf(exportFile)).length;
}

/**
 * Puts the layers of the file beside `exportFile` (when there is one) into the store, the missing ones
 * only; returns the keys now in place from it (put there, or already complete).
 */
export function readLayers(layers: LayerStore, exportFile: string): string[] {
  const file = layersFileOf(exportFile);
  return existsSync(file) ? layers.importLayers(file) : [];
}
