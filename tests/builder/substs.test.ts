/** substs: FILE.in → FILE with interpolations, byte-exact around them, modes kept, failures named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applySubsts } from '../../src/builder/substs.js';
import type { VariableLookup } from '../../src/opam/filter.js';
import { makeHostVictim } from '../support/host-victim.js';

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
    const bytes = Buffer.concat([
      Buffer.from('p=%{prefix}% n=%{ocaml:native}% l=%{list}% u=[%{nope}%] pct=%% '),
      Buffer.from([0xff, 0xfe, 0x00, 0x0a]),
    ]);
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
    assert.deepEqual(
      failures.map((f) => f.message),
      ['missing.ml.in not found', '../escape: path escapes the build directory'],
    );
    assert.deepEqual(lines, ['subst sub/conf.sh.in -> sub/conf.sh (undefined: nope)']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('substs never read or write through a link leading out of the build directory, nor read a FIFO', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-substs-test-'));
  try {
    const host = makeHostVictim(dir);
    writeFileSync(join(host.victimDir, 'cfg.in'), `${host.marker} %{prefix}%\n`);
    const before = host.snapshot();
    const build = join(dir, 'build');
    mkdirSync(build);
    symlinkSync(host.secret, join(build, 'leak.in')); // the secret would end up in leak, then in the log
    symlinkSync(host.victimDir, join(build, 'sub')); // a folder of the tarball linking to the host
    assert.equal(spawnSync('mkfifo', [join(build, 'pipe.in')]).status, 0);
    writeFileSync(join(build, 'out.in'), 'prefix=%{prefix}%\n');
    symlinkSync(host.secret, join(build, 'out')); // the destination: replaced, not written through
    writeFileSync(join(build, 'inside.in.real'), 'inside %{prefix}%\n');
    symlinkSync('inside.in.real', join(build, 'inside.in')); // a link inside: followed
    const lines: string[] = [];
    const failures = applySubsts(['leak', 'sub/cfg', 'pipe', 'out', 'inside'], build, lookup, (l) => lines.push(l));
    assert.deepEqual(
      failures.map((f) => f.message),
      [
        `leak.in: a symbolic link leading outside the build directory (to ${host.secret})`,
        `sub: a symbolic link leading outside the build directory (to ${host.victimDir})`,
        'pipe.in: a FIFO, not a regular file',
      ],
    );
    assert.equal(readFileSync(join(build, 'out'), 'utf8'), 'prefix=/opt/préfixe\n');
    assert.equal(readFileSync(join(build, 'inside'), 'utf8'), 'inside /opt/préfixe\n');
    assert.ok(!existsSync(join(build, 'leak')));
    assert.deepEqual(host.snapshot(), before);
    for (const text of [...lines, ...failures.map((f) => f.message)]) assert.ok(!text.includes(host.marker), text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
