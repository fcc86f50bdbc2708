/** patches: each patch must be in the build directory (a link leading out of it is refused before patch runs). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPatches } from '../../src/builder/patches.js';
import type { ProcessResult } from '../../src/builder/process-runner.js';
import { makeHostVictim } from '../support/host-victim.js';

test('a patch linking out of the build directory is refused, one inside it is applied, a missing one named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-patches-test-'));
  try {
    const host = makeHostVictim(dir);
    const build = join(dir, 'build');
    mkdirSync(build);
    writeFileSync(join(build, 'real.patch'), '');
    symlinkSync('real.patch', join(build, 'inside.patch'));
    symlinkSync(host.secret, join(build, 'leak.patch'));
    const ran: string[][] = [];
    const run = async (argv: string[]): Promise<ProcessResult> => {
      ran.push(argv);
      return { exitCode: 0, signal: null, timedOut: false, aborted: false } as unknown as ProcessResult;
    };
    const lines: string[] = [];
    const failures = await applyPatches(['inside.patch', 'leak.patch', 'gone.patch'], build, run, (l) => lines.push(l));
    assert.deepEqual(
      ran.map((a) => a.at(-1)),
      ['inside.patch'],
    );
    assert.deepEqual(
      failures.map((f) => f.message),
      [`patch leak.patch: a symbolic link leading outside the build directory (to ${host.secret})`, 'patch gone.patch not found'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
