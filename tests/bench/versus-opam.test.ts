/**
 * The versus-opam bench section takes opam's figures once (minutes each) and reuses them: per opam
 * version, root, switch, command and number of runs, until `ECOCHECK_BENCH_OPAM_RETIME=1`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { opamFigure, type Run } from '../../bench/versus-opam.js';

test('opam figures are measured once and reused until asked again', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-bench-opam-'));
  const saved = process.env.ECOCHECK_BENCH_OPAM_RETIME;
  try {
    const root = join(dir, 'root');
    mkdirSync(root);
    writeFileSync(join(root, 'config'), '');
    delete process.env.ECOCHECK_BENCH_OPAM_RETIME;
    let runs = 0;
    // A stand-in for a measured opam command: each run counted, 2 s and 100 MiB, three lines of output.
    const measure = (): Run => {
      runs++;
      return { wallS: 2, peakMiB: 100, status: 0, stdout: 'a\nb\nc\n' };
    };
    const opam = { version: '2.1.2', root, switchName: 'sw' };

    const first = opamFigure(opam, ['list'], 2, measure);
    assert.deepEqual([first.reused, first.wallS, first.peakMiB, first.lines, runs], [false, 2, 100, 3, 2]);
    const again = opamFigure(opam, ['list'], 2, measure);
    assert.deepEqual(
      [again.reused, again.wallS, again.lines, again.measuredAt, runs],
      [true, 2, 3, first.measuredAt, 2],
      'reused: not run',
    );
    opamFigure({ ...opam, switchName: 'other' }, ['list'], 2, measure);
    opamFigure(opam, ['list'], 1, measure);
    opamFigure(opam, ['install'], 1, measure);
    opamFigure({ ...opam, version: '2.2.0' }, ['list'], 1, measure);
    assert.equal(runs, 2 + 2 + 1 + 1 + 1, 'another switch, number of runs, command or opam is another figure');
    process.env.ECOCHECK_BENCH_OPAM_RETIME = '1';
    assert.equal(opamFigure(opam, ['list'], 2, measure).reused, false);
    assert.equal(runs, 9, 'measured again when asked');
    assert.ok(existsSync(join(dir, 'timings.json')), 'recorded beside the root');
  } finally {
    if (saved === undefined) delete process.env.ECOCHECK_BENCH_OPAM_RETIME;
    else process.env.ECOCHECK_BENCH_OPAM_RETIME = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
