/**
 * NAME.config: kept from the build directory into the prefix, read back from a layer; a link leading
 * out of either, or a FIFO, is refused (ConfigFileError) and never read.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileError, installConfigFile, readInstalledConfig } from '../../src/builder/package-config-file.js';
import { makeHostVictim, type HostVictim } from '../support/host-victim.js';

let work: string;
let host: HostVictim;
let n = 0;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'ecocheck-config-file-test-'));
  host = makeHostVictim(work);
  // A valid config file on the host: a link to it must still not be read.
  mkdirSync(join(host.victimDir, 'config'));
  writeFileSync(join(host.victimDir, 'config', 'p.config'), `variables { leaked: "${host.marker}" }\n`);
});
after(() => rmSync(work, { recursive: true, force: true }));

function dirs(): { build: string; prefix: string } {
  const base = join(work, String(n++));
  const build = join(base, 'build');
  const prefix = join(base, 'prefix');
  mkdirSync(build, { recursive: true });
  mkdirSync(prefix, { recursive: true });
  return { build, prefix };
}

function refusedConfig(f: () => unknown, message: RegExp): void {
  assert.throws(f, (e: unknown) => e instanceof ConfigFileError && message.test(e.message) && !e.message.includes(host.marker));
}

test('a regular NAME.config is kept and read back', () => {
  const { build, prefix } = dirs();
  writeFileSync(join(build, 'p.config'), 'variables { native: true path: "/x" }\n');
  assert.equal(installConfigFile(build, prefix, 'p'), true);
  assert.deepEqual(
    [...readInstalledConfig(prefix, 'p')],
    [
      ['native', true],
      ['path', '/x'],
    ],
  );
  assert.equal(installConfigFile(build, prefix, 'absent'), false);
  assert.equal(readInstalledConfig(prefix, 'absent').size, 0);
});

test('the build directory: a NAME.config linking out or a FIFO is refused', () => {
  const before = host.snapshot();
  const { build, prefix } = dirs();
  symlinkSync(join(host.victimDir, 'config', 'p.config'), join(build, 'p.config'));
  refusedConfig(() => installConfigFile(build, prefix, 'p'), /^p\.config: a symbolic link leading outside the build directory/);
  assert.equal(spawnSync('mkfifo', [join(build, 'q.config')]).status, 0);
  refusedConfig(() => installConfigFile(build, prefix, 'q'), /^q\.config: a FIFO, not a regular file$/);
  assert.ok(!existsSync(join(prefix, '.opam-switch')));
  assert.deepEqual(host.snapshot(), before);
});

test('the prefix: a .opam-switch or config folder the build made a link is not written through', () => {
  const before = host.snapshot();
  const { build, prefix } = dirs();
  writeFileSync(join(build, 'p.config'), 'variables { x: "1" }\n');
  symlinkSync(host.victimDir, join(prefix, '.opam-switch'));
  refusedConfig(
    () => installConfigFile(build, prefix, 'p'),
    /^p\.config cannot be kept: \.opam-switch: a symbolic link where a directory is expected$/,
  );
  assert.deepEqual(host.snapshot(), before);
  assert.equal(readFileSync(join(host.victimDir, 'config', 'p.config'), 'utf8'), `variables { leaked: "${host.marker}" }\n`);
});

test('a layer: a config file or folder linking out is refused, never read', () => {
  const { prefix } = dirs();
  symlinkSync(host.victimDir, join(prefix, '.opam-switch'));
  refusedConfig(() => readInstalledConfig(prefix, 'p'), /^\.opam-switch: a symbolic link leading outside the layer/);
  const other = dirs().prefix;
  mkdirSync(join(other, '.opam-switch', 'config'), { recursive: true });
  symlinkSync('/home/opam/.opam/default/../../../' + host.victimDir, join(other, '.opam-switch', 'config', 'p.config'));
  refusedConfig(() => readInstalledConfig(other, 'p'), /^\.opam-switch\/config\/p\.config: a symbolic link leading outside the layer/);
});
