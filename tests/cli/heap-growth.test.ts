/**
 * The whole-plan verbs bound V8's heap growth (src/cli/heap-growth.ts): the verbs that get it, and, in a
 * child process, that V8 still honours the flag set at run time (an unknown flag would be ignored
 * without a word, and a whole-repository check would again peak at several times what it keeps alive).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { projectRoot } from '../support/snapshot.js';
import { HEAP_GROWING_PERCENT, heapGrowthFor } from '../../src/cli/heap-growth.js';

test('check, rerun, plan, bisect and status bound the heap growth; the one-package verbs keep V8 default', () => {
  for (const verb of ['check', 'rerun', 'plan', 'bisect', 'status'])
    assert.equal(heapGrowthFor(['node', 'ecocheck', verb]), HEAP_GROWING_PERCENT);
  for (const verb of ['solve', 'installable', 'report', 'runs', '--help'])
    assert.equal(heapGrowthFor(['node', 'ecocheck', verb]), null, verb);
  assert.equal(heapGrowthFor(['node', 'ecocheck']), null);
});

/** The heap's largest size over what survives, in a child that keeps 400,000 objects and churns through garbage. */
function heapOverLive(bounded: boolean): number {
  const module = pathToFileURL(join(projectRoot, 'dist', 'src', 'cli', 'heap-growth.js')).href;
  const script = `
    import { setFlagsFromString } from 'node:v8';
    import { runInNewContext } from 'node:vm';
    import { boundHeapGrowth } from ${JSON.stringify(module)};
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc');
    if (${bounded}) boundHeapGrowth(['node', 'ecocheck', 'check']);
    const live = [];
    for (let i = 0; i < 400_000; i++) live.push({ a: i, b: [i, i + 1] });
    let max = 0;
    let junk = [];
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 100_000; i++) junk.push({ x: i, y: [i] });
      if (junk.length > 200_000) junk = [];
      max = Math.max(max, process.memoryUsage().heapTotal);
    }
    junk = null;
    gc();
    process.stdout.write(String(max / process.memoryUsage().heapUsed) + ' ' + live.length);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.split(' ')[0]);
}

test('V8 honours the bound set at run time: the heap stays within a few times what survives', () => {
  // Measured: about 3.7 bounded, about 8 with V8's default growth (the junk alive at a collection counts too).
  const bounded = heapOverLive(true);
  assert.ok(bounded < 5, `bounded: the heap grew to ${bounded.toFixed(2)}x what survives`);
});
