/**
 * Runs moved between machines: a shard's run exported to a file on the runner that built it (and its
 * layers beside it), and the shards' files merged into one run on the machine that reports. The steps
 * are the layers': the export format and its files (store/run-export-*.ts), the merge rule
 * (compare/shard-merge.ts: the same plan and partition, every target, one record per job), the merged
 * run written (store/run-import.ts), the layers put in place (layer-transfer.ts).
 */
import { readLogCapped } from '../builder/build-log.js';
import { LocalLayerStore } from '../builder/layer-store.js';
import { mergeShards, type DuplicateResolution, type InconsistentRecord } from '../compare/shard-merge.js';
import type { Db } from '../store/database.js';
import { exportRun } from '../store/run-export.js';
import { logDestinations, readRunExportFile, writeLogFiles, writeRunExportFile } from '../store/run-export-file.js';
import { recordedLogPaths, validateRunExport } from '../store/run-export-format.js';
import { findImportedRun, recordImportedRun, type RunToImport } from '../store/run-import.js';
import type { RunStatus } from '../store/runs.js';
import { readLayers, writeLayers } from './layer-transfer.js';
import { requireRun } from './run-lookup.js';
import { SessionError } from './session-error.js';
import type { StatePaths } from './state-paths.js';

/**
 * Writes run `runId` to `file` (with its log files when `logs`, each capped as the builder caps a log;
 * with `layers`, the layers of its ok jobs in `FILE.layers.tar`); returns what it holds.
 */
export function exportRecordedRun(
  db: Db,
  runId: number,
  file: string,
  options: { logs: boolean; layers: boolean; paths: StatePaths },
): { targets: number; jobs: number; layers: number | null } {
  requireRun(db, runId, 'run');
  // The logs are read as the file is written, one at a time (bounded memory for any run).
  const exported = exportRun(db, runId, { logs: false });
  writeRunExportFile(
    file,
    exported,
    options.logs ? { logsFrom: recordedLogPaths(exported.runJobs, exported.results), readLog: readLogCapped } : {},
  );
  const layers = options.layers
    ? writeLayers(
        new LocalLayerStore(options.paths.storeDir),
        exported.results.filter((r) => r.status === 'ok').map((r) => r.jobKey),
        file,
      )
    : null;
  return { targets: exported.targets.length, jobs: exported.runJobs.length, layers };
}

/** An export (parsed JSON, checked here) with the name it is reported under (its file). */
export interface ExportInput {
  source: string;
  data: unknown;
}

export interface ImportResult {
  runId: number;
  /** False when this very set of exports was imported before: `runId` is that run, nothing new was written. */
  created: boolean;
  importHash: string;
  status: RunStatus;
  shardCount: number;
  /** The shards merged, sorted. */
  shards: number[];
  /** Shards whose run did not finish (interrupted, crashed, failed): their unfinished jobs are missing. */
  failedShards: { index: number; status: RunStatus; source: string }[];
  /** Jobs recorded by more than one shard (shared dependencies), each kept once. */
  duplicatedJobs: number;
  /** Those whose records differed, and which was kept. */
  resolved: DuplicateResolution[];
  inconsistent: InconsistentRecord[];
  targetCount: number;
  jobCount: number;
  logsWritten: number;
  /** Links to other runs (against, retryOf) that name no run of this database: left unset. */
  unlinked: ('against' | 'retryOf')[];
  /** Columns of the exports that this database's tables do not have (an export of a newer schema). */
  droppedColumns: string[];
}

/**
 * Imports shard exports of one check as one run. Each export is checked first (a bad one is an input
 * error naming its source and field), then the merge rule decides (a refusal is an input error naming
 * the shards and targets that disagree or are missing), then the run is written in one transaction, its
 * logs under `logDir` when given (the records then point there). The same exports again: the same run.
 */
export function importRunExports(db: Db, inputs: readonly ExportInput[], options: { logDir?: string } = {}): ImportResult {
  const outcome = mergeShards(inputs.map((i) => ({ source: i.source, export: validateRunExport(i.data, i.source) })));
  if (outcome.refused !== undefined) throw new SessionError(outcome.refused, 'input');
  const m = outcome.merged;
  // The merged run is the whole check: what the lowest shard's run was asked, without its shard.
  const { id: _id, status: _status, startedAt: _started, finishedAt: _finished, jobCount: _jobs, targetCount: _targets, ...asked } = m.base;
  const { shard: _shard, ...wholeCheck } = asked.options;
  const run: RunToImport = {
    importHash: m.importHash,
    run: { ...asked, options: wholeCheck },
    status: m.status,
    startedAt: m.startedAt,
    finishedAt: m.finishedAt,
    targets: m.targets,
    jobs: m.jobs,
    runJobs: m.runJobs,
    results: m.results,
  };
  const summary = {
    importHash: m.importHash,
    shardCount: m.shardCount,
    shards: m.shards,
    failedShards: m.failedShards,
    duplicatedJobs: m.duplicatedJobs,
    resolved: m.resolved,
    inconsistent: m.inconsistent,
    targetCount: m.targets.length,
    jobCount: m.jobs.length,
  };
  const existing = findImportedRun(db, m.importHash);
  if (existing !== null)
    return { ...summary, runId: existing.id, created: false, status: existing.status, logsWritten: 0, unlinked: [], droppedColumns: [] };
  // Logs before the records: a record never points at a log not written yet (a failed write leaves only files).
  const destinations = options.logDir === undefined ? new Map<string, string>() : logDestinations(m.logs.keys(), options.logDir);
  const files = new Map<string, string>();
  for (const [from, to] of destinations) if (!files.has(to)) files.set(to, m.logs.get(from)!);
  if (options.logDir !== undefined) writeLogFiles(options.logDir, files);
  const written = recordImportedRun(db, run, (p) => (p === null ? null : (destinations.get(p) ?? p)));
  return {
    ...summary,
    runId: written.runId,
    created: true,
    status: m.status,
    logsWritten: files.size,
    unlinked: written.unlinked,
    droppedColumns: written.droppedColumns,
  };
}

/** Merges shard export files into one run of this state's database (idempotent: the same files, the same run). */
export function mergeExportFiles(db: Db, files: readonly string[], paths: StatePaths): ImportResult & { layersPlaced: number } {
  const result = importRunExports(
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
