/**
 * Opens the HTML report in real headless Chromium (Debian's `chromium` package) and reads the rendered
 * DOM after the page's own script ran: a regression in the regressed group, its root cause, and the
 * filters applied from the URL hash. Skipped, saying so, only when no `chromium` is on the PATH.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compareRuns } from '../../src/compare/compare-runs.js';
import { parseRunSide, withLogVerdicts, type RunSide } from '../support/run-side-json.js';
import { renderComparisonHtml } from '../../src/report/html-report.js';
import type { PackageRunResult } from '../../src/results/taxonomy.js';
import { projectRoot } from '../support/snapshot.js';
import { skipWithout } from '../support/missing-setup.js';

function fixtureRun(file: string): RunSide {
  const path = join(projectRoot, 'fixtures', 'runs', file);
  return parseRunSide(JSON.parse(readFileSync(path, 'utf8')), path);
}

function findChromium(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    for (const name of ['chromium', 'chromium-browser']) {
      try {
        execFileSync('test', ['-x', join(dir, name)]);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  return null;
}

const chromium = findChromium();
const skip = skipWithout('chromium', chromium === null ? 'chromium is not installed (Debian package: apt-get install -y chromium)' : false);

/** Renders `html` to a temp file, opens it (with `hash`) in headless Chromium, returns the DOM after scripts ran. */
function renderedDom(html: string, hash = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-chromium-'));
  try {
    const file = join(dir, 'report.html');
    writeFileSync(file, html);
    const url = pathToFileURL(file).href + hash;
    return execFileSync(
      chromium!,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${join(dir, 'profile')}`,
        '--virtual-time-budget=5000',
        '--dump-dom',
        url,
      ],
      {
        encoding: 'utf8',
        timeout: 90_000,
        maxBuffer: 64 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, HOME: dir },
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The opening tag of each package row, keyed by package key. */
function rowTags(dom: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const m of dom.matchAll(/<tr class="pkg"[^>]*>/g)) rows.set(/data-key="([^"]*)"/.exec(m[0])![1], m[0]);
  return rows;
}

function groupTag(dom: string, category: string): string {
  return new RegExp(`<tbody class="group" id="group-${category}"[^>]*>`).exec(dom)![0];
}

const fixtureHtml = () => renderComparisonHtml(compareRuns(fixtureRun('baseline-4.14.json'), fixtureRun('candidate-5.1.json')));

test('Chromium renders a regression in the regressed group, and its root cause', { skip }, () => {
  const dom = renderedDom(fixtureHtml());
  assert.match(dom, /<body data-filter-applied="all\|">/, 'the page script ran');
  const regressed = /<tbody class="group" id="group-regressed"[^>]*>([\s\S]*?)<\/tbody>/.exec(dom)![1];
  assert.match(regressed, /<tr class="pkg" id="pkg-extlib"[^>]*><td><b>extlib<\/b><\/td><td><span class="tag tone-bad">regressed<\/span>/);
  assert.match(regressed, /root of 12[\s\S]*?<code>Error: Unbound value Obj\.truncate<\/code>/);
  const rootSection = /<section id="root-causes">([\s\S]*?)<\/section>/.exec(dom)![1];
  assert.match(rootSection, /<b>extlib<\/b><\/a> regressed; <b>12<\/b> packages fail because of it/);
  assert.match(rootSection, /<li>sawja<\/li>/);
  const deps = /<tbody class="group" id="group-dependency-regressed"[^>]*>([\s\S]*?)<\/tbody>/.exec(dom)![1];
  assert.match(deps, /id="pkg-cudf"[\s\S]*?<a class="root-cause" href="#q=extlib">extlib<\/a>/);
  assert.match(dom, /<span id="shown">68 shown<\/span>/);
  for (const [key, tag] of rowTags(dom)) assert.doesNotMatch(tag, /hidden/, key);
});

test('Chromium applies #category=regressed: other groups and their rows are hidden', { skip }, () => {
  const dom = renderedDom(fixtureHtml(), '#category=regressed');
  assert.match(dom, /<body data-filter-applied="regressed\|">/);
  assert.doesNotMatch(groupTag(dom, 'regressed'), /hidden/);
  for (const other of ['dependency-regressed', 'still-ok', 'spurious', 'fixed']) assert.match(groupTag(dom, other), /hidden=""/, other);
  const rows = rowTags(dom);
  assert.doesNotMatch(rows.get('xml-light')!, /hidden/);
  assert.doesNotMatch(rows.get('extlib')!, /hidden/);
  assert.match(rows.get('utop')!, /hidden=""/);
  assert.match(rows.get('lwt')!, /hidden=""/);
  assert.equal([...rows.values()].filter((t) => !/hidden/.test(t)).length, 21);
  assert.match(dom, /<span id="shown">21 shown<\/span>/);
  assert.match(dom, /<button type="button" data-filter="regressed" class="tone-bad" aria-pressed="true">/);
});

test('Chromium applies a search from the hash: a root cause finds itself and what fails because of it', { skip }, () => {
  const dom = renderedDom(fixtureHtml(), '#q=camomile');
  const visible = [...rowTags(dom)]
    .filter(([, tag]) => !/hidden/.test(tag))
    .map(([k]) => k)
    .sort();
  assert.deepEqual(visible, ['camomile', 'lambda-term', 'utop', 'zed']);
  assert.match(dom, /<input id="search" type="search"[^>]*>/);
});

test('Chromium: log lines with markup stay text (no injected elements, no script run)', { skip }, () => {
  const base: PackageRunResult = {
    id: 'evil.1.0',
    name: 'evil',
    version: '1.0',
    status: 'ok',
    reason: '',
    rootCause: null,
    jobKey: 'k',
    durationMs: 1,
    exitCode: 0,
    logPath: null,
    logTail: '',
    firstError: null,
    missingSystemPackages: [],
    cached: false,
  };
  const cand: PackageRunResult = withLogVerdicts({
    ...base,
    status: 'build-failed',
    exitCode: 1,
    firstError: undefined,
    logTail:
      'Error: <img src=x onerror="document.body.setAttribute(\'data-pwned\',\'1\')">\n<script>document.body.setAttribute("data-pwned","2")</script>\n</pre><b id="injected">x</b>',
  });
  const dom = renderedDom(
    renderComparisonHtml(
      compareRuns({ runId: 1, label: 'a', compiler: 'c', results: [base] }, { runId: 2, label: 'b', compiler: 'c', results: [cand] }),
    ),
  );
  assert.match(dom, /data-filter-applied/, 'the page script ran');
  assert.doesNotMatch(/<body[^>]*>/.exec(dom)![0], /data-pwned/, 'no script from the log ran');
  assert.doesNotMatch(dom, /<img|<b id="injected"/);
  assert.match(dom, /&lt;script&gt;document\.body\.setAttribute/);
});
