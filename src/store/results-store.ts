/**
 * The results behind interfaces: what runs read (a key's cached result, runs, what a run recorded for
 * its targets) and what they write (a run, its plan, each job's record, a forgotten cached result). The
 * comparison and reports read through `ResultsReader`; `SqliteResultsStore` is the database
 * (runs.ts, run-records.ts), `MemoryResultsStore` (memory-results-store.ts) the same in memory, for
 * tests; a remote store plugs in behind the same interfaces. Results name layers by job key only, so
 * nothing here depends on the machine.
 */
import type { Plan } from '../plan/job.js';
import type { CachedResult, JobRecord } from '../results/job-record.js';
import type { PackageRunResult } from '../results/taxonomy.js';
import type { Db } from './database.js';
import { createCacheLookup, createResultRecorder, forgetCachedResult, loadRunResults, recordPlan } from './run-records.js';
import { createRun, finishRun, getRun, listRuns, type NewRun, type RunFilter, type RunInfo, type RunStatus } from './runs.js';

export interface ResultsReader {
  /** The final result an earlier run recorded for `key` (a cacheable one), or null. */
  cachedResult(key: string): CachedResult | null;
  run(id: number): RunInfo | null;
  /** Runs matching the filter, newest first. */
  runs(filter?: RunFilter): RunInfo[];
  /**
   * What a run recorded for each of its targets, sorted by `NAME.VERSION`: not-installable targets with
   * the solver's reason, targets whose job never finished left out.
   */
  runResults(runId: number): PackageRunResult[];
}

export interface ResultsWriter {
  /** Records a new run, 'running'; its id. */
  createRun(run: NewRun): number;
  finishRun(runId: number, status: Exclude<RunStatus, 'running'>): void;
  /** The run's plan: its jobs and targets, before any result. */
  recordPlan(runId: number, plan: Plan): void;
  /** One job's record in the run, as soon as it is final; cached by key when its status is cacheable and it was built. */
  recordJob(runId: number, record: JobRecord): void;
  /** Forgets the cached result of `key` (its layer went): it is built again. */
  forgetCachedResult(key: string): void;
}

export interface ResultsStore extends ResultsReader, ResultsWriter {}

/** The results in the ecocheck database. */
export class SqliteResultsStore implements ResultsStore {
  private lookup: ((key: string) => CachedResult | null) | null = null;
  private readonly recorders = new Map<number, (record: JobRecord) => void>();

  constructor(readonly db: Db) {}

  cachedResult(key: string): CachedResult | null {
    this.lookup ??= createCacheLookup(this.db);
    return this.lookup(key);
  }
  run(id: number): RunInfo | null {
    return getRun(this.db, id);
  }
  runs(filter: RunFilter = {}): RunInfo[] {
    return listRuns(this.db, filter);
  }
  runResults(runId: number): PackageRunResult[] {
    return loadRunResults(this.db, runId);
  }
  createRun(run: NewRun): number {
    return createRun(this.db, run);
  }
  finishRun(runId: number, status: Exclude<RunStatus, 'running'>): void {
    finishRun(this.db, runId, status);
  }
  recordPlan(runId: number, plan: Plan): void {
    recordPlan(this.db, runId, plan);
  }
  recordJob(runId: number, record: JobRecord): void {
    let write = this.recorders.get(runId);
    if (write === undefined) this.recorders.set(runId, (write = createResultRecorder(this.db, runId)));
    write(record);
  }
  forgetCachedResult(key: string): void {
    forgetCachedResult(this.db, key);
  }
}

/** A reader over `source`: the database is read through SqliteResultsStore, a reader as it is. */
export function resultsReader(source: Db | ResultsReader): ResultsReader {
  return 'runResults' in source ? source : new SqliteResultsStore(source);
}
