/**
 * The results in memory (results-store.ts): what the database keeps, with the same rules — a result is
 * cached by key when a run built it and its status is cacheable, a cache hit's record reads as the hit,
 * a run's targets are what its plan recorded, unfinished jobs are left out of its results. For tests and
 * for a check that keeps nothing; reports read it as they read the database.
 */
import type { Plan } from '../plan/job.js';
import type { CachedResult, JobRecord } from '../results/job-record.js';
import { isCacheable, notInstallableResult, type PackageRunResult } from '../results/taxonomy.js';
import type { ResultsStore } from './results-store.js';
import { readRunOptions, type NewRun, type RunFilter, type RunInfo, type RunStatus } from './runs.js';

interface Target {
  id: string;
  name: string;
  version: string;
  jobKey: string | null;
  reason: string | null;
}

interface MemoryRun {
  info: RunInfo;
  targets: Target[];
  records: Map<string, JobRecord>;
}

function splitId(id: string): { name: string; version: string } {
  const dot = id.indexOf('.');
  return dot < 0 ? { name: id, version: '' } : { name: id.slice(0, dot), version: id.slice(dot + 1) };
}

export class MemoryResultsStore implements ResultsStore {
  private readonly cache = new Map<string, CachedResult>();
  private readonly stored = new Map<number, MemoryRun>();
  private nextId = 1;

  cachedResult(key: string): CachedResult | null {
    const hit = this.cache.get(key);
    return hit === undefined ? null : { ...hit, missingSystemPackages: [...hit.missingSystemPackages] };
  }

  run(id: number): RunInfo | null {
    return this.stored.get(id)?.info ?? null;
  }

  runs(filter: RunFilter = {}): RunInfo[] {
    const out = [...this.stored.values()]
      .map((r) => r.info)
      .filter(
        (r) =>
          (filter.kind === undefined || r.kind === filter.kind) &&
          (filter.compilerSpec === undefined || r.compilerSpec === filter.compilerSpec) &&
          (filter.repositoryHash === undefined || r.repositoryHash === filter.repositoryHash) &&
          (filter.status === undefined || r.status === filter.status) &&
          (filter.against === undefined || r.against === filter.against) &&
          (filter.retryOf === undefined || r.retryOf === filter.retryOf),
      )
      .sort((a, b) => b.id - a.id);
    return filter.limit === undefined ? out : out.slice(0, Math.max(0, Math.floor(filter.limit)));
  }

  runResults(runId: number): PackageRunResult[] {
    const run = this.stored.get(runId);
    if (run === undefined) return [];
    const out: PackageRunResult[] = [];
    for (const t of [...run.targets].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      const base = { id: t.id, name: t.name, version: t.version };
      if (t.jobKey === null) {
        out.push(notInstallableResult(base, t.reason ?? ''));
        continue;
      }
      const r = run.records.get(t.jobKey);
      if (r === undefined) continue;
      out.push({
        ...base,
        status: r.status,
        reason: r.reason,
        rootCause: r.rootCause,
        ...(r.rootCauses !== undefined && r.rootCauses.length > 1 ? { rootCauses: [...r.rootCauses] } : {}),
        jobKey: t.jobKey,
        durationMs: r.durationMs === null ? null : Math.round(r.durationMs),
        exitCode: r.exitCode,
        logPath: r.logPath,
        logTail: r.logTail,
        firstError: r.firstError,
        missingSystemPackages: [...r.missingSystemPackages],
        cached: r.cached,
      });
    }
    return out;
  }

  createRun(run: NewRun): number {
    for (const link of [run.against, run.retryOf]) if (link != null && !this.stored.has(link)) throw new Error(`no run ${link} to link to`);
    const id = this.nextId++;
    const info: RunInfo = {
      id,
      kind: run.kind ?? 'check',
      label: run.label ?? null,
      compilerSpec: run.compilerSpec,
      repositories: [...run.repositories],
      repositoryHash: run.repositoryHash,
      targets: structuredClone(run.targets),
      // The options as the database would read them back.
      options: readRunOptions(JSON.stringify(run.options)),
      against: run.against ?? null,
      retryOf: run.retryOf ?? null,
      status: 'running',
      pid: process.pid,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      jobCount: 0,
      targetCount: 0,
    };
    this.stored.set(id, { info, targets: [], records: new Map() });
    return id;
  }

  finishRun(runId: number, status: Exclude<RunStatus, 'running'>): void {
    const run = this.require(runId);
    run.info = { ...run.info, status, finishedAt: new Date().toISOString() };
  }

  recordPlan(runId: number, plan: Plan): void {
    const run = this.require(runId);
    const byId = new Map(run.targets.map((t) => [t.id, t]));
    for (const t of plan.targets) {
      const job = plan.jobs.get(t.key)!;
      byId.set(t.id, { id: t.id, name: job.package.name, version: job.package.version, jobKey: t.key, reason: null });
    }
    for (const t of plan.notInstallable) byId.set(t.id, { id: t.id, ...splitId(t.id), jobKey: null, reason: t.reason });
    run.targets = [...byId.values()];
    run.info = { ...run.info, jobCount: plan.jobs.size, targetCount: plan.targets.length + plan.notInstallable.length };
  }

  recordJob(runId: number, record: JobRecord): void {
    const run = this.require(runId);
    // A cache hit reads as its cached result (the database reads its results row back the same way).
    const hit = record.cached ? this.cache.get(record.job.key) : undefined;
    const kept: JobRecord =
      hit === undefined
        ? { ...record, job: { key: record.job.key, id: record.job.id } }
        : { ...record, ...hit, job: { key: record.job.key, id: record.job.id }, cached: true };
    run.records.set(record.job.key, kept);
    if (!record.cached && isCacheable(record.status) && !this.cache.has(record.job.key)) {
      this.cache.set(record.job.key, {
        status: record.status,
        reason: record.reason,
        exitCode: record.exitCode,
        durationMs: record.durationMs === null ? null : Math.round(record.durationMs),
        logPath: record.logPath,
        logTail: record.logTail,
        firstError: record.firstError,
        missingSystemPackages: [...record.missingSystemPackages],
      });
    }
  }

  forgetCachedResult(key: string): void {
    this.cache.delete(key);
  }

  private require(runId: number): MemoryRun {
    const run = this.stored.get(runId);
    if (run === undefined) throw new Error(`no run ${runId}`);
    return run;
  }
}
