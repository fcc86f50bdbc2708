import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareRuns } from '../../src/compare/compare-runs.js';
import { parseRunSide, withLogVerdicts, type RunSide } from '../support/run-side-json.js';
import { summariseRun } from '../../src/compare/run-summary.js';
import { renderComparisonHtml, renderRunHtml } from '../../src/report/html-report.js';
import type { PackageRunResult } from '../../src/results/taxonomy.js';
import { projectRoot } from '../support/snapshot.js';

function fixtureRun(file: string): RunSide {
  const path = join(projectRoot, 'fixtures', 'runs', file);
  return parseRunSide(JSON.parse(readFileSync(path, 'utf8')), path);
}

const XSS_LINES = [
  '<script>document.title="pwned"</script>',
  '"><img src=x onerror="document.title=\'pwned\'">',
  "'><svg onload=alert(1)>",
  '</pre></details></td></tr></tbody></table><script>alert(2)</script>',
];

function xssSides(): [RunSide, RunSide] {
  const base: PackageRunResult = {
    id: 'evil.1.0',
    name: 'evil',
    version: '1.0',
    status: 'ok',
    reason: '',
    rootCause: null,
    jobKey: 'k1',
    durationMs: 10,
    exitCode: 0,
    logPath: null,
    logTail: '',
    firstError: null,
    missingSystemPackages: [],
    cached: false,
  };
  // The first error as the builder reads it from such a log.
  const cand: PackageRunResult = withLogVerdicts({
    ...base,
    status: 'build-failed',
    reason: 'x" onmouseover="alert(3)',
    exitCode: 1,
    firstError: undefined,
    logTail: ['File "a.ml", line 1, characters 0-1:', `Error: ${XSS_LINES[0]}`, ...XSS_LINES.slice(1)].join('\n'),
  });
  return [
    { runId: 1, label: '<b>base</b>', compiler: 'c', results: [base] },
    { runId: 2, label: 'cand', compiler: '<i>c</i>', results: [cand] },
  ];
}

test('HTML is one self-contained file: no external scripts, styles, images or fonts', () => {
  const html = renderComparisonHtml(compareRuns(fixtureRun('baseline-4.14.json'), fixtureRun('candidate-5.1.json')));
  assert.match(html, /^<!DOCTYPE html>/);
  assert.doesNotMatch(html, /<script[^>]+src=/i);
  assert.doesNotMatch(html, /<link\b/i);
  assert.doesNotMatch(html, /<img\b/i);
  assert.doesNotMatch(html, /@import|url\(/i);
  assert.doesNotMatch(html, /(?:src|href)="(?:https?:)?\/\//i);
  // Every link points inside the page.
  for (const m of html.matchAll(/href="([^"]*)"/g)) assert.ok(m[1].startsWith('#'), m[1]);
  assert.equal(html.match(/<script>/g)?.length, 1);
});

test('HTML: category groups, filter buttons, search box, rows with status, root cause, first error and log', () => {
  const html = renderComparisonHtml(compareRuns(fixtureRun('baseline-4.14.json'), fixtureRun('candidate-5.1.json')));
  assert.match(html, /<button type="button" data-filter="regressed"[^>]*>Regressed \(21\)<\/button>/);
  assert.match(html, /<input id="search" type="search"/);
  const regressed = /<tbody class="group" id="group-regressed" data-category="regressed">([\s\S]*?)<\/tbody>/.exec(html)![1];
  assert.equal(regressed.match(/<tr class="pkg"/g)?.length, 21);
  assert.match(
    regressed,
    /id="pkg-extlib"[\s\S]*?root of 12[\s\S]*?Error: Unbound value Obj\.truncate[\s\S]*?<details class="log"><summary>candidate log \(build-failed\)<\/summary><pre>[\s\S]*?make\[1\]: \*\*\* \[Makefile:61: extList\.cmo\] Error 2/,
  );
  const deps = /<tbody class="group" id="group-dependency-regressed"[^>]*>([\s\S]*?)<\/tbody>/.exec(html)![1];
  assert.match(deps, /id="pkg-utop"[\s\S]*?<a class="root-cause" href="#q=camomile">camomile<\/a>/);
  assert.match(html, /<div class="root" data-root="extlib">/);
});

test('HTML escapes everything that comes from logs, reasons and labels', () => {
  const html = renderComparisonHtml(compareRuns(...xssSides()));
  assert.equal(html.match(/<script/g)?.length, 1, 'only the report script');
  assert.doesNotMatch(html, /<img|<svg|<b>base|<i>c<\/i>/);
  assert.doesNotMatch(html, /" onmouseover=/);
  assert.ok(html.includes('&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;'));
  assert.ok(html.includes('&lt;/pre&gt;&lt;/details&gt;&lt;/td&gt;'));
  assert.ok(html.includes('&lt;b&gt;base&lt;/b&gt;'));
  const runHtml = renderRunHtml(summariseRun(xssSides()[1]));
  assert.equal(runHtml.match(/<script/g)?.length, 1);
  assert.doesNotMatch(runHtml, /<img|<svg/);
});

test('single-run HTML: status groups and roots of dependency failures', () => {
  const html = renderRunHtml(summariseRun(fixtureRun('candidate-5.1.json')));
  assert.match(html, /<button type="button" data-filter="build-failed"[^>]*>build-failed \(23\)<\/button>/);
  assert.match(html, /<div class="root" data-root="extlib\.1\.7\.8">[\s\S]*?<b>12<\/b> packages fail because of it/);
  assert.match(html, /id="pkg-xml-light\.2\.4"/);
});
