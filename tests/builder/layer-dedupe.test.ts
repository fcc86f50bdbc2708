/** Files identical across layers are stored once (hard links to the store's objects), and unshared objects are swept. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dedupeLayer, DEDUPE_MIN_BYTES, OBJECTS_DIR, sweepUnsharedObjects } from '../../src/builder/layer-dedupe.js';
import { readStoreContents } from '../../src/builder/store-contents.js';

const big = (c: string) => c.repeat(DEDUPE_MIN_BYTES * 4);

function layer(store: string, key: string, files: Record<string, string>, modes: Record<string, number> = {}): string {
  const dir = join(store, key);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
    if (modes[rel] !== undefined) chmodSync(join(dir, rel), modes[rel]);
  }
  writeFileSync(`${dir}.done`, '{}\n');
  return dir;
}

test('a file another layer already stored becomes a link to it; different content, mode or small files stay apart', () => {
  const store = mkdtempSync(join(tmpdir(), 'ecocheck-dedupe-'));
  try {
    const a = layer(store, 'a', { 'lib/p/p.ml': big('x'), 'lib/p/META': 'small', 'bin/tool': big('t') }, { 'bin/tool': 0o755 });
    const first = dedupeLayer(store, a);
    assert.deepEqual(first, { files: 3, linked: 0, bytesSaved: 0 });
    const b = layer(
      store,
      'b',
      { 'lib/p/p.ml': big('x'), 'lib/p/META': 'small', 'lib/p/other.ml': big('y'), 'bin/tool': big('t') },
      { 'bin/tool': 0o644 },
    );
    symlinkSync('p.ml', join(b, 'lib/p/alias.ml'));
    const second = dedupeLayer(store, b);
    assert.equal(second.files, 4);
    assert.equal(second.linked, 1, 'only p.ml: META is small, other.ml differs, bin/tool has another mode');
    assert.ok(second.bytesSaved >= DEDUPE_MIN_BYTES * 4);
    assert.equal(lstatSync(join(a, 'lib/p/p.ml')).ino, lstatSync(join(b, 'lib/p/p.ml')).ino);
    assert.notEqual(lstatSync(join(a, 'bin/tool')).ino, lstatSync(join(b, 'bin/tool')).ino);
    assert.equal(lstatSync(join(b, 'bin/tool')).mode & 0o777, 0o644);
    assert.equal(readFileSync(join(b, 'lib/p/p.ml'), 'utf8'), big('x'));
    assert.ok(lstatSync(join(b, 'lib/p/alias.ml')).isSymbolicLink(), 'a link is left as it is');
    assert.deepEqual(
      readdirSync(b, { recursive: true }).filter((n) => String(n).includes('.dedupe-')),
      [],
      'no temporary name left',
    );
    // Again on the same layer: nothing more to do.
    assert.equal(dedupeLayer(store, b).linked, 0);
    // The store counts a shared file once, with a layer (not with the objects).
    const contents = readStoreContents(store);
    const objects = contents.work.find((w) => w.name === OBJECTS_DIR)!;
    assert.equal(objects.bytes, lstatSync(join(store, OBJECTS_DIR)).blocks * 512, 'only the folder itself');
    // Layer a removed: its files that b shares stay; those only a had are swept.
    rmSync(a, { recursive: true });
    rmSync(`${a}.done`);
    const swept = sweepUnsharedObjects(store);
    assert.equal(swept.removed, 1, 'bin/tool (0755) was only in a');
    assert.equal(readFileSync(join(b, 'lib/p/p.ml'), 'utf8'), big('x'));
    assert.equal(sweepUnsharedObjects(store).removed, 0, 'p.ml, other.ml and the 0644 tool are still b’s');
    assert.equal(readdirSync(join(store, OBJECTS_DIR)).length, 3);
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});

test(
  'an object handed over to another owner since it was stored is not linked to',
  { skip: process.getuid?.() !== 0 ? 'chown needs root' : false },
  () => {
    const store = mkdtempSync(join(tmpdir(), 'ecocheck-dedupe-owner-'));
    try {
      const a = layer(store, 'a', { 'f.ml': big('z') });
      dedupeLayer(store, a);
      const object = readdirSync(join(store, OBJECTS_DIR))[0];
      // The object's name says uid 0; the file (and so the object) now belongs to someone else.
      chownSync(join(a, 'f.ml'), 65534, 65534);
      const b = layer(store, 'b', { 'f.ml': big('z') });
      assert.equal(dedupeLayer(store, b).linked, 0);
      assert.equal(lstatSync(join(b, 'f.ml')).uid, 0);
      assert.ok(object.endsWith('-0-0'));
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  },
);

test('the local layer store shares the files of layers it imports, and sweeps what removed layers alone used', async () => {
  const { LocalLayerStore } = await import('../../src/builder/layer-store.js');
  const from = mkdtempSync(join(tmpdir(), 'ecocheck-dedupe-from-'));
  const to = mkdtempSync(join(tmpdir(), 'ecocheck-dedupe-to-'));
  try {
    const source = new LocalLayerStore(from);
    const record = (key: string) => ({ id: key, key, builder: 'test', finishedAt: '2026-12-06T00:00:00Z', durationMs: 1, logPath: null });
    for (const [key, content] of [
      ['k1', 'a'],
      ['k2', 'a'],
      ['k3', 'b'],
    ] as const) {
      const upper = mkdtempSync(join(from, 'upper-'));
      writeFileSync(join(upper, 'file.ml'), big(content));
      source.commit(upper, record(key));
    }
    const file = join(from, 'layers.tar');
    assert.deepEqual(source.exportLayers(['k1', 'k2', 'k3'], file), ['k1', 'k2', 'k3']);
    const target = new LocalLayerStore(to);
    assert.deepEqual(target.importLayers(file).sort(), ['k1', 'k2', 'k3']);
    assert.equal(
      lstatSync(join(to, 'k1', 'file.ml')).ino,
      lstatSync(join(to, 'k2', 'file.ml')).ino,
      'k1 and k2 hold the same bytes: stored once',
    );
    assert.notEqual(lstatSync(join(to, 'k1', 'file.ml')).ino, lstatSync(join(to, 'k3', 'file.ml')).ino);
    target.remove('k3');
    assert.equal(target.sweepUnshared().removed, 1, 'k3 alone used its file');
    target.remove('k1');
    assert.equal(target.sweepUnshared().removed, 0, 'k2 still uses the file k1 shared');
    assert.equal(readFileSync(join(to, 'k2', 'file.ml'), 'utf8'), big('a'));
  } finally {
    rmSync(from, { recursive: true, force: true });
    rmSync(to, { recursive: true, force: true });
  }
});
