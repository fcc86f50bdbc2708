/**
 * src/ reads as the pipeline: each layer imports only the layers before it (and the base modules,
 * results/ and errors/, which import nothing of ours). This test reads every import of src/ and fails
 * on one that reaches forward.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { projectRoot } from './support/snapshot.js';

const BASE = ['results', 'errors'];
const PIPELINE = ['opam', 'solve', 'plan', 'builder', 'run', 'store', 'compare', 'report', 'cli'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function layerOf(srcRelative: string): string {
  return srcRelative.split('/')[0];
}

test('every src/ folder is a known layer, and no import reaches a later layer', () => {
  const src = join(projectRoot, 'src');
  const violations: string[] = [];
  for (const file of sources(src)) {
    const from = layerOf(relative(src, file));
    assert.ok([...BASE, ...PIPELINE].includes(from), `${relative(projectRoot, file)}: src/${from} is not a layer of the pipeline`);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'(\.[^']+)'/gm)) {
      const to = layerOf(relative(src, resolve(dirname(file), m[1])));
      const allowed = BASE.includes(to)
        ? !BASE.includes(from) || from === to
        : !BASE.includes(from) && PIPELINE.indexOf(to) <= PIPELINE.indexOf(from);
      if (!allowed) violations.push(`${relative(projectRoot, file)} imports ${m[1]} (${from} → ${to})`);
    }
  }
  assert.deepEqual(violations, []);
});
