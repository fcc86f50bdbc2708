/**
 * One self-contained HTML file (inline CSS and JS, no external resource): counts, root causes, error
 * clusters, and a package table grouped by category with filter buttons, a search box and per-package
 * log excerpts. Everything from the runs is HTML-escaped; the script reads only the DOM.
 *
 * The page state is in the URL hash, applied on load: `#category=regressed`, `#q=stream`, or both
 * (`#category=regressed&q=stream`). Hidden rows and groups carry the `hidden` attribute.
 */
import type { Comparison, PackageComparison } from '../compare/comparison.js';
import type { RunSummary } from '../compare/run-summary.js';
import { resultFirstError, type ErrorCluster } from '../compare/error-clusters.js';
import { OWN_FAILURE_STATUSES, type PackageRunResult } from '../results/taxonomy.js';
import {
  CATEGORY_DESCRIPTIONS,
  CATEGORY_ORDER,
  CATEGORY_TITLES,
  CATEGORY_TONES,
  STATUS_ORDER,
  STATUS_TONES,
  type Tone,
} from './category-style.js';
import { escapeHtml as h } from './html-escape.js';

export interface HtmlOptions {
  /** Lines of each log excerpt (default 60, the end of the log tail). */
  logLines?: number;
}

/** A group of rows in the package table: one comparison category or one job status. */
interface RowGroup {
  id: string;
  title: string;
  description: string;
  tone: Tone;
  rows: Row[];
}

interface Row {
  key: string;
  cells: string[]; // already escaped HTML
  search: string;
  log: { title: string; text: string }[];
}

const STYLE = `
:root{--bad:#b3261e;--warn:#8a5a00;--good:#1e7a34;--new:#0b6a8a;--neutral:#555;--bg:#fff;--fg:#1b1b1b;--line:#ddd;--code:#f5f5f5}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:1em 1.5em;color:var(--fg);background:var(--bg)}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:1.4em 0 .5em;border-bottom:1px solid var(--line)}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.3em .5em;border-bottom:1px solid var(--line)}
td.n,th.n{text-align:right}table.counts{width:auto}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--code)}
code{padding:0 .2em;white-space:pre-wrap;word-break:break-word}pre{padding:.5em;overflow:auto;max-height:30em;white-space:pre-wrap}
.tone-bad{color:var(--bad)}.tone-warn{color:var(--warn)}.tone-good{color:var(--good)}.tone-new{color:var(--new)}.tone-neutral{color:var(--neutral)}
.tag{font-weight:600;white-space:nowrap}
#controls{position:sticky;top:0;background:var(--bg);padding:.5em 0;border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:.4em;align-items:center}
#controls button{font:inherit;padding:.2em .6em;border:1px solid var(--line);border-radius:1em;background:#fafafa;cursor:pointer}
#controls button[aria-pressed=true]{background:#1b1b1b;color:#fff;border-color:#1b1b1b}
#search{font:inherit;padding:.25em .5em;min-width:18em;margin-left:auto}
tbody.group>tr.group-head th{background:#f0f0f0;font-size:1.05em}
tr[hidden],tbody[hidden]{display:none}
details>summary{cursor:pointer;color:#444}
ul.deps{margin:.2em 0 .8em;columns:3 14em}
`;

const SCRIPT = `
(function () {
  var state = { category: 'all', q: '' };
  var buttons = Array.prototype.slice.call(document.querySelectorAll('#controls button[data-filter]'));
  var groups = Array.prototype.slice.call(document.querySelectorAll('#packages tbody.group'));
  var search = document.getElementById('search');
  var shown = document.getElementById('shown');
  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ''));
    var category = params.get('category');
    state.category = category && buttons.some(function (b) { return b.dataset.filter === category; }) ? category : 'all';
    state.q = (params.get('q') || '').toLowerCase();
    search.value = params.get('q') || '';
  }
  function writeHash() {
    var params = new URLSearchParams();
    if (state.category !== 'all') params.set('category', state.category);
    if (state.q) params.set('q', state.q);
    var hash = params.toString();
    history.replaceState(null, '', hash ? '#' + hash : location.pathname + location.search);
  }
  function apply() {
    var visible = 0;
    groups.forEach(function (g) {
      var groupShown = state.category === 'all' || g.dataset.category === state.category;
      var rowsShown = 0;
      Array.prototype.forEach.call(g.querySelectorAll('tr.pkg'), function (row) {
        var match = groupShown && (!state.q || row.dataset.search.indexOf(state.q) >= 0);
        row.hidden = !match;
        if (match) rowsShown++;
      });
      g.hidden = rowsShown === 0;
      visible += rowsShown;
    });
    buttons.forEach(function (b) { b.setAttribute('aria-pressed', String(b.dataset.filter === state.category)); });
    shown.textContent = visible + ' shown';
    document.body.setAttribute('data-filter-applied', state.category + '|' + state.q);
  }
  buttons.forEach(function (b) {
    b.addEventListener('click', function () { state.category = b.dataset.filter; writeHash(); apply(); });
  });
  search.addEventListener('input', function () { state.q = search.value.trim().toLowerCase(); writeHash(); apply(); });
  window.addEventListener('hashchange', function () { readHash(); apply(); });
  readHash();
  apply();
})();
`;

function toneSpan(tone: Tone, text: string): string {
  return `<span class="tag tone-${tone}">${h(text)}</span>`;
}

function codeOrEmpty(s: string): string {
  return s === '' ? '' : `<code>${h(s)}</code>`;
}

/** The end of the log tail: at most `lines` lines and 8000 characters, so a page of thousands stays light. */
function logExcerpt(r: PackageRunResult, lines: number): string {
  const all = r.logTail.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
  const text = all.slice(-lines).join('\n');
  return text.length <= 8000 ? text : `…${text.slice(-7999)}`;
}

function logDetails(log: { title: string; text: string }[]): string {
  return log
    .filter((l) => l.text.trim() !== '')
    .map((l) => `<details class="log"><summary>${h(l.title)}</summary><pre>${h(l.text)}</pre></details>`)
    .join('');
}

function clustersHtml(clusters: ErrorCluster[], title: string): string {
  if (clusters.length === 0) return '';
  const rows = clusters
    .map(
      (c) =>
        `<tr><td class="n">${c.packages.length}</td><td><code>${h(c.signature)}</code></td><td>${c.packages.map((p) => `<a href="#q=${encodeURIComponent(p)}">${h(p)}</a>`).join(', ')}</td></tr>`,
    )
    .join('\n');
  return `<section id="clusters"><h2>${h(title)}</h2><table><thead><tr><th class="n">Packages</th><th>Error</th><th>Which</th></tr></thead><tbody>\n${rows}\n</tbody></table></section>`;
}

function page(title: string, intro: string, summary: string, sections: string[], groups: RowGroup[], head: string[]): string {
  const total = groups.reduce((n, g) => n + g.rows.length, 0);
  const buttons = [`<button type="button" data-filter="all" aria-pressed="true">all (${total})</button>`]
    .concat(
      groups
        .filter((g) => g.rows.length > 0)
        .map(
          (g) =>
            `<button type="button" data-filter="${h(g.id)}" class="tone-${g.tone}" aria-pressed="false">${h(g.title)} (${g.rows.length})</button>`,
        ),
    )
    .join('\n');
  const bodies = groups
    .filter((g) => g.rows.length > 0)
    .map((g) => {
      const rows = g.rows
        .map(
          (r) =>
            `<tr class="pkg" id="pkg-${h(r.key)}" data-key="${h(r.key)}" data-search="${h(r.search.toLowerCase())}">${r.cells.map((c, i) => (i === r.cells.length - 1 ? `<td>${c}${logDetails(r.log)}</td>` : `<td>${c}</td>`)).join('')}</tr>`,
        )
        .join('\n');
      return `<tbody class="group" id="group-${h(g.id)}" data-category="${h(g.id)}">\n<tr class="group-head"><th colspan="${head.length}">${toneSpan(g.tone, g.title)} (${g.rows.length}) <small>${h(g.description)}</small></th></tr>\n${rows}\n</tbody>`;
    })
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${h(title)}</h1><p>${intro}</p></header>
<section id="summary"><h2>Summary</h2>${summary}</section>
${sections.filter((s) => s !== '').join('\n')}
<section id="packages"><h2>Packages</h2>
<div id="controls">
${buttons}
<input id="search" type="search" placeholder="Search names and errors" aria-label="Search packages and errors">
<span id="shown"></span>
</div>
<table id="package-table">
<thead><tr>${head.map((x) => `<th>${h(x)}</th>`).join('')}</tr></thead>
${bodies}
</table>
</section>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function sideCell(r: PackageRunResult | null): string {
  if (r === null) return '<span class="tone-neutral">absent</span>';
  return `${toneSpan(STATUS_TONES[r.status], r.status)} <small>${h(r.version)}</small>`;
}

export function renderComparisonHtml(c: Comparison, options: HtmlOptions = {}): string {
  const logLines = options.logLines ?? 60;
  const title = `ecocheck: ${c.candidate.label} compared with ${c.baseline.label}`;
  const intro =
    `Candidate <code>${h(c.candidate.compiler)}</code> (run ${h(String(c.candidate.runId))}) against baseline ` +
    `<code>${h(c.baseline.compiler)}</code> (run ${h(String(c.baseline.runId))}): ${c.packages.length} packages.`;
  const countRows = CATEGORY_ORDER.map(
    (cat) =>
      `<tr data-category="${cat}"><td>${toneSpan(CATEGORY_TONES[cat], CATEGORY_TITLES[cat])}</td><td class="n">${c.counts[cat]}</td><td>${h(CATEGORY_DESCRIPTIONS[cat])}</td></tr>`,
  ).join('\n');
  const summary = `<table class="counts"><thead><tr><th>Category</th><th class="n">Packages</th><th>Meaning</th></tr></thead><tbody>\n${countRows}\n<tr><th>Total</th><th class="n">${c.packages.length}</th><th></th></tr></tbody></table>`;

  const roots = c.rootCauses.filter((rc) => rc.dependents.length > 0);
  const rootsHtml =
    roots.length === 0
      ? ''
      : `<section id="root-causes"><h2>Root causes</h2>\n${roots
          .map((rc) => {
            const state = rc.category === null ? 'not checked in these runs' : CATEGORY_TITLES[rc.category].toLowerCase();
            return `<div class="root" data-root="${h(rc.key)}"><p><a href="#q=${encodeURIComponent(rc.key)}"><b>${h(rc.key)}</b></a> ${h(state)}; <b>${rc.dependents.length}</b> package${rc.dependents.length === 1 ? ' fails' : 's fail'} because of it ${codeOrEmpty(rc.firstError)}</p><ul class="deps">${rc.dependents.map((d) => `<li>${h(d)}</li>`).join('')}</ul></div>`;
          })
          .join('\n')}\n</section>`;

  const dependents = new Map(c.rootCauses.map((rc) => [rc.key, rc.dependents.length]));
  const groups: RowGroup[] = CATEGORY_ORDER.map((cat) => ({
    id: cat,
    title: CATEGORY_TITLES[cat],
    description: CATEGORY_DESCRIPTIONS[cat],
    tone: CATEGORY_TONES[cat],
    rows: c.packages
      .filter((e) => e.category === cat)
      .map((e: PackageComparison): Row => {
        const log: Row['log'] = [];
        if (e.candidate !== null && e.candidate.logTail.trim() !== '' && e.candidate.status !== 'ok')
          log.push({ title: `candidate log (${e.candidate.status})`, text: logExcerpt(e.candidate, logLines) });
        if (e.baseline !== null && e.baseline.logTail.trim() !== '' && e.baseline.status !== 'ok')
          log.push({ title: `baseline log (${e.baseline.status})`, text: logExcerpt(e.baseline, logLines) });
        return {
          key: e.key,
          cells: [
            `<b>${h(e.key)}</b>`,
            toneSpan(CATEGORY_TONES[e.category], e.category),
            sideCell(e.baseline),
            sideCell(e.candidate),
            e.rootCause !== null
              ? `<a class="root-cause" href="#q=${encodeURIComponent(e.rootCause)}">${h(e.rootCause)}</a>`
              : (dependents.get(e.key) ?? 0) > 0
                ? `<a class="root-of" href="#q=${encodeURIComponent(e.key)}">root of ${dependents.get(e.key)}</a>`
                : '',
            `${codeOrEmpty(e.detail)}${e.note !== null ? ` <i>${h(e.note)}</i>` : ''}`,
          ],
          search: [e.key, e.name, e.category, e.rootCause ?? '', e.detail, e.note ?? ''].join(' '),
          log,
        };
      }),
  }));
  return page(title, intro, summary, [rootsHtml, clustersHtml(c.regressionClusters, 'Regressions by error')], groups, [
    'Package',
    'Category',
    `Baseline (${c.baseline.label})`,
    `Candidate (${c.candidate.label})`,
    'Root cause',
    'First error / detail',
  ]);
}

export function renderRunHtml(s: RunSummary, options: HtmlOptions = {}): string {
  const logLines = options.logLines ?? 60;
  const title = `ecocheck: run ${s.run.runId} (${s.run.label})`;
  const intro = `${s.results.length} packages checked with <code>${h(s.run.compiler)}</code>.`;
  const countRows = STATUS_ORDER.map(
    (st) => `<tr data-category="${st}"><td>${toneSpan(STATUS_TONES[st], st)}</td><td class="n">${s.counts[st]}</td></tr>`,
  ).join('\n');
  const summary = `<table class="counts"><thead><tr><th>Status</th><th class="n">Packages</th></tr></thead><tbody>\n${countRows}\n<tr><th>Total</th><th class="n">${s.results.length}</th></tr></tbody></table>`;
  const rootsHtml =
    s.rootCauses.length === 0
      ? ''
      : `<section id="root-causes"><h2>Root causes of dependency failures</h2>\n${s.rootCauses
          .map(
            (rc) =>
              `<div class="root" data-root="${h(rc.id)}"><p><a href="#q=${encodeURIComponent(rc.id)}"><b>${h(rc.id)}</b></a> ${h(rc.status ?? 'not checked in this run')}; <b>${rc.dependents.length}</b> package${rc.dependents.length === 1 ? ' fails' : 's fail'} because of it ${codeOrEmpty(rc.firstError)}</p><ul class="deps">${rc.dependents.map((d) => `<li>${h(d)}</li>`).join('')}</ul></div>`,
          )
          .join('\n')}\n</section>`;
  const groups: RowGroup[] = STATUS_ORDER.map((st) => ({
    id: st,
    title: st,
    description: '',
    tone: STATUS_TONES[st],
    rows: s.results
      .filter((r) => r.status === st)
      .map((r): Row => {
        const detail = OWN_FAILURE_STATUSES.has(r.status) ? resultFirstError(r) : r.status === 'ok' ? '' : r.reason;
        return {
          key: r.id,
          cells: [
            `<b>${h(r.id)}</b>`,
            toneSpan(STATUS_TONES[r.status], r.status),
            r.rootCause !== null ? `<a class="root-cause" href="#q=${encodeURIComponent(r.rootCause)}">${h(r.rootCause)}</a>` : '',
            codeOrEmpty(detail),
          ],
          search: [r.id, r.status, r.rootCause ?? '', detail].join(' '),
          log: r.status !== 'ok' ? [{ title: 'log', text: logExcerpt(r, logLines) }] : [],
        };
      }),
  }));
  return page(title, intro, summary, [rootsHtml, clustersHtml(s.clusters, 'Failures by error')], groups, [
    'Package',
    'Status',
    'Root cause',
    'First error / reason',
  ]);
}
