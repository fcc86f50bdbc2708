/**
 * The skip helper: a missing need skips outside CI, fails in CI (CI=true) unless CI may lack it, and
 * the failure is a test of its own in the file that made the check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decideSkip, NEEDS } from './missing-setup.js';
import { projectRoot } from './snapshot.js';

test('a need that is met runs, in CI or not', () => {
  assert.deepEqual(decideSkip('chromium', false, {}), { run: true });
  assert.deepEqual(decideSkip('chromium', false, { CI: 'true' }), { run: true });
});

test('outside CI a missing need skips with its reason', () => {
  assert.deepEqual(decideSkip('chromium', 'no chromium', {}), { run: false, skip: 'no chromium', fail: null });
  assert.deepEqual(decideSkip('chromium', 'no chromium', { CI: 'false' }), { run: false, skip: 'no chromium', fail: null });
});

test('in CI a missing setup step fails, naming the need and the reason', () => {
  for (const need of [
    'bubblewrap',
    'system-ocaml',
    'opam',
    'chromium',
    'root',
    'mount',
    'switch-mount',
    'apt',
    'debian-sources',
  ] as const) {
    const d = decideSkip(need, `no ${need} here`, { CI: 'true' });
    assert.equal(d.run, false);
    assert.ok(!d.run && d.fail !== null && d.fail.includes(need) && d.fail.includes(`no ${need} here`), JSON.stringify(d));
  }
});

test('in CI what CI may lack still skips, saying why it may', () => {
  for (const need of ['corpus-state', 'unprivileged-run', 'process-limit', 'depext-not-installed'] as const) {
    const d = decideSkip(need, 'absent', { CI: 'true' });
    assert.ok(!d.run && d.fail === null && d.skip.startsWith('absent (CI may lack this: '), JSON.stringify(d));
  }
  // The snapshot: only a clone with no ../shared beside it may lack it; a snapshot named by ECOCHECK_SNAPSHOT must be there.
  const named = decideSkip('snapshot', 'no snapshot', { CI: 'true', ECOCHECK_SNAPSHOT: '/nowhere.tar.gz' });
  assert.ok(!named.run && named.fail !== null, 'a snapshot named but missing is a failure');
  // Named nowhere, it is excused exactly when no ../shared is beside the checkout.
  assert.equal(decideSkip('snapshot', 'no snapshot', { CI: 'true' }).run, false);
  assert.equal(NEEDS.snapshot({}) === false, existsSync(join(projectRoot, '..', 'shared')));
});

/** Runs a test file using the helper with `need` missing; its exit code and TAP output. */
function runFileWith(need: string, env: NodeJS.ProcessEnv): { code: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-missing-setup-'));
  try {
    const helper = pathToFileURL(join(import.meta.dirname, 'missing-setup.js')).href;
    const file = join(dir, 'uses-helper.test.mjs');
    writeFileSync(
      file,
      `import { test } from 'node:test';\nimport { skipWithout } from ${JSON.stringify(helper)};\n` +
        `const skip = skipWithout(${JSON.stringify(need)}, 'it is not on this machine');\n` +
        `test('one', { skip }, () => {});\ntest('two', { skip: skipWithout(${JSON.stringify(need)}, 'it is not on this machine') }, () => {});\n`,
    );
    // A test runner of its own: without NODE_TEST_CONTEXT, which would make it report to this one.
    const { NODE_TEST_CONTEXT: _parent, ...outer } = process.env;
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], { encoding: 'utf8', env: { ...outer, ...env } });
    return { code: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a test file: skipped outside CI; in CI one failing test per missing setup step, the tests that need it skipped', () => {
  const outside = runFileWith('chromium', { CI: '' });
  assert.equal(outside.code, 0, outside.out);
  assert.match(outside.out, /^# skipped 2$/m);
  assert.match(outside.out, /^# fail 0$/m);

  const ci = runFileWith('chromium', { CI: 'true' });
  assert.equal(ci.code, 1, ci.out);
  assert.match(ci.out, /^# fail 1$/m, 'one failure for the two checks of the same need');
  assert.match(ci.out, /^# skipped 2$/m);
  assert.match(ci.out, /not ok \d+ - setup: chromium/);
  assert.match(ci.out, /CI=true and chromium is missing, a setup step \.ci\/run forgot: it is not on this machine/);

  const excused = runFileWith('corpus-state', { CI: 'true' });
  assert.equal(excused.code, 0, excused.out);
  assert.match(excused.out, /^# skipped 2$/m);
  assert.match(excused.out, /CI may lack this/);
});
