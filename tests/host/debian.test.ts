/**
 * apt and dpkg as the Debian package manager reads them (src/host/debian.ts), from answers recorded in
 * fixtures/depexts: what `apt-cache search --full` says is available (virtual names included), what
 * `dpkg-query` says is installed, and the classification of the names asked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../support/snapshot.js';
import { classify, namesRegex, parseAptSearch, parseDpkgInstalled } from '../../src/host/debian.js';

const fixture = (name: string) => readFileSync(join(projectRoot, 'fixtures', 'depexts', name), 'utf8');

test('apt-cache search --full: packages and what they provide are available (virtual names included)', () => {
  const r = parseAptSearch(fixture('apt-cache-search.txt'));
  assert.deepEqual([...r.available].sort(), [
    'libc++-dev',
    'libgmp-dev',
    'libgmp10-dev',
    'libgsl-dev',
    'libgsl0-dev',
    'libz-dev',
    'zlib1g-dev',
  ]);
  assert.deepEqual(r.provides.get('libgsl-dev'), ['libgsl0-dev']);
  assert.deepEqual(r.provides.get('zlib1g-dev'), ['libz-dev']);
  assert.equal(r.provides.has('libc++-dev'), false);
  assert.deepEqual(parseAptSearch('Package: apt\nProvides: apt-transport-https (= 2.1.7), apt-utils\n').provides.get('apt'), [
    'apt-transport-https',
    'apt-utils',
  ]);
});

test('dpkg-query: only `ii` packages are installed, with their version; name:arch is the name', () => {
  const installed = parseDpkgInstalled(fixture('dpkg-query.txt'));
  assert.deepEqual(Object.fromEntries(installed), {
    libc6: '2.36-9+deb12u14',
    'libgmp-dev': '2:6.2.1+dfsg1-1.1',
    'zlib1g-dev': '1:1.2.13.dfsg-1',
  });
  assert.deepEqual(Object.fromEntries(parseDpkgInstalled('rc \told\t1.0\nii \tlibfoo:amd64\t2.0\nii \tlibfoo:i386\t2.0\nun \tgone\t\n')), {
    libfoo: '2.0',
  });
});

test('classify: installed, provided by an installed package, available (a virtual name too), not found', () => {
  const search = parseAptSearch(fixture('apt-cache-search.txt'));
  const installed = parseDpkgInstalled(fixture('dpkg-query.txt'));
  const k = classify(['libgmp-dev', 'libgmp10-dev', 'libgsl0-dev', 'libgsl-dev', 'python2.7', 'libc++-dev'], search, installed);
  assert.deepEqual(Object.fromEntries([...k].map(([n, v]) => [n, `${v.status} ${v.version ?? '-'}`])), {
    'libgmp-dev': 'installed 2:6.2.1+dfsg1-1.1',
    'libgmp10-dev': 'installed via libgmp-dev=2:6.2.1+dfsg1-1.1',
    'libgsl0-dev': 'available -',
    'libgsl-dev': 'available -',
    'python2.7': 'notFound -',
    'libc++-dev': 'available -',
  });
  assert.equal(namesRegex(['libc++-dev', 'python2.7', 'z3']), '^(libc\\+\\+-dev|python2\\.7|z3)$');
});
