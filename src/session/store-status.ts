/**
 * `ecocheck status`: what the state holds on disk — the store's layers and what needs them (the newest
 * baselines, the newest run, nothing: what `gc` would keep by default), its leftovers, the download
 * cache, the logs, the database — the free space of the store's file system, and an estimate of the
 * layers a whole run of a plan will add.
 *
 * The estimate (estimateLayerSpace): a planned key whose layer is in the store adds nothing, nor does
 * one whose cached result is a failure (a failed build keeps no layer); any other adds the median size of the stored layers of the same package (another version or build of it),
 * or, for a package with none stored, the median of all stored layers. It counts layers only: a build
 * also needs its build folder and downloads meanwhile (bounded per job by `--disk`).
 */
import { existsSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { LocalLayerStore, type LayerStore } from '../builder/layer-store.js';
import { treeDiskUsage } from '../builder/store-contents.js';
import { openStateDatabase } from './state-database.js';
import { cachedFailureKeys, jobDependencies, okJobKeysByRun, packageIdsOfKeys, targetJobKeys } from '../store/layer-needs.js';
import { listRuns } from '../store/runs.js';
import type { StatePaths } from './state-paths.js';
import { buildClosure, keptRunReasons } from './store-retention.js';

export interface SpaceEstimate {
  /** What the estimate is for: `run #N` (its recorded plan) or `the plan given`. */
  plan: string;
  jobs: number;
  /** Planned layers already in the store, and their size. */
  stored: number;
  storedBytes: number;
  /** Planned jobs whose cached result is a failure: no layer. */
  failedCached: number;
  /** Planned layers to build: sized from the same package's stored layers, or from the median of all. */
  byPackage: number;
  byMedian: number;
  medianBytes: number;
  /** The space the missing layers are estimated to add. */
  newBytes: number;
}

export interface StoreStatus {
  storeDir: string;
  layers: { count: number; bytes: number };
  neededByNewestBaseline: { runs: number[]; count: number; bytes: number };
  /** The newest run that is not a retry, with its retries. */
  neededByNewestRun: { runs: number[]; count: number; bytes: number };
  neededByNothing: { count: number; bytes: number };
  base: { count: number; bytes: number };
  leftovers: { count: number; bytes: number };
  /** The store's working folders (builds in flight). */
  work: { count: number; bytes: number };
  downloads: { dir: string; bytes: number };
  logs: { dir: string; bytes: number };
  database: { file: string; bytes: number };
  freeBytes: number | null;
  estimate: SpaceEstimate | null;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : Math.round((s[m - 1] + s[m]) / 2);
}

function packageName(id: string): string {
  const dot = id.indexOf('.');
  return dot < 0 ? id : id.slice(0, dot);
}

/** The estimate of what a plan's layers add to the store (see the module's comment). */
export function estimateLayerSpace(
  plan: string,
  planned: ReadonlyMap<string, string>,
  stored: readonly { name: string; bytes: number; packageId: string | null }[],
  failedCached: ReadonlySet<string> = new Set(),
): SpaceEstimate {
  const size = new Map(stored.map((l) => [l.name, l.bytes]));
  const byName = new Map<string, number[]>();
  for (const l of stored) {
    if (l.packageId === null) continue;
    const n = packageName(l.packageId);
    byName.set(n, [...(byName.get(n) ?? []), l.bytes]);
  }
  const medianBytes = median(stored.map((l) => l.bytes));
  const e: SpaceEstimate = {
    plan,
    jobs: planned.size,
    stored: 0,
    storedBytes: 0,
    failedCached: 0,
    byPackage: 0,
    byMedian: 0,
    medianBytes,
    newBytes: 0,
  };
  for (const [key, id] of planned) {
    const have = size.get(key);
    if (have !== undefined) {
      e.stored++;
      e.storedBytes += have;
      continue;
    }
    if (failedCached.has(key)) {
      e.failedCached++;
      continue;
    }
    const same = byName.get(packageName(id));
    if (same !== undefined) {
      e.byPackage++;
      e.newBytes += median(same);
    } else {
      e.byMedian++;
      e.newBytes += medianBytes;
    }
  }
  return e;
}

function fileBytes(file: string): number {
  return [file, `${file}-wal`, `${file}-shm`].reduce((n, f) => n + treeDiskUsage(f).bytes, 0);
}

/**
 * The status of the state folders. `plan`: the planned jobs (key → package id) to estimate, or null for
 * the newest run's recorded plan.
 */
export function storeStatus(
  paths: StatePaths,
  plan: ReadonlyMap<string, string> | null,
  layers: LayerStore = new LocalLayerStore(paths.storeDir),
): StoreStatus {
  const contents = layers.contents();
  const sum = (xs: readonly { bytes: number }[]) => xs.reduce((n, x) => n + x.bytes, 0);
  let freeBytes: number | null = null;
  for (let dir = paths.storeDir; ; dir = dirname(dir)) {
    if (existsSync(dir)) {
      const s = statfsSync(dir);
      freeBytes = s.bavail * s.bsize;
      break;
    }
    if (dirname(dir) === dir) break;
  }
  const status: StoreStatus = {
    storeDir: paths.storeDir,
    layers: { count: contents.layers.length, bytes: sum(contents.layers) },
    neededByNewestBaseline: { runs: [], count: 0, bytes: 0 },
    neededByNewestRun: { runs: [], count: 0, bytes: 0 },
    neededByNothing: { count: contents.layers.length, bytes: sum(contents.layers) },
    base: { count: contents.base.length, bytes: sum(contents.base) },
    leftovers: { count: contents.leftovers.length, bytes: sum(contents.leftovers) },
    work: { count: contents.work.length, bytes: sum(contents.work) },
    downloads: { dir: paths.downloadCache, bytes: treeDiskUsage(paths.downloadCache).bytes },
    logs: { dir: paths.logDir, bytes: treeDiskUsage(paths.logDir).bytes },
    database: { file: paths.database, bytes: fileBytes(paths.database) },
    freeBytes,
    estimate: null,
  };
  if (!existsSync(paths.database)) {
    if (plan !== null)
      status.estimate = estimateLayerSpace(
        'the plan given',
        plan,
        contents.layers.map((l) => ({ ...l, packageId: null })),
      );
    return status;
  }
  const db = openStateDatabase(paths.database, { readonly: true });
  try {
    const runs = listRuns(db);
    const okKeys = okJobKeysByRun(db);
    const deps = jobDependencies(db);
    const ids = packageIdsOfKeys(db);
    const present = new Map(contents.layers.map((l) => [l.name, l.bytes]));
    const measure = (keys: Set<string>) => {
      let count = 0;
      let bytes = 0;
      for (const k of keys) {
        const b = present.get(k);
        if (b !== undefined) {
          count++;
          bytes += b;
        }
      }
      return { count, bytes };
    };
    const kept = [...keptRunReasons(runs, { keepRuns: [], keepNewest: 1 })].sort((a, b) => b[0] - a[0]);
    const baselines = kept.filter(([, why]) => why.includes('newest baseline')).map(([id]) => id);
    const baselineKeys = buildClosure(
      baselines.flatMap((id) => okKeys.get(id) ?? []),
      deps,
    );
    status.neededByNewestBaseline = { runs: baselines, ...measure(baselineKeys) };
    const newestRuns = kept.filter(([, why]) => why.includes('newest run')).map(([id]) => id);
    const newestKeys = buildClosure(
      newestRuns.flatMap((id) => okKeys.get(id) ?? []),
      deps,
    );
    status.neededByNewestRun = { runs: newestRuns, ...measure(newestKeys) };
    const newest = runs.filter((r) => r.kind !== 'retry').reduce<number | null>((m, r) => (m === null || r.id > m ? r.id : m), null);
    status.neededByNothing = measure(new Set(contents.layers.map((l) => l.name).filter((k) => !baselineKeys.has(k) && !newestKeys.has(k))));
    const stored = contents.layers.map((l) => ({ ...l, packageId: ids.get(l.name) ?? null }));
    const failed = cachedFailureKeys(db);
    if (plan !== null) status.estimate = estimateLayerSpace('the plan given', plan, stored, failed);
    else if (newest !== null) {
      const keys = buildClosure(targetJobKeys(db, newest), deps);
      status.estimate = estimateLayerSpace(`run #${newest}`, new Map([...keys].map((k) => [k, ids.get(k) ?? k])), stored, failed);
    }
  } finally {
    db.close();
  }
  // Measured once the database is closed (a connection's own files and checkpoint settled).
  status.database.bytes = fileBytes(paths.database);
  return status;
}
