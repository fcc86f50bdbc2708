/**
 * Runs moved between machines: a shard's run exported to a file on the runner that built it, and the
 * shards' files merged into one run on the machine that reports (src/store/run-export.ts does both).
 */
import type { Db } from '../store/database.js';
import { exportRun, importRuns, readRunExportFile, writeRunExportFile, type ImportResult } from '../store/run-export.js';
import { requireRun } from './run-lookup.js';
import type { StatePaths } from './state-paths.js';

/** Writes run `runId` to `file` (with its log files when `logs`); returns how many targets it holds. */
export function exportRecordedRun(db: Db, runId: number, file: string, logs: boolean): { targets: number; jobs: number } {
  requireRun(db, runId, 'run');
  const exported = exportRun(db, runId, { logs });
  writeRunExportFile(file, exported);
  return { targets: exported.targets.length, jobs: exported.runJobs.length };
}

/** Merges shard export files into one run of this state's database (idempotent: the same files, the same run). */
export function mergeExportFiles(db: Db, files: readonly string[], paths: StatePaths): ImportResult {
  return importRuns(
    db,
    files.map((f) => ({ source: f, data: readRunExportFile(f) })),
    { logDir: paths.logDir },
  );
}
