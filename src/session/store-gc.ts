/**
 * `ecocheck gc`: reads the runs and the store, decides what to keep (store-retention.ts), and removes
 * the rest with the layer store's own removal (layer-store.ts: a layer's completion record first, then its
 * tree, never following a link), so that a layer half removed is never taken as complete. Runs under
 * the run lock: refused while a check runs, and no check starts meanwhile.
 *
 * The results in the database are kept (they are the history): an ok result whose layer went is no
 * longer reused (cache-validity.ts), and the next check that needs it builds it again.
 */
import { existsSync } from 'node:fs';
import { LocalLayerStore, type LayerStore } from '../builder/layer-store.js';
import { openStateDatabase } from './state-database.js';
import { jobDependencies, lastRunOfKeys, okJobKeysByRun, packageIdsOfKeys } from '../store/layer-needs.js';
import { acquireRunLock } from '../store/run-lock.js';
import { listRuns } from '../store/runs.js';
import { SessionError } from './session-error.js';
import type { StatePaths } from './state-paths.js';
import { decideRetention, type KeptRun, type RemovalReason, type RetentionPolicy } from './store-retention.js';

export interface GcRequest {
  paths: StatePaths;
  policy: RetentionPolicy;
  dryRun: boolean;
  /** The layers (default: the local folder `paths.storeDir`). */
  layers?: LayerStore;
}

export interface GcEntry {
  name: string;
  /** The package the layer's job built, when the records know the key. */
  packageId: string | null;
  bytes: number;
  why: RemovalReason;
}

export interface GcOutcome {
  dryRun: boolean;
  storeDir: string;
  /** False when there is no database: nothing is recorded, so nothing is decided nor removed. */
  recorded: boolean;
  keptRuns: KeptRun[];
  keptLayers: number;
  keptBytes: number;
  removed: GcEntry[];
  removedBytes: number;
  totalBytes: number;
  maxBytes: number | null;
  maxSizeMet: boolean;
}

export function collectStoreGarbage(req: GcRequest): GcOutcome {
  const { paths, policy } = req;
  const layers = req.layers ?? new LocalLayerStore(paths.storeDir);
  const empty: GcOutcome = {
    dryRun: req.dryRun,
    storeDir: paths.storeDir,
    recorded: false,
    keptRuns: [],
    keptLayers: 0,
    keptBytes: 0,
    removed: [],
    removedBytes: 0,
    totalBytes: 0,
    maxBytes: policy.maxBytes,
    maxSizeMet: true,
  };
  if (!existsSync(paths.database)) {
    const contents = layers.contents();
    return {
      ...empty,
      totalBytes: contents.totalBytes,
      keptBytes: contents.totalBytes,
      maxSizeMet: policy.maxBytes === null || contents.totalBytes <= policy.maxBytes,
    };
  }
  const db = openStateDatabase(paths.database);
  try {
    const release = acquireRunLock(db, paths.database);
    try {
      const runs = listRuns(db);
      const known = new Set(runs.map((r) => r.id));
      for (const id of policy.keepRuns)
        if (!known.has(id))
          throw new SessionError(`no run #${id} is recorded in ${paths.database}`, 'input', { setting: 'keepRun', value: String(id) });
      const contents = layers.contents();
      const decision = decideRetention(
        {
          runs,
          okKeysByRun: okJobKeysByRun(db),
          dependencies: jobDependencies(db),
          layers: contents.layers,
          baseBytes: [...contents.base, ...contents.work].reduce((n, e) => n + e.bytes, 0),
          leftovers: contents.leftovers,
          lastRunOfKey: lastRunOfKeys(db),
        },
        policy,
      );
      const ids = packageIdsOfKeys(db);
      const removed = decision.remove.map((r) => ({ name: r.name, packageId: ids.get(r.name) ?? null, bytes: r.bytes, why: r.why }));
      if (!req.dryRun) {
        for (const r of removed) {
          if (r.why === 'leftover') layers.removeLeftover(r.name);
          else layers.remove(r.name);
        }
        // Files the removed layers shared with none that is kept (layer-dedupe.ts) go with them.
        if (removed.length > 0) layers.sweepUnshared();
      }
      return {
        ...empty,
        recorded: true,
        keptRuns: decision.keptRuns,
        keptLayers: decision.keep.size,
        keptBytes: decision.keptBytes,
        removed,
        removedBytes: removed.reduce((n, r) => n + r.bytes, 0),
        totalBytes: decision.totalBytes,
        maxSizeMet: decision.maxSizeMet,
      };
    } finally {
      release();
    }
  } finally {
    db.close();
  }
}
