/**
 * `log NAME[.VERSION] [--run ID]`: which recorded jobs of a package have a log to show (in the run
 * named, else in any run, newest first), or, when it was never built there, why it was not installable.
 * Reading the log files themselves is the CLI's (it copies them to its output chunk by chunk).
 */
import type { Db } from '../store/database.js';
import { findNotInstallableTarget, findPackageJobs, type RunJobRecord } from '../store/run-records.js';
import { getRun, latestRun } from '../store/runs.js';
import { SessionError } from './session-error.js';

export type { RunJobRecord } from '../store/run-records.js';

export type PackageLogs =
  { kind: 'jobs'; records: RunJobRecord[] } | { kind: 'not-installable'; runId: number; targets: { id: string; reason: string }[] };

export function packageLogs(db: Db, spec: string, name: string, version: string | null, runId: number | null): PackageLogs {
  if (runId !== null && getRun(db, runId) === null) throw new SessionError(`there is no run #${runId} (see ecocheck runs)`);
  const records = findPackageJobs(db, name, version, runId);
  if (records.length > 0) return { kind: 'jobs', records };
  const run = runId ?? latestRun(db)?.id ?? null;
  const targets = run === null ? [] : findNotInstallableTarget(db, run, name, version);
  if (run !== null && targets.length > 0) return { kind: 'not-installable', runId: run, targets };
  throw new SessionError(`no job of ${spec} in ${runId === null ? 'any run' : `run #${runId}`}`);
}
