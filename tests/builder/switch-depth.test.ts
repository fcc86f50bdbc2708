/**
 * The deepest switch overlayfs stacks: MAX_LAYERS (500, the kernel's OVL_MAX_STACK) lower layers mount,
 * the bottom and the top layer both visible, with mount options far below the one-page limit of
 * mount(2)'s data (the layers are named by short numbered links); one layer more is refused before any
 * mount, with a message saying the limit. The deepest closure of the whole snapshot's plan is far below
 * (README "Scale without the sources").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_LAYERS, prepareSwitchMount, removeSwitchMount, switchMountSupport, SwitchMountError } from '../../src/builder/switch-mount.js';
import { removeTree } from '../../src/builder/layer-store.js';
import { skipWithout } from '../support/missing-setup.js';

const support = switchMountSupport();
const skip = skipWithout('switch-mount', support.ok ? false : support.message);

function layers(root: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const dir = join(root, `layer-${i}`);
    mkdirSync(dir);
    writeFileSync(join(dir, `f${i}`), `layer ${i}\n`);
    return dir;
  });
}

test(`a switch of ${MAX_LAYERS} layers mounts: every layer seen, options within a page`, { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), 'ecocheck-switch-depth-'));
  try {
    const all = layers(root, MAX_LAYERS);
    // A file in the bottom layer hidden by one in the top layer: the top wins.
    writeFileSync(join(all[0], 'shadowed'), 'bottom\n');
    writeFileSync(join(all[MAX_LAYERS - 1], 'shadowed'), 'top\n');
    const mount = prepareSwitchMount(join(root, 'scaffold'), all, join(root, 'incoming'));
    try {
      const options = mount.wrapperArgv[mount.wrapperArgv.length - 2];
      assert.match(options, /lowerdir=499:498:/);
      assert.ok(Buffer.byteLength(options) < 4096, `mount options of ${Buffer.byteLength(options)} bytes`);
      const r = spawnSync(
        mount.wrapperArgv[0],
        [
          ...mount.wrapperArgv.slice(1),
          '/bin/sh',
          '-c',
          'cat "$0"/f0 "$0"/f250 "$0"/f499 "$0"/shadowed; ls "$0" | wc -l',
          mount.mountPoint,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `layer 0\nlayer 250\nlayer 499\ntop\n${MAX_LAYERS + 1}\n`);
    } finally {
      removeSwitchMount(mount);
    }
  } finally {
    removeTree(root);
  }
});

test('one layer more than overlayfs stacks is refused before any mount, saying the limit', { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), 'ecocheck-switch-depth-'));
  try {
    const too = Array.from({ length: MAX_LAYERS + 1 }, (_, i) => join(root, `missing-${i}`));
    assert.throws(
      () => prepareSwitchMount(join(root, 'scaffold'), too, join(root, 'incoming')),
      (e: unknown) => e instanceof SwitchMountError && /stack 501 layers; overlayfs stacks at most 500/.test(e.message),
    );
  } finally {
    removeTree(root);
  }
});
