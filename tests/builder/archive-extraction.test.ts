/**
 * Unpacking a package's archive: members that are links leading outside where the content lands, or
 * special files, are refused before anything is moved into the build directory; a single member that
 * is a link is never taken for the source folder (it would move a host folder's entries). Tarballs are
 * made with tar here; nothing of the stand-in host folder may change.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExtractionError, extractInto, UnsafeArchiveError, type ToolRunner } from '../../src/builder/archive-extraction.js';
import { runProcess } from '../../src/builder/process-runner.js';
import { makeHostVictim, type HostVictim } from '../support/host-victim.js';

let work: string;
let host: HostVictim;
let n = 0;
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), LANG: 'C.UTF-8' };
const run: ToolRunner = (argv, cwd) => runProcess({ argv, cwd, env, logFile: join(work, 'tool.log') });

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ecocheck-extraction-test-'));
  host = makeHostVictim(work);
});
after(() => rmSync(work, { recursive: true, force: true }));

/** A tarball of what `make(stage)` puts in a fresh staging folder (members in `members` order). */
function tarball(make: (stage: string) => void, members: string[]): string {
  const stage = join(work, `stage-${n}`);
  mkdirSync(stage);
  make(stage);
  const file = join(work, `archive-${n++}.tar`);
  execFileSync('tar', ['-cf', file, '-C', stage, '--no-recursion', ...members]);
  return file;
}

function extract(file: string): { dest: string; result: Promise<unknown> } {
  const dest = join(work, `dest-${n++}`);
  return { dest, result: extractInto(file, dest, join(work, `scratch-${n++}`), run) };
}

test('in-archive links are kept, the single folder is unwrapped', async () => {
  const file = tarball(
    (s) => {
      mkdirSync(join(s, 'pkg-1.0/lib'), { recursive: true });
      mkdirSync(join(s, 'pkg-1.0/bin'));
      writeFileSync(join(s, 'pkg-1.0/lib/x'), 'x\n');
      symlinkSync('../lib/x', join(s, 'pkg-1.0/bin/tool'));
    },
    ['pkg-1.0', 'pkg-1.0/lib', 'pkg-1.0/lib/x', 'pkg-1.0/bin', 'pkg-1.0/bin/tool'],
  );
  const { dest, result } = extract(file);
  assert.equal(await result, 'tar');
  assert.equal(readlinkSync(join(dest, 'bin/tool')), '../lib/x');
  assert.equal(readFileSync(join(dest, 'bin/tool'), 'utf8'), 'x\n');
});

test('a tarball whose only member is a link to a host folder is refused; the folder is not emptied', async () => {
  const before = host.snapshot();
  const file = tarball((s) => symlinkSync(host.victimDir, join(s, 'pkg-1.0')), ['pkg-1.0']);
  const { dest, result } = extract(file);
  await assert.rejects(
    result,
    (e: unknown) =>
      e instanceof UnsafeArchiveError &&
      /^pkg-1\.0: a symbolic link leading outside the archive \(to .*\) \(in archive-\d+\.tar\)$/.test(e.message),
  );
  assert.deepEqual(host.snapshot(), before);
  assert.deepEqual(readdirSync(dest), []);
});

test('links leading out through .. or absolute, and a member written through such a link, are refused', async () => {
  const before = host.snapshot();
  const up = tarball(
    (s) => {
      mkdirSync(join(s, 'pkg/sub'), { recursive: true });
      writeFileSync(join(s, 'pkg/sub/f'), 'f');
      symlinkSync('../../../../../../../../../..' + host.victimDir, join(s, 'pkg/sub/up'));
    },
    ['pkg', 'pkg/sub', 'pkg/sub/f', 'pkg/sub/up'],
  );
  const r1 = extract(up);
  await assert.rejects(
    r1.result,
    (e: unknown) => e instanceof UnsafeArchiveError && /^sub\/up: a symbolic link leading outside the archive/.test(e.message),
  );
  assert.deepEqual(readdirSync(r1.dest), [], 'nothing was moved into the build directory');
  // The link first, then a member under it: pkg/out -> host folder, pkg/out/pwned.
  const stage = join(work, 'through');
  mkdirSync(join(stage, 'a/pkg'), { recursive: true });
  symlinkSync(host.victimDir, join(stage, 'a/pkg/out'));
  mkdirSync(join(stage, 'b/pkg/out'), { recursive: true });
  writeFileSync(join(stage, 'b/pkg/out/pwned'), 'pwned\n');
  const file = join(work, 'through.tar');
  execFileSync('tar', ['-cf', file, '-C', join(stage, 'a'), 'pkg']);
  execFileSync('tar', ['-rf', file, '-C', join(stage, 'b'), 'pkg/out/pwned']);
  const r2 = extract(file);
  await assert.rejects(r2.result, (e: unknown) => e instanceof UnsafeArchiveError || e instanceof ExtractionError);
  assert.ok(!existsSync(join(host.victimDir, 'pwned')));
  assert.deepEqual(host.snapshot(), before);
});

test('a FIFO in an archive is refused', async () => {
  const file = tarball(
    (s) => {
      mkdirSync(join(s, 'pkg'));
      assert.equal(spawnSync('mkfifo', [join(s, 'pkg/pipe')]).status, 0);
      writeFileSync(join(s, 'pkg/f'), 'f');
    },
    ['pkg', 'pkg/pipe', 'pkg/f'],
  );
  const { result } = extract(file);
  await assert.rejects(
    result,
    (e: unknown) =>
      e instanceof UnsafeArchiveError &&
      /^pipe: a FIFO \(in archive-\d+\.tar\): an archive may hold files, directories and links only$/.test(e.message),
  );
});

test('a plain file is copied under its name, which cannot climb out', async () => {
  const plain = join(work, 'plain.txt');
  writeFileSync(plain, 'plain\n');
  const dest = join(work, 'plain-dest');
  assert.equal(await extractInto(plain, dest, join(work, 'plain-scratch'), run, 'p.txt'), 'plain');
  assert.ok(lstatSync(join(dest, 'p.txt')).isFile());
  await assert.rejects(extractInto(plain, dest, join(work, 'plain-scratch'), run, '../escaped.txt'), /leads outside the build directory/);
  assert.ok(!existsSync(join(work, 'escaped.txt')));
});
