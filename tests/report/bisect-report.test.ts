/** The bisect report (src/report/bisect-report.ts) in its three formats, and its exit code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bisectExitCode, renderBisectReport } from '../../src/report/bisect-report.js';
import type { BisectSummary } from '../../src/compare/bisect-summary.js';

const sha = (c: string) => c.repeat(40);

function summary(): BisectSummary {
  return {
    tree: '/src/ocaml',
    good: { sha: sha('a'), subject: 'Release' },
    bad: { sha: sha('f'), subject: 'Tip' },
    commitCount: 5,
    packages: ['lwt', 'fmt', 'astring', 'zarith'],
    findings: [
      {
        package: 'lwt',
        outcome: 'first-bad',
        firstBad: { sha: sha('c'), subject: 'Remove `Stream` | <b>' },
        confirmed: true,
        candidates: [],
        status: 'build-failed',
        firstError: 'Error: Unbound module Stream',
        reason: '',
        rootCause: null,
        runId: 7,
      },
      {
        package: 'fmt',
        outcome: 'first-bad',
        firstBad: { sha: sha('c'), subject: 'Remove `Stream` | <b>' },
        confirmed: true,
        candidates: [],
        status: 'dependency-failed',
        firstError: null,
        reason: 'dependency lwt.5.7.0 failed',
        rootCause: 'lwt.5.7.0',
        runId: 7,
      },
      {
        package: 'astring',
        outcome: 'candidates',
        firstBad: null,
        confirmed: false,
        candidates: [
          { sha: sha('d'), subject: 'WIP' },
          { sha: sha('e'), subject: 'Typing change' },
        ],
        status: 'build-failed',
        firstError: 'Error: This expression has type int',
        reason: '',
        rootCause: null,
        runId: 9,
      },
      {
        package: 'zarith',
        outcome: 'never-bad',
        firstBad: null,
        confirmed: false,
        candidates: [],
        status: null,
        firstError: null,
        reason: '',
        rootCause: null,
        runId: null,
      },
    ],
    steps: [
      {
        commit: { sha: sha('c'), subject: 'Remove `Stream` | <b>' },
        index: 2,
        attempt: 1,
        runId: 7,
        verdicts: { lwt: 'bad', fmt: 'bad', astring: 'good', zarith: 'good' },
        built: 4,
        cacheHits: 1,
        wallMs: 300_000,
      },
      {
        commit: { sha: sha('d'), subject: 'WIP' },
        index: 3,
        attempt: 2,
        runId: 8,
        verdicts: { astring: 'spurious' },
        built: 1,
        cacheHits: 0,
        wallMs: 5_000,
      },
    ],
    compilerBuilds: 2,
    log2Bound: 3,
    interrupted: false,
    wallMs: 305_000,
  };
}

test('terminal: packages with the same answer grouped, the first error of each, the steps', () => {
  const text = renderBisectReport(summary(), 'terminal');
  assert.match(text, /^lwt, fmt: first bad commit cccccccccccc "Remove `Stream` \| <b>"$/m);
  assert.match(text, /^ {2}lwt: build-failed: Error: Unbound module Stream \(run #7, ecocheck log lwt --run 7\)$/m);
  assert.match(text, /^ {2}fmt: dependency-failed \(root cause lwt\.5\.7\.0\): dependency lwt\.5\.7\.0 failed/m);
  assert.match(text, /^astring: first bad commit is one of 2 \(skipped commits leave it open\): dddddddddddd eeeeeeeeeeee$/m);
  assert.match(text, /^zarith: not broken in the range: good at the bad end ffffffffffff$/m);
  assert.match(text, /^steps: 2 run\(s\), 2 compiler build\(s\) \(⌈log2\(5\)⌉ = 3\), 305 s$/m);
  assert.match(text, /^ {2}2\. dddddddddddd WIP \(attempt 2\): astring spurious — run #8/m);
  assert.doesNotMatch(text, /\u001b\[/, 'no colour unless asked');
  assert.match(renderBisectReport(summary(), 'terminal', { colour: true }), /\u001b\[31mlwt, fmt\u001b\[39m/);
});

test('markdown: subjects escaped, the error as code, the steps folded', () => {
  const md = renderBisectReport(summary(), 'markdown');
  assert.equal(md.split('\n')[0], '<!-- ecocheck-bisect -->');
  assert.match(md, /^- `lwt`, `fmt`: first bad commit `cccccccccccc` Remove \\`Stream\\` \\\| &lt;b&gt;$/m);
  assert.match(md, /^ {2}- `lwt`: `build-failed: Error: Unbound module Stream`$/m);
  assert.match(md, /^- `zarith`: not broken in the range$/m);
  assert.match(md, /<details>\n<summary>2 step\(s\)<\/summary>/);
  assert.doesNotMatch(md, /<b>/);
});

test('json: the schema id and every finding; the exit code says whether something broke', () => {
  const json = JSON.parse(renderBisectReport(summary(), 'json')) as { schema: string; findings: { package: string }[]; steps: unknown[] };
  assert.equal(json.schema, 'ecocheck.bisect/1');
  assert.deepEqual(
    json.findings.map((f) => f.package),
    ['lwt', 'fmt', 'astring', 'zarith'],
  );
  assert.equal(json.steps.length, 2);
  assert.equal(bisectExitCode(summary()), 1);
  const fine = summary();
  fine.findings = fine.findings.filter((f) => f.outcome === 'never-bad');
  assert.equal(bisectExitCode(fine), 0);
});
