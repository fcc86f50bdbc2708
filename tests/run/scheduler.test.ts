import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlan } from '../../src/plan/build-plan.js';
import type { Job, Plan } from '../../src/plan/job.js';
import type { Builder, BuildOutcome, BuiltDependency } from '../../src/builder/builder.js';
import type { JobStatus } from '../../src/results/taxonomy.js';
import { runPlan } from '../../src/run/scheduler.js';
import type { JobRecord, CachedResult } from '../../src/results/job-record.js';
import { ProgressReporter } from '../../src/run/progress.js';
import { fakeTargets } from '../support/plan-fixture-packages.js';

const ctx = { builderVersion: 'test-1', platform: { os: 'linux' } };

/** A builder that records what it was asked and answers from a table of statuses by id (default ok). */
class ScriptedBuilder implements Builder {
  readonly version = 'scripted-1';
  readonly calls: { id: string; closure: string[] }[] = [];
  running = 0;
  maxRunning = 0;
  constructor(
    private readonly statuses: Record<string, JobStatus> = {},
    private readonly delayMs = 5,
  ) {}
  async build(job: Job, closure: BuiltDependency[], signal: AbortSignal): Promise<BuildOutcome> {
    this.calls.push({ id: job.id, closure: closure.map((c) => c.job.id) });
    // A dependency is passed by its job alone: the builder finds its layer by key in its layer store.
    for (const c of closure) assert.deepEqual(Object.keys(c), ['job'], `dependency ${c.job.id} of ${job.id}`);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.delayMs);
        signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
      if (signal.aborted) return outcome('internal-error', job, 'interrupted');
      return outcome(this.statuses[job.id] ?? 'ok', job);
    } finally {
      this.running--;
    }
  }
}

function outcome(status: JobStatus, job: Job, reason = status === 'ok' ? '' : `${job.id} ${status}`): BuildOutcome {
  return {
    status,
    reason,
    exitCode: status === 'ok' ? 0 : 2,
    durationMs: 5,
    logPath: `/logs/${job.key}.log`,
    logTail: `tail of ${job.id}`,
    firstError: null,
    missingSystemPackages: [],
    prefix: status === 'ok' ? `/store/${job.key}` : null,
  };
}

// comp <- a <- b <- c ; comp <- x <- y ; z (alone); w depends on b and y
const deps = {
  'comp.1': [],
  'a.1': ['comp.1'],
  'b.1': ['a.1'],
  'c.1': ['b.1'],
  'x.1': ['comp.1'],
  'y.1': ['x.1'],
  'z.1': [],
  'w.1': ['b.1', 'y.1'],
};
const plan = (): Plan => buildPlan(fakeTargets(['c.1', 'y.1', 'z.1', 'w.1'], deps), ctx);
const byId = (records: Map<string, JobRecord>) => new Map([...records.values()].map((r) => [r.job.id, r]));

test('every job runs once, after its dependencies, with its closure, within the concurrency limit', async () => {
  const p = plan();
  const builder = new ScriptedBuilder();
  const finished: string[] = [];
  const out = await runPlan(p, builder, { concurrency: 2, onJobFinished: (r) => finished.push(r.job.id) });
  assert.equal(out.interrupted, false);
  assert.equal(out.built, 8);
  assert.equal(builder.calls.length, 8);
  assert.ok(builder.maxRunning <= 2);
  assert.equal(builder.maxRunning, 2, 'independent jobs run in parallel');
  for (const [id, ds] of Object.entries(deps))
    for (const d of ds) assert.ok(finished.indexOf(d) < finished.indexOf(id), `${d} before ${id}`);
  assert.deepEqual(builder.calls.find((c) => c.id === 'w.1')!.closure.sort(), ['a.1', 'b.1', 'comp.1', 'x.1', 'y.1']);
  for (const r of out.records.values()) assert.equal(r.status, 'ok');
});

test('keepRecords false: every record goes to the sink and none is held in the outcome; an interrupt is still told', async () => {
  const sunk: JobRecord[] = [];
  const out = await runPlan(plan(), new ScriptedBuilder({ 'a.1': 'build-failed' }), {
    concurrency: 2,
    keepRecords: false,
    onJobFinished: (r) => sunk.push(r),
  });
  assert.equal(out.records.size, 0, 'not held');
  assert.equal(out.interrupted, false);
  assert.equal(sunk.length, 8);
  assert.equal(byId(new Map(sunk.map((r) => [r.job.key, r]))).get('w.1')!.status, 'dependency-failed');
  const ac = new AbortController();
  const cut = await runPlan(plan(), new ScriptedBuilder({}, 50), {
    concurrency: 1,
    keepRecords: false,
    signal: ac.signal,
    onJobFinished: (r) => {
      if (r.job.id === 'comp.1') setTimeout(() => ac.abort(), 10);
    },
  });
  assert.equal(cut.interrupted, true, 'fewer jobs finished than planned');
  assert.equal(cut.records.size, 0);
});

test('a failure marks every dependent dependency-failed, naming the root, without running them', async () => {
  const p = plan();
  const builder = new ScriptedBuilder({ 'a.1': 'build-failed' });
  const out = await runPlan(p, builder, { concurrency: 3 });
  const r = byId(out.records);
  assert.equal(r.get('a.1')!.status, 'build-failed');
  for (const id of ['b.1', 'c.1', 'w.1']) {
    assert.equal(r.get(id)!.status, 'dependency-failed', id);
    assert.equal(r.get(id)!.rootCause, 'a.1', id);
    assert.equal(r.get(id)!.rootCauseKey, r.get('a.1')!.job.key);
  }
  for (const id of ['comp.1', 'x.1', 'y.1', 'z.1']) assert.equal(r.get(id)!.status, 'ok', id);
  assert.deepEqual(builder.calls.map((c) => c.id).sort(), ['a.1', 'comp.1', 'x.1', 'y.1', 'z.1']);
  assert.equal(out.records.size, 8);
});

test('with two failing roots, the dependent names the root that comes first in build order', async () => {
  const p = plan();
  const out = await runPlan(p, new ScriptedBuilder({ 'b.1': 'install-failed', 'x.1': 'build-failed' }), { concurrency: 2 });
  const r = byId(out.records);
  const order = [...p.jobs.values()].map((j) => j.id);
  const expected = order.indexOf('b.1') < order.indexOf('x.1') ? 'b.1' : 'x.1';
  assert.equal(r.get('w.1')!.rootCause, expected);
  assert.equal(r.get('y.1')!.rootCause, 'x.1');
  assert.equal(r.get('c.1')!.rootCause, 'b.1');
  // Every root is recorded, the first one first, each once; one root alone reads as before.
  const both = expected === 'b.1' ? ['b.1', 'x.1'] : ['x.1', 'b.1'];
  assert.deepEqual(r.get('w.1')!.rootCauses, both);
  assert.deepEqual(
    r.get('w.1')!.rootCauseKeys,
    both.map((id) => r.get(id)!.job.key),
  );
  assert.equal(r.get('w.1')!.reason, `dependencies ${both.join(', ')} failed`);
  assert.deepEqual(r.get('y.1')!.rootCauses, ['x.1']);
  assert.equal(r.get('y.1')!.reason, 'dependency x.1 failed');
});

test('roots pass down a cascade: below a package failing through two roots, both are named', async () => {
  // v depends on w only; w fails through b and y (x's failure).
  const withV = buildPlan(fakeTargets(['c.1', 'y.1', 'z.1', 'w.1', 'v.1'], { ...deps, 'v.1': ['w.1'] }), ctx);
  const out = await runPlan(withV, new ScriptedBuilder({ 'a.1': 'build-failed', 'x.1': 'build-failed' }), { concurrency: 2 });
  const r = byId(out.records);
  assert.deepEqual(new Set(r.get('v.1')!.rootCauses), new Set(['a.1', 'x.1']));
  assert.deepEqual(r.get('c.1')!.rootCauses, ['a.1']);
});

test('a cached result is not rebuilt; a cached failure still fails its dependents', async () => {
  const p = plan();
  const first = await runPlan(p, new ScriptedBuilder({ 'x.1': 'build-failed' }), { concurrency: 2 });
  const cache = new Map<string, CachedResult>();
  for (const r of first.records.values()) if (r.status === 'ok' || r.status === 'build-failed') cache.set(r.job.key, r);
  const builder = new ScriptedBuilder();
  const out = await runPlan(p, builder, { concurrency: 2, lookupCached: (job) => cache.get(job.key) ?? null });
  assert.equal(builder.calls.length, 0);
  assert.equal(out.cacheHits, 6);
  const r = byId(out.records);
  assert.equal(r.get('x.1')!.status, 'build-failed');
  assert.equal(r.get('x.1')!.cached, true);
  assert.equal(r.get('y.1')!.status, 'dependency-failed');
  assert.equal(r.get('y.1')!.rootCause, 'x.1');
});

test('ready jobs start by critical path: the long chain first', async () => {
  // One worker: comp (4 jobs high) and z (alone) are ready at once, comp goes first; then a and x
  // (3 high) both go before z.
  const p = plan();
  const builder = new ScriptedBuilder({}, 1);
  await runPlan(p, builder, { concurrency: 1 });
  const order = builder.calls.map((c) => c.id);
  assert.equal(order[0], 'comp.1');
  assert.ok(order.indexOf('a.1') < order.indexOf('z.1'));
  assert.ok(order.indexOf('x.1') < order.indexOf('z.1'));
});

test('a builder exception becomes internal-error for that job only', async () => {
  const p = plan();
  const builder: Builder = {
    version: 'throws',
    async build(job) {
      if (job.id === 'z.1') throw new Error('boom\nstack');
      return outcome('ok', job);
    },
  };
  const out = await runPlan(p, builder, { concurrency: 2 });
  const r = byId(out.records);
  assert.equal(r.get('z.1')!.status, 'internal-error');
  assert.match(r.get('z.1')!.reason, /boom/);
  assert.equal(r.get('c.1')!.status, 'ok');
});

test('abort: running builds are told, their outcomes dropped, nothing new starts, finished results kept', async () => {
  const p = plan();
  const builder = new ScriptedBuilder({}, 40);
  const ac = new AbortController();
  const finished: string[] = [];
  const out = await runPlan(p, builder, {
    concurrency: 1,
    signal: ac.signal,
    onJobFinished: (r) => {
      finished.push(r.job.id);
      if (r.job.id === 'comp.1') setTimeout(() => ac.abort(), 10);
    },
  });
  assert.equal(out.interrupted, true);
  assert.deepEqual(finished, ['comp.1']);
  assert.deepEqual(
    [...out.records.values()].map((r) => r.job.id),
    ['comp.1'],
  );
  assert.deepEqual(
    builder.calls.map((c) => c.id),
    ['comp.1', 'a.1'],
  );
});

test('an exception in the result sink stops the run and is rethrown', async () => {
  const p = plan();
  const builder = new ScriptedBuilder();
  await assert.rejects(
    runPlan(p, builder, {
      concurrency: 1,
      onJobFinished: () => {
        throw new Error('disk full');
      },
    }),
    /disk full/,
  );
  assert.equal(builder.calls.length, 1);
});

test('progress: one plain line per finished job without a TTY; a live line with ETA on a TTY', async () => {
  const p = plan();
  let plain = '';
  const progress = new ProgressReporter({ write: (s: string) => (plain += s), isTTY: false }, p.jobs.size, 2);
  await runPlan(p, new ScriptedBuilder({ 'a.1': 'build-failed' }), {
    concurrency: 2,
    onJobStarted: (j) => progress.started(j),
    onJobFinished: (r) => progress.finished(r),
  });
  progress.close();
  const lines = plain.trim().split('\n');
  assert.equal(lines.length, 8);
  assert.match(lines[7], /^\[8\/8\] /);
  assert.ok(lines.some((l) => /build-failed a\.1 .*a\.1 build-failed/.test(l)));
  let live = '';
  const tty = new ProgressReporter({ write: (s: string) => (live += s), isTTY: true }, p.jobs.size, 2);
  await runPlan(p, new ScriptedBuilder({ 'a.1': 'build-failed' }), {
    concurrency: 2,
    onJobStarted: (j) => tty.started(j),
    onJobFinished: (r) => tty.finished(r),
  });
  tty.close();
  assert.match(live, /\r\x1b\[2K8\/8 done, 0 running, 4 failed, 0 cached, \d+s elapsed, ETA 0s\n$/);
  assert.match(live, /build-failed\s+a\.1: a\.1 build-failed\n/);
});
