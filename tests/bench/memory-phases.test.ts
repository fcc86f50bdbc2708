/**
 * The synthetic bench's memory guard: the sampler preloaded into the measured process gives each phase
 * of a check (plan, builds, report) its own peak, and a figure over its target is kept as missed (what
 * `--strict` fails the bench on).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryPhasesArgs, PHASES, phasePeaks } from '../../bench/memory-phases.js';
import { missedFigures, reportFigure } from '../../bench/report-figure.js';

test('each phase of a check gets its own peak resident memory, sampled while the main thread is busy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-bench-memory-'));
  try {
    // A stand-in for ecocheck: 200 MiB touched after the line that ends the plan, while the main thread
    // never yields (as a solve does), and freed before the line that ends the builds: the end's own sample
    // does not see them all, a sample taken during the phase does.
    const script = join(dir, 'stand-in.mjs');
    writeFileSync(
      script,
      [
        "import { setFlagsFromString } from 'node:v8';",
        "import { runInNewContext } from 'node:vm';",
        "setFlagsFromString('--expose-gc');",
        "const gc = runInNewContext('gc');",
        "process.stderr.write('ecocheck: run #1 (baseline, compiler x): 1 targets, 1 jobs\\n');",
        'let big = Buffer.alloc(200 * 2 ** 20, 1);',
        'const until = Date.now() + 400;',
        'while (Date.now() < until) big[Math.floor(Math.random() * big.length)] ^= 1;',
        'big = null;',
        'gc();',
        "process.stderr.write('jobs: 1 built, 0 cached, 1s\\n');",
      ].join('\n'),
    );
    const file = join(dir, 'phases.json');
    const run = memoryPhasesArgs(script, file);
    const r = spawnSync(process.execPath, run.argv, { env: run.env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const peaks = phasePeaks(readFileSync(file, 'utf8'));
    assert.deepEqual(
      peaks.map((p) => p.phase),
      PHASES.map((p) => p.name),
    );
    const [plan, builds] = peaks;
    assert.ok(builds.peakMiB >= plan.peakMiB + 150, `the 200 MiB are the builds' (${JSON.stringify(peaks)})`);
    assert.ok(plan.peakMiB > 0 && plan.peakMiB < 150, `the plan's peak is the process before them (${JSON.stringify(peaks)})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a figure over its target is kept as missed, one within it is not', () => {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    const before = missedFigures.length;
    reportFigure('peak memory (test)', 1100, 'MiB', 1024);
    reportFigure('peak memory within (test)', 900, 'MiB', 1024);
    reportFigure('no target (test)', 5000, 'MiB');
    assert.deepEqual(missedFigures.slice(before), ['peak memory (test): 1100 MiB (target < 1024 MiB)']);
  } finally {
    process.stdout.write = write;
  }
});
