/** The pull-request comment: marker, counts, link, collapsed details, and within GitHub's limit however big the comparison. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareRuns } from '../../src/compare/compare-runs.js';
import type { Comparison } from '../../src/compare/comparison.js';
import type { JobStatus, PackageRunResult } from '../../src/results/taxonomy.js';
import { GITHUB_COMMENT_LIMIT, PR_COMMENT_MARKER, renderPrComment } from '../../src/report/pr-comment.js';
import { parseRunSide } from '../support/run-side-json.js';
import { projectRoot } from '../support/snapshot.js';

function fixtureComparison(): Comparison {
  const side = (file: string) => {
    const path = join(projectRoot, 'fixtures', 'runs', file);
    return parseRunSide(JSON.parse(readFileSync(path, 'utf8')), path);
  };
  return compareRuns(side('baseline-4.14.json'), side('candidate-5.1.json'));
}

function result(name: string, status: JobStatus, extra: Partial<PackageRunResult> = {}): PackageRunResult {
  return {
    id: `${name}.1.0`,
    name,
    version: '1.0',
    status,
    reason: status === 'ok' ? '' : `${name}: ${status}`,
    rootCause: null,
    jobKey: `k-${name}`,
    durationMs: 1000,
    exitCode: status === 'ok' ? 0 : 2,
    logPath: null,
    logTail: '',
    cached: false,
    firstError: null,
    missingSystemPackages: [],
    ...extra,
  };
}

/**
 * A comparison the size of a bad compiler change to the whole ecosystem: 3,000 own regressions over 600
 * distinct errors, 4,000 packages failing because of 300 of them, and the other categories by hundreds.
 */
function hugeComparison(): Comparison {
  const baseline: PackageRunResult[] = [];
  const candidate: PackageRunResult[] = [];
  for (let i = 0; i < 3000; i++) {
    const name = `regressed-package-with-a-long-name-${i}`;
    baseline.push(result(name, 'ok'));
    candidate.push(
      result(name, 'build-failed', {
        logTail: `File "src/module_${i % 600}.ml", line 12, characters 4-20:\nError: Unbound module Stdlib_compat_layer_${i % 600} (this module was removed)`,
      }),
    );
  }
  for (let i = 0; i < 4000; i++) {
    const name = `dependent-package-${i}`;
    const root = `regressed-package-with-a-long-name-${i % 300}.1.0`;
    baseline.push(result(name, 'ok'));
    candidate.push(result(name, 'dependency-failed', { rootCause: root, reason: `dependency ${root} failed` }));
  }
  for (let i = 0; i < 800; i++) {
    const name = `flaky-${i}`;
    baseline.push(result(name, 'ok'));
    candidate.push(result(name, 'timeout', { reason: 'timed out after 1h' }));
  }
  for (let i = 0; i < 500; i++) {
    const name = `fixed-${i}`;
    baseline.push(result(name, 'build-failed', { logTail: 'Error: old bug' }));
    candidate.push(result(name, 'ok'));
  }
  for (let i = 0; i < 700; i++) {
    const name = `bounded-${i}`;
    baseline.push(result(name, 'ok'));
    candidate.push(result(name, 'not-installable', { jobKey: null, reason: `bounded-${i} conflicts with ocaml >= 5.4 (upper bound)` }));
  }
  for (let i = 0; i < 2000; i++) {
    baseline.push(result(`fine-${i}`, 'ok'));
    candidate.push(result(`fine-${i}`, 'ok'));
  }
  return compareRuns(
    { runId: 1, label: 'trunk', compiler: 'ocaml-base-compiler.5.3.0', results: baseline },
    { runId: 2, label: 'PR #1234', compiler: 'ocaml-variants.5.4.0+pr1234', results: candidate },
  );
}

test('a comment with thousands of regressions stays under GitHub’s limit and says what it left out', () => {
  const c = hugeComparison();
  assert.equal(c.counts.regressed, 3000);
  assert.equal(c.counts['dependency-regressed'], 4000);
  const url = 'https://github.com/ocaml/ocaml/actions/runs/123/artifacts/456';
  const { body, shortened, leftOut } = renderPrComment(c, { reportUrl: url });
  assert.ok(body.length < GITHUB_COMMENT_LIMIT, `${body.length} characters`);
  assert.ok(Buffer.byteLength(body) <= 65_000, `${Buffer.byteLength(body)} bytes`);
  assert.ok(shortened);
  assert.equal(body.split('\n')[0], PR_COMMENT_MARKER);
  // The counts are whole, with thousands separators.
  assert.match(body, /\*\*3,000 regressed, 4,000 dependency regressed\*\* among 11,000 packages/);
  assert.match(body, /\| Regressed \| 3,000 \|/);
  assert.match(body, /\| Spurious \| 800 \|/);
  // What was left out is summed up under the counts, and each cut list says how many more.
  const note = body.split('\n').find((l) => l.startsWith('> Shortened to fit a GitHub comment: left out '))!;
  assert.ok(note !== undefined, 'a note says what was left out');
  assert.ok(body.indexOf(note) < body.indexOf('### Root causes'));
  assert.match(note, /\d[\d,]* regressions/);
  assert.match(note, /\d[\d,]* dependency regressions/);
  assert.match(note, new RegExp(`see \\[the full report\\]\\(${url.replace(/[/.]/g, '\\$&')}\\)`));
  assert.ok(leftOut.length > 0);
  assert.match(body, /_… and [\d,]+ more (regressions|dependency regressions|packages|errors|root causes): see \[the full report\]/);
  // The least important went first: the other categories' lists are gone before the regressions.
  assert.ok(!/^- \*\*flaky-\d+\*\*/m.test(body), 'spurious packages are not listed');
  assert.ok(/^- \*\*regressed-package-with-a-long-name-\d+\*\*/m.test(body), 'some regressions are still listed');
  assert.match(note, /800 spurious/);
  // The most important sections are still there, in order, and every <details> is closed.
  assert.ok(body.indexOf('### Root causes (300)') < body.indexOf('### Regressions by error'));
  assert.equal(body.split('<details>').length, body.split('</details>').length);
  // The numbers left out add up: listed + left out = all.
  const listedRegressions = new Set([...body.matchAll(/^- \*\*(regressed-package-with-a-long-name-\d+)\*\*/gm)].map((m) => m[1]));
  const leftRegressions = Number(/([\d,]+) regressions/.exec(note)![1].replace(/,/g, ''));
  assert.equal(listedRegressions.size + leftRegressions, 3000);
});

test('a tighter limit cuts deeper, and still fits', () => {
  const c = hugeComparison();
  for (const maxLength of [30_000, 8_000]) {
    const { body } = renderPrComment(c, { maxLength });
    assert.ok(Buffer.byteLength(body) <= maxLength, `${Buffer.byteLength(body)} > ${maxLength}`);
    assert.match(body, /Shortened to fit a GitHub comment|cut here to fit a GitHub comment/);
    assert.equal(body.split('<details>').length, body.split('</details>').length);
    assert.ok(body.startsWith(`${PR_COMMENT_MARKER}\n`));
  }
});

test('a small comparison: everything shown, lists collapsed, the report linked, nothing said to be left out', () => {
  const c = fixtureComparison();
  const { body, shortened, leftOut } = renderPrComment(c, {
    reportUrl: 'https://example.org/report.html',
    runUrl: 'https://example.org/run/1',
  });
  assert.equal(shortened, false);
  assert.deepEqual(leftOut, []);
  assert.ok(!body.includes('Shortened'));
  assert.ok(!body.includes('more regressions'));
  assert.ok(body.startsWith(`${PR_COMMENT_MARKER}\n## ecocheck: `));
  assert.match(body, /\*\*\[Full report\]\(https:\/\/example\.org\/report\.html\)\*\* · \[CI run\]\(https:\/\/example\.org\/run\/1\)/);
  assert.match(body, /\| Regressed \| 21 \|/);
  assert.match(body, /\*\*extlib\*\* \(regressed\): 12 packages fail because of it/);
  assert.match(body, /<summary>12 packages failing because of extlib<\/summary>/);
  assert.match(body, /#### `Error: Unbound module Stream` — 11 packages\n\n<details>/);
  // Every regressed package is listed.
  for (const e of c.packages.filter((p) => p.category === 'regressed')) assert.ok(body.includes(`- **${e.key}** `), e.key);
  assert.equal(body.split('<details>').length, body.split('</details>').length);
});

test('no regressions: said in the headline', () => {
  const ok = [result('a', 'ok'), result('b', 'ok')];
  const { body } = renderPrComment(
    compareRuns({ runId: 1, label: 'base', compiler: 'c1', results: ok }, { runId: 2, label: 'pr', compiler: 'c2', results: ok }),
  );
  assert.match(body, /\*\*No regressions\*\* among 2 packages/);
  assert.ok(!body.includes('### Root causes'));
});
