/**
 * A reader that stops early (`ecocheck installable … | head`) must not turn into a stack trace: the
 * closed pipe ends ecocheck quietly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot, snapshotRepo } from '../../support/snapshot.js';
import { skipWithoutSnapshot } from '../../support/missing-setup.js';

test('output into a pipe closed early: no stack trace, no error line', { skip: skipWithoutSnapshot() }, () => {
  const bin = join(projectRoot, 'bin', 'ecocheck');
  const r = spawnSync(
    'sh',
    ['-c', `"${process.execPath}" "${bin}" installable --repo "${snapshotRepo()}" --compiler 5.3.0 --all-versions | head -n 1`],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0);
  assert.equal(r.stdout.split('\n').filter(Boolean).length, 1);
  assert.equal(r.stderr, '');
});
