import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRunSide, type RunSide } from '../support/run-side-json.js';
import { runHasFailures, summariseRun } from '../../src/compare/run-summary.js';
import { JOB_STATUSES } from '../../src/results/taxonomy.js';
import { projectRoot } from '../support/snapshot.js';

function fixtureRun(file: string): RunSide {
  const path = join(projectRoot, 'fixtures', 'runs', file);
  return parseRunSide(JSON.parse(readFileSync(path, 'utf8')), path);
}

test('single run: counts per status add up, own failures clustered, roots followed transitively', () => {
  const run = fixtureRun('candidate-5.1.json');
  const s = summariseRun(run);
  assert.equal(
    JOB_STATUSES.reduce((n, st) => n + s.counts[st], 0),
    run.results.length,
  );
  for (const st of JOB_STATUSES) assert.equal(s.counts[st], run.results.filter((r) => r.status === st).length, st);
  assert.equal(
    s.clusters.reduce((n, c) => n + c.packages.length, 0),
    s.counts['build-failed'] + s.counts['install-failed'],
  );
  assert.equal(s.clusters[0].signature, 'Error: Unbound module Stream');
  const extlib = s.rootCauses.find((rc) => rc.id === 'extlib.1.7.8')!;
  assert.equal(extlib.dependents.length, 12);
  assert.ok(extlib.dependents.includes('sawja.1.5.12'), 'sawja → javalib → extlib');
  const git = s.rootCauses.find((rc) => rc.id === 'git.3.16.0')!;
  assert.equal(git.status, 'timeout');
  assert.match(git.firstError, /^timeout: /);
  assert.equal(runHasFailures(s), true);
});

test('single run: a run of only ok, not-installable and timeouts has no failures', () => {
  const run = fixtureRun('candidate-5.1.json');
  const clean = { ...run, results: run.results.filter((r) => ['ok', 'not-installable', 'timeout'].includes(r.status)) };
  const s = summariseRun(clean);
  assert.equal(runHasFailures(s), false);
  assert.deepEqual(s.clusters, []);
  assert.deepEqual(s.rootCauses, []);
});

test('single run: a dependency failure with two roots is listed under both; counts take it once', () => {
  const base = {
    reason: '',
    jobKey: 'k',
    durationMs: 1,
    exitCode: 1,
    logPath: null,
    logTail: '',
    firstError: null,
    missingSystemPackages: [],
    cached: false,
  };
  const run: RunSide = {
    runId: 1,
    label: 'r',
    compiler: 'c',
    results: [
      {
        ...base,
        id: 'a.1',
        name: 'a',
        version: '1',
        status: 'build-failed',
        rootCause: null,
        logTail: 'Error: Unbound module Stream',
        firstError: 'Error: Unbound module Stream',
      },
      {
        ...base,
        id: 'b.1',
        name: 'b',
        version: '1',
        status: 'install-failed',
        rootCause: null,
        logTail: 'Error: Unbound module Genlex',
        firstError: 'Error: Unbound module Genlex',
      },
      { ...base, id: 'w.1', name: 'w', version: '1', status: 'dependency-failed', rootCause: 'a.1', rootCauses: ['a.1', 'b.1'] },
      { ...base, id: 'u.1', name: 'u', version: '1', status: 'dependency-failed', rootCause: 'w.1' },
    ],
  };
  const s = summariseRun(run);
  assert.equal(s.counts['dependency-failed'], 2);
  assert.deepEqual(
    s.rootCauses.map((rc) => [rc.id, rc.dependents]),
    [
      ['a.1', ['u.1', 'w.1']],
      ['b.1', ['w.1']],
    ],
  );
});
