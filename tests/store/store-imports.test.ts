/**
 * The store keeps results and knows nothing of how they were made: no module of src/store imports the
 * builder or the run layer (issue 25: the schema migration imported the builder's log parser, the
 * export its log reader, and the record types came from run/). What it needs of them is given by the
 * session (the log reader of an upgrade, the capped log reader of an export); the record types are in
 * results/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../support/snapshot.js';

test('src/store imports nothing of src/builder or src/run', () => {
  const dir = join(projectRoot, 'src', 'store');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 5);
  const reaching: string[] = [];
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\(\s*)'(\.\.\/(?:builder|run)\/[^']+)'/g)) reaching.push(`${f} imports ${m[1]}`);
  }
  assert.deepEqual(reaching, []);
});
