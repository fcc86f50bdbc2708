import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareRuns } from '../../src/compare/compare-runs.js';
import { parseRunSide, type RunSide } from '../support/run-side-json.js';
import { summariseRun } from '../../src/compare/run-summary.js';
import { shouldUseColour } from '../../src/report/terminal-colour.js';
import { renderComparisonTerminal, renderRunTerminal } from '../../src/report/terminal-report.js';
import { projectRoot } from '../support/snapshot.js';

function fixtureRun(file: string): RunSide {
  const path = join(projectRoot, 'fixtures', 'runs', file);
  return parseRunSide(JSON.parse(readFileSync(path, 'utf8')), path);
}

const ANSI = /\u001b\[[0-9;]*m/;

test('colour only on a TTY and never with NO_COLOR set (non-empty)', () => {
  assert.equal(shouldUseColour({ isTTY: true }, {}), true);
  assert.equal(shouldUseColour({ isTTY: false }, {}), false);
  assert.equal(shouldUseColour({}, {}), false);
  assert.equal(shouldUseColour({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(shouldUseColour({ isTTY: true }, { NO_COLOR: '' }), true);
});

test('terminal comparison: plain without colour, summary counts before root causes before clusters', () => {
  const cmp = compareRuns(fixtureRun('baseline-4.14.json'), fixtureRun('candidate-5.1.json'));
  const out = renderComparisonTerminal(cmp, { colour: false });
  assert.doesNotMatch(out, ANSI);
  const at = (re: RegExp) => {
    const m = re.exec(out);
    assert.ok(m, `missing ${re}`);
    return m.index;
  };
  assert.ok(at(/│ Regressed\s+│\s+21 │/) < at(/Root causes/));
  assert.ok(at(/Root causes/) < at(/│ extlib\s+│\s+12 │ Error: Unbound value Obj\.truncate/));
  assert.ok(at(/│ extlib\s+│\s+12 │/) < at(/│ camomile\s+│\s+3 │/));
  assert.ok(at(/Root causes/) < at(/Regressions by error/));
  assert.match(out, /│\s+11 │ Error: Unbound module Stream/);
  assert.match(out, /36 regressions \(21 own, 15 through a dependency\)\n$/);
  // Fits the requested width.
  for (const line of out.split('\n')) assert.ok(line.length <= 100, `too wide: ${line}`);
});

test('terminal comparison: with colour, regressions are red and the layout is unchanged', () => {
  const cmp = compareRuns(fixtureRun('baseline-4.14.json'), fixtureRun('candidate-5.1.json'));
  const coloured = renderComparisonTerminal(cmp, { colour: true });
  assert.match(coloured, ANSI);
  assert.match(coloured, /\u001b\[31mRegressed\u001b\[39m/);
  assert.equal(coloured.replace(/\u001b\[[0-9;]*m/g, ''), renderComparisonTerminal(cmp, { colour: false }));
});

test('terminal single run: status counts, roots and clusters', () => {
  const out = renderRunTerminal(summariseRun(fixtureRun('candidate-5.1.json')), { colour: false, width: 120 });
  assert.doesNotMatch(out, ANSI);
  assert.match(out, /│ build-failed\s+│\s+23 │/);
  assert.match(out, /│ extlib\.1\.7\.8\s+│\s+12 │/);
  assert.match(out, /│ git\.3\.16\.0\s+│\s+1 │ timeout: killed after 3600 s/);
  assert.match(out, /│\s+11 │ Error: Unbound module Stream/);
  assert.match(out, /39 failures \(23 own, 16 through a dependency\)\n$/);
});
