/** pruneUpper: the switch's scratch folders leave the job's upper directory; a link the build put on the way is removed itself, never followed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pruneUpper } from '../../src/builder/switch-mount.js';
import { makeHostVictim } from '../support/host-victim.js';

test('the scratch folders are removed; a .opam-switch link to a host folder is removed, the folder kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-prune-test-'));
  try {
    const host = makeHostVictim(dir);
    mkdirSync(join(host.victimDir, 'build', 'x'), { recursive: true });
    mkdirSync(join(host.victimDir, 'sources'));
    const before = host.snapshot();
    const upper = join(dir, 'upper');
    mkdirSync(join(upper, '.opam-switch', 'build', 'p.1'), { recursive: true });
    mkdirSync(join(upper, '.opam-switch', 'config'), { recursive: true });
    writeFileSync(join(upper, '.opam-switch', 'config', 'p.config'), 'variables {}\n');
    symlinkSync(host.victimDir, join(upper, '.opam-switch', 'sources'));
    pruneUpper(upper);
    assert.ok(!existsSync(join(upper, '.opam-switch', 'build')));
    assert.ok(!existsSync(join(upper, '.opam-switch', 'sources')));
    assert.ok(existsSync(join(upper, '.opam-switch', 'config', 'p.config')));
    const hostile = join(dir, 'hostile-upper');
    mkdirSync(hostile);
    symlinkSync(host.victimDir, join(hostile, '.opam-switch'));
    pruneUpper(hostile);
    assert.ok(!existsSync(join(hostile, '.opam-switch')));
    assert.deepEqual(host.snapshot(), before, 'the host folder is untouched');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with a trash folder, the scratch folders are moved there (removed later), a link on the way still removed itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-prune-test-'));
  try {
    const host = makeHostVictim(dir);
    const before = host.snapshot();
    const incoming = join(dir, 'incoming');
    const upper = join(incoming, 'upper');
    mkdirSync(join(upper, '.opam-switch', 'build', 'p.1'), { recursive: true });
    writeFileSync(join(upper, '.opam-switch', 'build', 'p.1', 'a.ml'), 'let x = 1\n');
    mkdirSync(join(upper, '.opam-switch', 'backup'));
    symlinkSync(host.victimDir, join(upper, '.opam-switch', 'sources'));
    mkdirSync(join(upper, 'lib'));
    pruneUpper(upper, incoming);
    assert.deepEqual(readdirSync(join(upper, '.opam-switch')), []);
    assert.deepEqual(readdirSync(incoming).sort(), ['pruned-0', 'pruned-1', 'pruned-2', 'upper']);
    assert.ok(existsSync(join(incoming, 'pruned-0', 'p.1', 'a.ml')), 'the build folder moved whole');
    assert.ok(lstatSync(join(incoming, 'pruned-1')).isSymbolicLink(), 'the link moved as a link');
    assert.deepEqual(host.snapshot(), before, 'the host folder is untouched');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
