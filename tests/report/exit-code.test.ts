import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareRuns } from '../../src/compare/compare-runs.js';
import { parseRunSide, type RunSide } from '../support/run-side-json.js';
import { summariseRun } from '../../src/compare/run-summary.js';
import { comparisonExitCode, runExitCode } from '../../src/report/exit-code.js';
import { isReportFormat, renderComparisonReport, renderRunReport, REPORT_FORMATS } from '../../src/report/render-report.js';
import type { JobStatus, PackageRunResult } from '../../src/results/taxonomy.js';
import { projectRoot } from '../support/snapshot.js';

function fixtureRun(file: string): RunSide {
  const path = join(projectRoot, 'fixtures', 'runs', file);
  return parseRunSide(JSON.parse(readFileSync(path, 'utf8')), path);
}

function r(id: string, status: JobStatus, rootCause: string | null = null): PackageRunResult {
  const dot = id.indexOf('.');
  return {
    id,
    name: id.slice(0, dot),
    version: id.slice(dot + 1),
    status,
    reason: '',
    rootCause,
    jobKey: 'k',
    durationMs: 1,
    exitCode: null,
    logPath: null,
    logTail: '',
    firstError: null,
    missingSystemPackages: [],
    cached: false,
  };
}

const sideOf = (label: string, results: PackageRunResult[]): RunSide => ({ runId: label, label, compiler: 'c', results });

test('exit code 1 for regressions (own or through a dependency), 0 otherwise', () => {
  assert.equal(comparisonExitCode(compareRuns(fixtureRun('baseline-4.14.json'), fixtureRun('candidate-5.1.json'))), 1);
  assert.equal(comparisonExitCode(compareRuns(sideOf('a', [r('a.1', 'ok')]), sideOf('b', [r('a.1', 'build-failed')]))), 1);
  assert.equal(
    comparisonExitCode(
      compareRuns(sideOf('a', [r('a.1', 'ok'), r('d.1', 'ok')]), sideOf('b', [r('a.1', 'dependency-failed', 'd.2'), r('d.1', 'ok')])),
    ),
    1,
  );
  // Fixed, still failing, not installable any more, spurious: no regression.
  const calm = compareRuns(
    sideOf('a', [r('a.1', 'build-failed'), r('b.1', 'build-failed'), r('c.1', 'ok'), r('d.1', 'ok'), r('e.1', 'ok')]),
    sideOf('b', [r('a.1', 'ok'), r('b.1', 'build-failed'), r('c.1', 'not-installable'), r('d.1', 'timeout'), r('e.1', 'ok')]),
  );
  assert.equal(comparisonExitCode(calm), 0);
});

test('single-run exit code: 1 with build, install or dependency failures, 0 otherwise', () => {
  assert.equal(runExitCode(summariseRun(fixtureRun('candidate-5.1.json')), 'check'), 1);
  assert.equal(
    runExitCode(summariseRun(fixtureRun('candidate-5.1.json')), 'baseline'),
    0,
    'a baseline records failures, it does not fail on them',
  );
  assert.equal(runExitCode(summariseRun(sideOf('a', [r('a.1', 'ok'), r('b.1', 'not-installable'), r('c.1', 'timeout')])), 'check'), 0);
  assert.equal(runExitCode(summariseRun(sideOf('a', [r('a.1', 'install-failed')])), 'rerun'), 1);
});

test('every report format renders through the entry points', () => {
  const cmp = compareRuns(fixtureRun('baseline-4.14.json'), fixtureRun('candidate-5.1.json'));
  const run = summariseRun(fixtureRun('candidate-5.1.json'));
  for (const f of REPORT_FORMATS) {
    assert.ok(renderComparisonReport(cmp, f).includes('extlib'), f);
    assert.ok(renderRunReport(run, f).includes('extlib.1.7.8'), f);
  }
  assert.ok(isReportFormat('markdown'));
  assert.ok(!isReportFormat('pdf'));
});
