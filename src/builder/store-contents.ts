/**
 * What the store of layers holds, and what it costs on disk (layer-store.ts says what the entries are):
 * its complete layers, the base layers every switch mounts (the empty switch), and the leftovers of
 * interrupted builds (a layer without its completion record, a temporary name). Space is counted as
 * the blocks files really hold (`st_blocks × 512`, read with lstat: a link is never followed), a file
 * with several hard links once in the whole store (with the first entry that shows it: layers before the
 * store's dot folders, so a file layers share through layer-dedupe.ts counts with a layer).
 * `ecocheck gc` and `ecocheck status` read it; removal is layer-store.ts's.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { treeEntries, UsageTally } from './tree-usage.js';

export interface StoreEntry {
  /** The layer's key, or the entry's name for a leftover. */
  name: string;
  bytes: number;
  /** Files, folders and links. */
  inodes: number;
}

export interface StoreContents {
  /** Complete layers (with their `.done` record), by job key; the record's size is included. */
  layers: StoreEntry[];
  /** The empty switch layers: every switch's bottom, never removed by gc. */
  base: StoreEntry[];
  /** Leftovers of interrupted builds: layers without a record, records without a layer, temporary names. */
  leftovers: StoreEntry[];
  /** The store's working folders (`.incoming`: builds in flight); gc leaves them to the builder. */
  work: StoreEntry[];
  totalBytes: number;
}

export interface UsageCounter {
  (path: string): { bytes: number; inodes: number };
}

/** A counter of disk usage over several trees that counts a hard-linked file once across all of them. */
export function createUsageCounter(): UsageCounter {
  const seenLinks = new Set<string>();
  return (root) => {
    const tally = new UsageTally(seenLinks);
    for (const st of treeEntries([root])) tally.add(st);
    return { bytes: tally.bytes, inodes: tally.inodes };
  };
}

/** The disk usage of one tree (links not followed, hard links once); 0 when it does not exist. */
export function treeDiskUsage(root: string): { bytes: number; inodes: number } {
  return createUsageCounter()(root);
}

const RECORD = '.done';

/** Reads the store folder (nothing when it does not exist). */
export function readStoreContents(storeDir: string): StoreContents {
  let names: string[];
  try {
    names = readdirSync(storeDir);
  } catch {
    return { layers: [], base: [], leftovers: [], work: [], totalBytes: 0 };
  }
  const all = new Set(names);
  const usage = createUsageCounter();
  const layers: StoreEntry[] = [];
  const base: StoreEntry[] = [];
  const leftovers: StoreEntry[] = [];
  const work: StoreEntry[] = [];
  // Dot names (builds in flight, the shared files of layer-dedupe.ts) last: a file shared by layers
  // is counted with the first layer that shows it, so `.objects` shows only what no layer uses any more.
  const ordered = [...names].sort((a, b) => Number(a.startsWith('.')) - Number(b.startsWith('.')) || (a < b ? -1 : a > b ? 1 : 0));
  for (const name of ordered) {
    const isRecord = name.endsWith(RECORD);
    const key = isRecord ? name.slice(0, -RECORD.length) : name;
    if (name.startsWith('.')) {
      work.push({ name, ...usage(join(storeDir, name)) });
      continue;
    }
    if (name.includes('.tmp-')) {
      leftovers.push({ name, ...usage(join(storeDir, name)) });
      continue;
    }
    if (isRecord) {
      if (!all.has(key)) leftovers.push({ name, ...usage(join(storeDir, name)) });
      continue; // counted with its layer
    }
    const layer = usage(join(storeDir, name));
    if (!all.has(`${key}${RECORD}`)) {
      leftovers.push({ name, ...layer });
      continue;
    }
    const record = usage(join(storeDir, `${key}${RECORD}`));
    const entry = { name: key, bytes: layer.bytes + record.bytes, inodes: layer.inodes + record.inodes };
    if (key.startsWith('empty-switch')) base.push(entry);
    else layers.push(entry);
  }
  const totalBytes = [...layers, ...base, ...leftovers, ...work].reduce((n, e) => n + e.bytes, 0);
  return { layers, base, leftovers, work, totalBytes };
}
