/**
 * The local-source policy (src/plan/local-source-policy.ts): a `file://`, `git+file://` or absolute-path
 * source is allowed only when its real path lies inside a folder the user named; links are resolved
 * first, so a link inside an allowed folder pointing outside is refused; remote addresses are not its
 * business; every address of a package (url, extra-sources, their mirrors) is checked.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalSourcePolicy, sourceLocation } from '../../src/plan/local-source-policy.js';
import { fakePackage } from '../support/plan-fixture-packages.js';

let work: string;
let allowed: string;
let outside: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ecocheck-local-policy-'));
  allowed = join(work, 'allowed');
  outside = join(work, 'outside');
  mkdirSync(join(allowed, 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(allowed, 'sub', 'a.tar.gz'), 'a');
  writeFileSync(join(outside, 'secret'), 'secret');
  symlinkSync(join(outside, 'secret'), join(allowed, 'link-to-secret'));
  symlinkSync(outside, join(allowed, 'link-to-outside-dir'));
  symlinkSync(join(allowed, 'sub'), join(work, 'link-to-allowed-sub'));
});

after(() => rmSync(work, { recursive: true, force: true }));

const refusedReason = (address: string) =>
  `${address}: a local source outside the folders you named; add --allow-local-sources DIR to allow it`;

test('the addresses it reads: file://, VCS+file://, absolute paths; the rest is remote', () => {
  assert.deepEqual(sourceLocation('file:///etc/shadow'), { kind: 'local', path: '/etc/shadow', vcs: null, fragment: null });
  assert.deepEqual(sourceLocation('git+file:///srv/repo#main'), { kind: 'local', path: '/srv/repo', vcs: 'git', fragment: 'main' });
  assert.deepEqual(sourceLocation('file:///a%20b/c'), { kind: 'local', path: '/a b/c', vcs: null, fragment: null });
  assert.deepEqual(sourceLocation('/plain/path#x'), { kind: 'local', path: '/plain/path', vcs: null, fragment: 'x' });
  assert.deepEqual(sourceLocation('hg+file:///srv/hg'), { kind: 'local', path: '/srv/hg', vcs: 'hg', fragment: null });
  assert.equal(sourceLocation('file://evil.example/etc/shadow').kind, 'local');
  for (const remote of ['https://example.org/a.tgz', 'http://x/y', 'git+https://github.com/a/b#v1', 'git://x/y'])
    assert.deepEqual(sourceLocation(remote), { kind: 'remote' });
});

test('inside a named folder: allowed; outside, or through a link leading outside: refused with the one-line reason', () => {
  const policy = new LocalSourcePolicy([allowed]);
  const inside = pathToFileURL(join(allowed, 'sub', 'a.tar.gz')).href;
  assert.equal(policy.verdict(inside).kind, 'allowed');
  assert.equal(policy.verdict(`git+${pathToFileURL(allowed).href}#main`).kind, 'allowed');
  assert.equal(policy.verdict(join(allowed, 'sub')).kind, 'allowed', 'a plain absolute path');
  assert.equal(
    policy.verdict(pathToFileURL(join(allowed, 'not-there.tgz')).href).kind,
    'allowed',
    'a missing file inside: the fetch says so',
  );
  assert.deepEqual(policy.verdict('https://example.org/a.tgz'), { kind: 'remote' });

  for (const address of [
    'file:///etc/shadow',
    pathToFileURL(join(outside, 'secret')).href,
    pathToFileURL(outside).href,
    `git+${pathToFileURL(outside).href}#main`,
    join(outside, 'secret'),
    // A link inside the folder, to a file or a folder outside it.
    pathToFileURL(join(allowed, 'link-to-secret')).href,
    pathToFileURL(join(allowed, 'link-to-outside-dir', 'secret')).href,
    pathToFileURL(join(allowed, 'link-to-outside-dir', 'missing')).href,
    // `..` out of the folder.
    `file://${allowed}/sub/../../outside/secret`,
    // A sibling whose name starts like the folder's.
    pathToFileURL(`${allowed}-evil/x`).href,
  ]) {
    assert.deepEqual(policy.verdict(address), { kind: 'refused', reason: refusedReason(address) }, address);
  }
  assert.deepEqual(policy.verdict('file://evil.example/etc/shadow'), {
    kind: 'refused',
    reason: 'file://evil.example/etc/shadow: not a local path ecocheck can read',
  });
  // Nothing allowed at all: every local source is refused.
  assert.equal(new LocalSourcePolicy([]).verdict(inside).kind, 'refused');
});

test('a link into an allowed folder is allowed (its real path is inside), and an allowed folder given through a link works', () => {
  assert.equal(new LocalSourcePolicy([allowed]).verdict(pathToFileURL(join(work, 'link-to-allowed-sub', 'a.tar.gz')).href).kind, 'allowed');
  assert.equal(
    new LocalSourcePolicy([join(work, 'link-to-allowed-sub')]).verdict(pathToFileURL(join(allowed, 'sub', 'a.tar.gz')).href).kind,
    'allowed',
  );
  assert.equal(
    new LocalSourcePolicy([join(allowed, 'sub', 'a.tar.gz')]).verdict(pathToFileURL(join(allowed, 'sub', 'a.tar.gz')).href).kind,
    'allowed',
    'a root may be the file itself (a pin of an archive)',
  );
});

test('a package: its url, its extra-sources and every mirror are checked; the fetch sandbox binds only the allowed ones', () => {
  const policy = new LocalSourcePolicy([allowed]);
  const inside = pathToFileURL(join(allowed, 'sub', 'a.tar.gz')).href;
  const ok = fakePackage(
    'ok.1',
    `opam-version: "2.0"\nurl { src: "${inside}" }\nextra-source "x" { src: "https://example.org/x" checksum: "md5=00000000000000000000000000000000" }\n`,
  );
  assert.equal(policy.refusal(ok), null);
  assert.deepEqual(policy.allowedPaths(ok), [join(allowed, 'sub', 'a.tar.gz')]);
  const mirror = fakePackage('mirror.1', `opam-version: "2.0"\nurl { src: "${inside}" mirrors: ["file:///etc/shadow"] }\n`);
  assert.equal(policy.refusal(mirror), refusedReason('file:///etc/shadow'));
  const extra = fakePackage(
    'extra.1',
    `opam-version: "2.0"\nurl { src: "https://example.org/a.tgz" }\nextra-source "host" { src: "file://${outside}" }\n`,
  );
  assert.equal(policy.refusal(extra), refusedReason(`file://${outside}`));
  assert.deepEqual(policy.allowedPaths(extra), []);
});

test('a git repository inside the folder whose objects lie outside (a .git file, alternates, a linked objects folder) is refused', () => {
  const git = (dir: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], { cwd: dir, stdio: 'ignore' });
  const policy = new LocalSourcePolicy([allowed]);
  const reason = (address: string) =>
    `${address}: a git repository whose objects lie outside the folders you named; add --allow-local-sources DIR to allow it`;
  const plain = join(allowed, 'plain');
  mkdirSync(plain);
  git(plain, 'init', '-q');
  assert.equal(policy.verdict(`git+file://${plain}#main`).kind, 'allowed');
  const bare = join(allowed, 'bare.git');
  mkdirSync(bare);
  git(bare, 'init', '-q', '--bare');
  assert.equal(policy.verdict(`git+file://${bare}`).kind, 'allowed', 'a bare repository');

  const secretRepo = join(outside, 'secret.git');
  mkdirSync(secretRepo);
  git(secretRepo, 'init', '-q', '--bare');
  const pointer = join(allowed, 'pointer');
  mkdirSync(pointer);
  writeFileSync(join(pointer, '.git'), `gitdir: ${secretRepo}\n`);
  assert.deepEqual(policy.verdict(`git+file://${pointer}#main`), { kind: 'refused', reason: reason(`git+file://${pointer}#main`) });

  const alternates = join(allowed, 'alternates');
  mkdirSync(alternates);
  git(alternates, 'init', '-q');
  writeFileSync(join(alternates, '.git', 'objects', 'info', 'alternates'), `${join(secretRepo, 'objects')}\n`);
  assert.deepEqual(policy.verdict(`git+file://${alternates}`), { kind: 'refused', reason: reason(`git+file://${alternates}`) });

  const linked = join(allowed, 'linked');
  mkdirSync(join(linked, '.git'), { recursive: true });
  symlinkSync(join(secretRepo, 'objects'), join(linked, '.git', 'objects'));
  assert.equal(policy.verdict(`git+file://${linked}`).kind, 'refused');
  // The same repositories, allowed with the folder outside: the objects are then inside a folder named.
  assert.equal(new LocalSourcePolicy([allowed, outside]).verdict(`git+file://${alternates}`).kind, 'allowed');
});
