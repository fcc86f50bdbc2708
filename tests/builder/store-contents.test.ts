/**
 * What the store holds, read without following links: complete layers (with their record), the empty
 * switch, leftovers (a layer without its record, a record without its layer, a temporary name), the
 * working folders; space as st_blocks, a hard-linked file once in the whole store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStoreContents, treeDiskUsage } from '../../src/builder/store-contents.js';
import { discardLayer, removeStoreLeftover } from '../../src/builder/layer-store.js';

test('store contents: layers, base, leftovers, work; hard links once; links never followed', () => {
  const store = mkdtempSync(join(tmpdir(), 'ecocheck-store-contents-'));
  const outside = mkdtempSync(join(tmpdir(), 'ecocheck-store-outside-'));
  try {
    writeFileSync(join(outside, 'big'), Buffer.alloc(1024 * 1024, 1));
    const layer = (key: string, record = true) => {
      mkdirSync(join(store, key, 'lib'), { recursive: true });
      if (record) writeFileSync(join(store, `${key}.done`), '{}\n');
    };
    layer('aaa');
    layer('bbb');
    layer('empty-switch-2-1001-1001');
    layer('half', false);
    writeFileSync(join(store, 'gone.done'), '{}\n');
    mkdirSync(join(store, 'ccc.tmp-42'));
    mkdirSync(join(store, '.incoming', '99-x'), { recursive: true });
    writeFileSync(join(store, 'aaa', 'lib', 'file'), Buffer.alloc(64 * 1024, 2));
    linkSync(join(store, 'aaa', 'lib', 'file'), join(store, 'bbb', 'lib', 'file'));
    symlinkSync(outside, join(store, 'bbb', 'lib', 'escape'));
    const c = readStoreContents(store);
    assert.deepEqual(
      c.layers.map((l) => l.name),
      ['aaa', 'bbb'],
    );
    assert.deepEqual(
      c.base.map((l) => l.name),
      ['empty-switch-2-1001-1001'],
    );
    assert.deepEqual(c.leftovers.map((l) => l.name).sort(), ['ccc.tmp-42', 'gone.done', 'half']);
    assert.deepEqual(
      c.work.map((l) => l.name),
      ['.incoming'],
    );
    const file = lstatSync(join(store, 'aaa', 'lib', 'file')).blocks * 512;
    const [a, b] = c.layers;
    // The shared file is counted with the first layer only; the link to 1 MiB outside is a link's size.
    assert.ok(a.bytes >= file && b.bytes < file, `${a.bytes} ${b.bytes} ${file}`);
    assert.ok(b.bytes < 1024 * 1024);
    assert.equal(
      c.totalBytes,
      [...c.layers, ...c.base, ...c.leftovers, ...c.work].reduce((n, e) => n + e.bytes, 0),
    );
    assert.equal(treeDiskUsage(join(store, 'nope')).bytes, 0);
    // Removal: a layer's record first, then its tree; a leftover by name, never a path.
    discardLayer(store, 'aaa');
    removeStoreLeftover(store, 'half');
    assert.throws(() => removeStoreLeftover(store, '../x'));
    const after = readStoreContents(store);
    assert.deepEqual(
      after.layers.map((l) => l.name),
      ['bbb'],
    );
    assert.deepEqual(after.leftovers.map((l) => l.name).sort(), ['ccc.tmp-42', 'gone.done']);
    assert.equal(lstatSync(join(outside, 'big')).size, 1024 * 1024);
  } finally {
    rmSync(store, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});
