/**
 * The Markdown report of the fixture comparison (fixtures/runs, 4.14.2 → 5.1.1) is kept as a golden file,
 * tests/golden/comparison.md, compared exactly. After an intended change to the report, rewrite it with
 *   npx tsc -p . && UPDATE_GOLDEN=1 node --test dist/tests/report/markdown.test.js
 * and review the diff before committing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareRuns } from '../../src/compare/compare-runs.js';
import { parseRunSide, type RunSide } from '../support/run-side-json.js';
import { summariseRun } from '../../src/compare/run-summary.js';
import { renderComparisonMarkdown, renderRunMarkdown } from '../../src/report/markdown-report.js';
import { mdCode, mdText } from '../../src/report/markdown-text.js';
import type { PackageRunResult } from '../../src/results/taxonomy.js';
import { projectRoot } from '../support/snapshot.js';

function fixtureRun(file: string): RunSide {
  const path = join(projectRoot, 'fixtures', 'runs', file);
  return parseRunSide(JSON.parse(readFileSync(path, 'utf8')), path);
}

const golden = join(projectRoot, 'tests', 'golden', 'comparison.md');

test('the Markdown of the fixture comparison matches the golden file', () => {
  const md = renderComparisonMarkdown(compareRuns(fixtureRun('baseline-4.14.json'), fixtureRun('candidate-5.1.json')));
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, md);
  assert.equal(md, readFileSync(golden, 'utf8'));
});

test('Markdown: counts first, then root causes, then clusters; long lists folded', () => {
  const md = renderComparisonMarkdown(compareRuns(fixtureRun('baseline-4.14.json'), fixtureRun('candidate-5.1.json')));
  const at = (s: string) => {
    const i = md.indexOf(s);
    assert.ok(i >= 0, `missing ${s}`);
    return i;
  };
  assert.ok(at('| Regressed | 21 |') < at('### Regressions by root cause'));
  assert.ok(at('### Regressions by root cause') < at('### Regressions by error'));
  assert.ok(at('**extlib** (regressed): 12 packages fail because of it') < at('**camomile** (regressed): 3 packages fail because of it'));
  // 12 dependents of extlib and 11 Stream packages are folded; camomile's 3 are not.
  assert.match(md, /<summary>12 packages failing because of extlib<\/summary>\n\n- cudf 0\.10/);
  assert.match(md, /#### `Error: Unbound module Stream` — 11 packages\n\n<details>/);
  assert.match(md, /because of it — `Error: Unbound module Stream`\n\n- lambda-term 3\.3\.2\n- utop/);
  // One line per regressed package with its own first error.
  assert.match(md, /^- \*\*lablgl\*\* 1\.06 — ``ml_gl\.c:\(\.text\+0x1f3\): undefined reference to `alloc_string'``$/m);
  // Every <details> is closed.
  assert.equal(md.split('<details>').length, md.split('</details>').length);
});

test('Markdown: list limit and fold threshold are options', () => {
  const cmp = compareRuns(fixtureRun('baseline-4.14.json'), fixtureRun('candidate-5.1.json'));
  const md = renderComparisonMarkdown(cmp, { foldAbove: 100, listLimit: 5 });
  assert.ok(!md.includes('<details>'));
  assert.match(md, /- … and 7 more/);
});

test('Markdown: text from logs cannot break out of code spans, tables or into HTML', () => {
  assert.equal(mdCode("undefined reference to `alloc_string'"), "``undefined reference to `alloc_string'``");
  assert.equal(mdCode('`x`'), '`` `x` ``');
  assert.equal(mdCode('a | b'), '`a \\| b`');
  assert.equal(mdText('<script>*x*</script>'), '&lt;script&gt;\\*x\\*&lt;/script&gt;');
  const evil: PackageRunResult = {
    id: 'evil.1',
    name: 'evil',
    version: '1',
    status: 'build-failed',
    reason: '',
    rootCause: null,
    jobKey: 'k',
    durationMs: 1,
    exitCode: 1,
    logPath: null,
    logTail: 'Error: <img src=x onerror=alert(1)> | `boom`',
    firstError: 'Error: <img src=x onerror=alert(1)> | `boom`',
    missingSystemPackages: [],
    cached: false,
  };
  const md = renderRunMarkdown(summariseRun({ runId: 1, label: 'x', compiler: 'c', results: [evil] }));
  assert.ok(md.includes('- **evil** 1 — `` Error: <img src=x onerror=alert(1)> \\| `boom` ``'));
  assert.ok(!/<img/.test(md.replace(/``[^\n]*?``/g, '')), 'no raw HTML outside code spans');
});

test('single-run Markdown: status counts, failures by error, roots of dependency failures', () => {
  const md = renderRunMarkdown(summariseRun(fixtureRun('candidate-5.1.json')));
  assert.match(md, /^## ecocheck: run 42 \(5\.1\.1\)/);
  assert.match(md, /\| build-failed \| 23 \|/);
  assert.match(md, /#### `Error: Unbound module Stream` — 11 packages/);
  assert.match(md, /\*\*extlib\.1\.7\.8\*\* \(build-failed\): 12 packages fail because of it/);
  assert.match(md, /### timeout \(2\)/);
});

test('Markdown: a huge comparison is cut down to fit a comment, saying so', () => {
  const mk = (name: string, status: PackageRunResult['status'], rootCause: string | null = null, logTail = ''): PackageRunResult => ({
    id: `${name}.1`,
    name,
    version: '1',
    status,
    reason: '',
    rootCause,
    jobKey: 'k',
    durationMs: 1,
    exitCode: 1,
    logPath: null,
    logTail,
    firstError: logTail !== '' ? logTail : null,
    missingSystemPackages: [],
    cached: false,
  });
  const base: PackageRunResult[] = [];
  const cand: PackageRunResult[] = [];
  for (let i = 0; i < 3000; i++) {
    base.push(mk(`p${i}`, 'ok'));
    cand.push(
      i % 3 === 0
        ? mk(`p${i}`, 'build-failed', null, `Error: failure number ${i % 400}`)
        : mk(`p${i}`, 'dependency-failed', `p${i - (i % 3)}.1`),
    );
  }
  const cmp = compareRuns({ runId: 1, label: 'a', compiler: 'a', results: base }, { runId: 2, label: 'b', compiler: 'b', results: cand });
  const full = renderComparisonMarkdown(cmp, { maxLength: Number.MAX_SAFE_INTEGER, sectionLimit: 10_000 });
  assert.ok(full.length > 100_000);
  // The default limits already keep it under GitHub's limit; what is left out is counted.
  const fits = renderComparisonMarkdown(cmp);
  assert.ok(fits.length <= 60_000);
  assert.match(fits, /_… and \d+ more root causes\._/);
  for (const maxLength of [20_000, 3_000]) {
    const md = renderComparisonMarkdown(cmp, { maxLength });
    assert.ok(md.length <= maxLength, `${md.length} > ${maxLength}`);
    assert.ok(md.includes('> Shortened to fit a comment'));
    assert.ok(md.includes('| Regressed | 1000 |'), 'counts always kept');
    assert.equal(md.split('<details>').length, md.split('</details>').length);
  }
});
