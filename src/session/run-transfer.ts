/**
 * Runs moved between machines: a shard's run exported to a file on the runner that built it (and its
 * layers beside it), and the shards' files merged into one run on the machine that reports
 * (src/store/run-export.ts and layer-transfer.ts).
 */
import type { Db } from '../store/database.js';
import { exportRun, importRuns, readRunExportFile, recordedLogPaths, writeRunExportFile, type ImportResult } from '../store/run-export.js';
import { LocalLayerStore } from '../builder/layer-store.js';
import { readLayers, writeLayers } from './layer-transfer.js';
import { requireRun } from './run-lookup.js';
import type { StatePaths } from './state-paths.js';

/**
 * Writes run `runId` to `file` (with its log files when `logs`; with `layers`, the layers of its ok jobs
 * in `FILE.layers.tar`); returns what it holds.
 */
export function exportRecordedRun(db: Db, runId: number, file: string, options: { logs: boolean; layers: boolean; paths: StatePaths }): { targets: number; jobs: number; layers: number | null } {
  requireRun(db, runId, 'run');
  // The logs are read as the file is written, one at a time (bounded memory for any run).
  const exported = exportRun(db, runId, { logs: false });
  writeRunExportFile(file, exported, options.logs ? { logsFrom: recordedLogPaths(exported.runJobs, exported.results) } : {});
  const layers = options.layers ? writeLayers(new LocalLayerStore(options.paths.storeDir), exported.results.filter((r) => r.status === 'ok').map((r) => r.jobKey), file) : null;
  return { targets: exported.targets.length, jobs: exported.runJobs.length, layers };
}

/** Merges shard export files into one run of this state's database (idempotent: the same files, the same run). */
export function mergeExportFiles(db: Db, files: readonly string[], paths: StatePaths): ImportResult & { layersPlaced: number } {
  const result = importRuns(
    db,
    files.map((f) => ({ source: f, data: readRunExportFile(f) })),
    { logDir: paths.logDir },
  );
  // The shards' layers, where they came with their exports: the merged ok results, which name their
  // layers by key, are usable here as they are.
  const layers = new LocalLayerStore(paths.storeDir);
  const placed = new Set<string>();
  for (const f of files) for (const key of readLayers(layers, f)) placed.add(key);
  return { ...result, layersPlaced: placed.size };
}
