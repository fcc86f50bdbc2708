/** The host package manager's answers kept between processes, under a stamp of its state. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAnswers, saveAnswers, stateStamp } from '../../src/host/answer-store.js';

test('answers come back under the same stamp only; any change to the state files is a new stamp', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-answers-'));
  try {
    const status = join(dir, 'status');
    const lists = join(dir, 'lists');
    mkdirSync(lists);
    writeFileSync(status, 'Package: a\n');
    writeFileSync(join(lists, 'one_Packages'), 'x');
    const paths = [status, lists, join(dir, 'missing')];
    const stamp = stateStamp(paths);
    assert.equal(stateStamp(paths), stamp, 'deterministic');
    const file = join(dir, 'cache', 'answers.json');
    const answers = new Map([
      ['libgmp-dev', { status: 'installed', version: '2:6.2.1' }],
      ['nope', { status: 'notFound', version: null }],
    ]);
    saveAnswers(file, 'apt', stamp, answers);
    assert.deepEqual(loadAnswers(file, 'apt', stamp), answers);
    assert.deepEqual(loadAnswers(file, 'apk', stamp), new Map(), 'another family');
    // An apt-get update (a new list file), an install (dpkg's status rewritten): new stamps.
    writeFileSync(join(lists, 'two_Packages'), 'y');
    const updated = stateStamp(paths);
    assert.notEqual(updated, stamp);
    utimesSync(status, new Date(1_000_000_000_000), new Date(1_000_000_000_000));
    assert.notEqual(stateStamp(paths), updated);
    assert.deepEqual(loadAnswers(file, 'apt', updated), new Map(), 'answers of another state are not taken');
    // A damaged store is no answers, never an error; no store file: nothing kept.
    writeFileSync(file, '{not json');
    assert.deepEqual(loadAnswers(file, 'apt', stamp), new Map());
    saveAnswers(null, 'apt', stamp, answers);
    assert.deepEqual(loadAnswers(null, 'apt', stamp), new Map());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
