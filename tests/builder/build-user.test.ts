/**
 * The build user (src/builder/build-user.ts): which uid and gid builds run as when ecocheck is root,
 * and handing a tree over to it (never through a symbolic link), setuid and setgid bits removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_USER_NAME, buildUserFrom, FALLBACK_BUILD_ID, handOver } from '../../src/builder/build-user.js';
import { emptySwitchLayer } from '../../src/builder/layer-store.js';
import { skipWithout } from '../support/missing-setup.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';

test('the build user is ecocheck-build when the host has it, else a fixed id no user or group has', () => {
  const own = buildUserFrom(
    `${PASSWD}${BUILD_USER_NAME}:x:998:997::/nonexistent:/usr/sbin/nologin\n`,
    `${GROUP}${BUILD_USER_NAME}:x:997:\n`,
  );
  assert.deepEqual({ uid: own.uid, gid: own.gid }, { uid: 998, gid: 997 });
  assert.match(own.description, /^the user ecocheck-build \(uid 998, gid 997\)$/);

  const fallback = buildUserFrom(PASSWD, GROUP);
  assert.deepEqual({ uid: fallback.uid, gid: fallback.gid }, { uid: FALLBACK_BUILD_ID, gid: FALLBACK_BUILD_ID });
  assert.match(fallback.description, /no user or group of this host has .*scripts\/install-system-deps\.sh creates it/);

  // The fallback is taken, by a user or by a group: the next free id below it.
  const takenByUser = buildUserFrom(`${PASSWD}someone:x:${FALLBACK_BUILD_ID}:100::/home/someone:/bin/sh\n`, GROUP);
  assert.equal(takenByUser.uid, FALLBACK_BUILD_ID - 1);
  const takenByGroup = buildUserFrom(PASSWD, `${GROUP}team:x:${FALLBACK_BUILD_ID}:\nteam2:x:${FALLBACK_BUILD_ID - 1}:\n`);
  assert.deepEqual({ uid: takenByGroup.uid, gid: takenByGroup.gid }, { uid: FALLBACK_BUILD_ID - 2, gid: FALLBACK_BUILD_ID - 2 });

  // A user named ecocheck-build with uid or gid 0 is not an unprivileged user: ignored.
  assert.equal(buildUserFrom(`${PASSWD}${BUILD_USER_NAME}:x:0:0::/:/bin/sh\n`, GROUP).uid, FALLBACK_BUILD_ID);
});

const rootSkip = skipWithout('root', process.getuid?.() === 0 ? false : 'giving files to another user needs root');

test('handOver gives a tree to the build user and strips setuid/setgid bits, never through a symbolic link', { skip: rootSkip }, () => {
  const root = mkdtempSync(join(tmpdir(), 'ecocheck-hand-over-'));
  try {
    const tree = join(root, 'tree');
    const outside = join(root, 'outside');
    mkdirSync(join(tree, 'sub', 'deeper'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(tree, 'suid'), 'x');
    chmodSync(join(tree, 'suid'), 0o4755);
    writeFileSync(join(tree, 'sub', 'deeper', 'sgid'), 'x');
    chmodSync(join(tree, 'sub', 'deeper', 'sgid'), 0o2711);
    chmodSync(join(tree, 'sub'), 0o2775);
    // Outside the tree, reached only through links: left exactly as it was.
    writeFileSync(join(outside, 'victim'), 'x');
    chmodSync(join(outside, 'victim'), 0o4755);
    symlinkSync(join(outside, 'victim'), join(tree, 'link-to-file'));
    symlinkSync(outside, join(tree, 'sub', 'link-to-dir'));

    const owner = { uid: 64_321, gid: 64_322 };
    handOver(tree, owner, true);
    for (const rel of ['.', 'suid', 'sub', 'sub/deeper', 'sub/deeper/sgid', 'link-to-file', 'sub/link-to-dir']) {
      const st = lstatSync(join(tree, rel));
      assert.equal(st.uid, owner.uid, rel);
      assert.equal(st.gid, owner.gid, rel);
      if (!st.isSymbolicLink()) assert.equal(st.mode & 0o6000, 0, `${rel}: mode ${st.mode.toString(8)}`);
    }
    assert.equal(lstatSync(join(tree, 'suid')).mode & 0o777, 0o755);
    assert.equal(lstatSync(join(tree, 'sub')).mode & 0o777, 0o775);
    assert.equal(lstatSync(join(tree, 'sub', 'deeper', 'sgid')).mode & 0o777, 0o711);
    for (const p of [outside, join(outside, 'victim')]) assert.equal(statSync(p).uid, 0, `${p} is still root's`);
    assert.equal(statSync(join(outside, 'victim')).mode & 0o7777, 0o4755, 'the file behind the link keeps its mode');

    // Without an owner: bits stripped, ownership unchanged.
    writeFileSync(join(tree, 'again'), 'x');
    chmodSync(join(tree, 'again'), 0o6755);
    handOver(tree, null, true);
    assert.equal(lstatSync(join(tree, 'again')).mode & 0o7777, 0o755);
    assert.equal(lstatSync(join(tree, 'again')).uid, 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("the empty switch layer is its owner's, one per owner", { skip: rootSkip }, () => {
  const store = mkdtempSync(join(tmpdir(), 'ecocheck-empty-switch-'));
  try {
    const a = emptySwitchLayer(store, { uid: 64_321, gid: 64_322 });
    const b = emptySwitchLayer(store, { uid: 64_323, gid: 64_323 });
    assert.notEqual(a, b);
    for (const rel of ['.', 'lib', 'bin', '.opam-switch/packages']) {
      assert.equal(lstatSync(join(a, rel)).uid, 64_321, rel);
      assert.equal(lstatSync(join(a, rel)).gid, 64_322, rel);
      assert.equal(lstatSync(join(b, rel)).uid, 64_323, rel);
    }
    assert.equal(emptySwitchLayer(store, { uid: 64_321, gid: 64_322 }), a, 'made once');
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});
