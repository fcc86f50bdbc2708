/** substs: FILE.in → FILE with interpolations, byte-exact around them, modes kept, failures named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applySubsts } from '../../src/builder/substs.js';
import type { VariableLookup } from '../../src/opam/filter.js';

const lookup: VariableLookup = (packages, variable) => {
  if (packages === null && variable === 'prefix') return '/opt/préfixe';
  if (packages?.[0] === 'ocaml' && variable === 'native') return true;
  if (packages === null && variable === 'list') return ['a', 'b'];
  return undefined;
};

test('substs expand variables, keep other bytes and the mode, and report missing .in files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-substs-test-'));
  try {
    mkdirSync(join(dir, 'sub'));
    const bytes = Buffer.concat([Buffer.from('p=%{prefix}% n=%{ocaml:native}% l=%{list}% u=[%{nope}%] pct=%% '), Buffer.from([0xff, 0xfe, 0x00, 0x0a])]);
    writeFileSync(join(dir, 'sub', 'conf.sh.in'), bytes);
    chmodSync(join(dir, 'sub', 'conf.sh.in'), 0o755);
    const lines: string[] = [];
    const failures = applySubsts(['sub/conf.sh', 'missing.ml', '../escape'], dir, lookup, (l) => lines.push(l));
    const out = readFileSync(join(dir, 'sub', 'conf.sh'));
    assert.deepEqual(
      out,
      Buffer.concat([Buffer.from('p=/opt/préfixe n=true l=a b u=[] pct=% ', 'utf8'), Buffer.from([0xff, 0xfe, 0x00, 0x0a])]),
    );
    assert.equal(statSync(join(dir, 'sub', 'conf.sh')).mode & 0o777, 0o755);
    assert.deepEqual(failures.map((f) => f.message), ['missing.ml.in not found', '../escape: path escapes the build directory']);
    assert.deepEqual(lines, ['subst sub/conf.sh.in -> sub/conf.sh (undefined: nope)']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
