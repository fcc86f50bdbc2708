import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareRuns } from '../../src/compare/compare-runs.js';
import { parseRunSide, type RunSide } from '../support/run-side-json.js';
import { summariseRun } from '../../src/compare/run-summary.js';
import { checkAgainstSchema } from '../support/json-schema-check.js';
import { comparisonJsonSchema, renderComparisonJson, renderRunJson, runJsonSchema } from '../../src/report/json-report.js';
import { COMPARISON_CATEGORIES, JOB_STATUSES } from '../../src/results/taxonomy.js';
import { projectRoot } from '../support/snapshot.js';

function fixtureRun(file: string): RunSide {
  const path = join(projectRoot, 'fixtures', 'runs', file);
  return parseRunSide(JSON.parse(readFileSync(path, 'utf8')), path);
}

function comparisonJson(): any {
  return JSON.parse(renderComparisonJson(compareRuns(fixtureRun('baseline-4.14.json'), fixtureRun('candidate-5.1.json'))));
}

test('comparison JSON conforms to its exported schema and says what it is', () => {
  const doc = comparisonJson();
  assert.deepEqual(checkAgainstSchema(doc, comparisonJsonSchema), []);
  assert.equal(doc.schema, 'ecocheck.comparison/1');
  assert.equal(doc.total, doc.packages.length);
  assert.equal(
    COMPARISON_CATEGORIES.reduce((n: number, k) => n + doc.counts[k], 0),
    doc.total,
  );
  assert.equal(doc.regressionsFound, true);
  const xml = doc.packages.find((p: any) => p.key === 'xml-light');
  assert.equal(xml.category, 'regressed');
  assert.equal(xml.candidate.firstError, 'Error: Unbound module Stream');
  assert.equal(xml.baseline.firstError, null);
  assert.equal(doc.rootCauses[0].package, 'extlib');
  assert.equal(doc.rootCauses[0].dependents.length, 12);
});

test('single-run JSON conforms to its exported schema', () => {
  const doc = JSON.parse(renderRunJson(summariseRun(fixtureRun('candidate-5.1.json'))));
  assert.deepEqual(checkAgainstSchema(doc, runJsonSchema), []);
  assert.equal(doc.schema, 'ecocheck.run/1');
  assert.equal(
    JOB_STATUSES.reduce((n: number, k) => n + doc.counts[k], 0),
    doc.total,
  );
  assert.equal(doc.failuresFound, true);
});

test('the schema check catches broken documents (the check can fail)', () => {
  const missing = comparisonJson();
  delete missing.counts.regressed;
  assert.deepEqual(checkAgainstSchema(missing, comparisonJsonSchema), ['$.counts: missing "regressed"']);
  const wrongEnum = comparisonJson();
  wrongEnum.packages[0].category = 'broken';
  assert.match(checkAgainstSchema(wrongEnum, comparisonJsonSchema)[0], /^\$\.packages\[0\]\.category: "broken" is not one of/);
  const extra = comparisonJson();
  extra.surprise = 1;
  assert.deepEqual(checkAgainstSchema(extra, comparisonJsonSchema), ['$: unexpected "surprise"']);
  const wrongType = comparisonJson();
  wrongType.packages[3].candidate.durationMs = 'slow';
  assert.deepEqual(checkAgainstSchema(wrongType, comparisonJsonSchema), [
    '$.packages[3].candidate.durationMs: expected number or null, found string',
  ]);
  const wrongVersion = comparisonJson();
  wrongVersion.schema = 'ecocheck.comparison/2';
  assert.deepEqual(checkAgainstSchema(wrongVersion, comparisonJsonSchema), ['$.schema: expected "ecocheck.comparison/1"']);
  const negative = comparisonJson();
  negative.total = -1;
  assert.deepEqual(checkAgainstSchema(negative, comparisonJsonSchema), ['$.total: -1 is below 0']);
});

test('docs/report-schema.md documents every top-level and package field of both schemas', () => {
  const doc = readFileSync(join(projectRoot, 'docs', 'report-schema.md'), 'utf8');
  const fields = new Set<string>();
  const walk = (schema: any) => {
    for (const [k, v] of Object.entries(schema.properties ?? {})) {
      fields.add(k);
      walk(v);
      if ((v as any).items) walk((v as any).items);
    }
  };
  walk(comparisonJsonSchema);
  walk(runJsonSchema);
  for (const f of fields) assert.ok(doc.includes(`\`${f}\``), `field ${f} not documented`);
  assert.ok(doc.includes('ecocheck.comparison/1') && doc.includes('ecocheck.run/1'));
});

test('JSON: several roots of a dependency failure are written and fit the schemas', () => {
  const r = (id: string, status: 'ok' | 'build-failed' | 'dependency-failed', extra: object = {}) => ({
    id,
    name: id.split('.')[0],
    version: '1',
    status,
    reason: '',
    rootCause: null,
    jobKey: 'k',
    durationMs: 1,
    exitCode: 1,
    logPath: null,
    logTail: status === 'build-failed' ? `Error: broken ${id}` : '',
    firstError: status === 'build-failed' ? `Error: broken ${id}` : null,
    missingSystemPackages: [],
    cached: false,
    ...extra,
  });
  const base: RunSide = { runId: 1, label: 'a', compiler: 'a', results: [r('p.1', 'ok'), r('q.1', 'ok'), r('w.1', 'ok')] };
  const cand: RunSide = {
    runId: 2,
    label: 'b',
    compiler: 'b',
    results: [
      r('p.1', 'build-failed'),
      r('q.1', 'build-failed'),
      r('w.1', 'dependency-failed', { rootCause: 'p.1', rootCauses: ['p.1', 'q.1'] }),
    ],
  };
  const cmp = JSON.parse(renderComparisonJson(compareRuns(base, cand)));
  assert.deepEqual(checkAgainstSchema(cmp, comparisonJsonSchema), []);
  const w = cmp.packages.find((p: { key: string }) => p.key === 'w');
  assert.deepEqual(w.rootCauses, ['p', 'q']);
  assert.deepEqual(w.candidate.rootCauses, ['p.1', 'q.1']);
  const run = JSON.parse(renderRunJson(summariseRun(cand)));
  assert.deepEqual(checkAgainstSchema(run, runJsonSchema), []);
  assert.deepEqual(
    run.rootCauses.map((rc: { package: string; dependents: string[] }) => [rc.package, rc.dependents]),
    [
      ['p.1', ['w.1']],
      ['q.1', ['w.1']],
    ],
  );
});
