/** extra-files: listed files checked and copied; an absent field means every file of files/ (opam 2.1). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyExtraFiles, ExtraFileError } from '../../src/builder/extra-files.js';
import { hashBytes } from '../../src/builder/checksum.js';
import { parseOpamFile } from '../../src/opam/parser.js';
import { packageFromAst } from '../../src/opam/package-from-ast.js';
import type { OpamPackage } from '../../src/opam/package-model.js';
import { makeHostVictim } from '../support/host-victim.js';

function setup(): { dir: string; files: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-extra-files-test-'));
  const files = join(dir, 'files');
  mkdirSync(join(files, 'sub'), { recursive: true });
  writeFileSync(join(files, 'a.patch'), 'A\n');
  writeFileSync(join(files, 'sub', 'b.ml'), 'B\n');
  writeFileSync(join(files, 'unlisted'), 'U\n');
  return { dir, files };
}

function pkg(text: string, filesDir: string | null): OpamPackage {
  return packageFromAst(parseOpamFile(text, 'opam'), {
    name: 'p',
    version: '1',
    file: 'opam',
    repository: '/r',
    filesDir,
    contentHash: 'x',
  });
}

test('listed extra-files are checked and copied, unlisted ones are not', () => {
  const { dir, files } = setup();
  try {
    const a = hashBytes('A\n', 'sha256');
    const b = hashBytes('B\n', 'md5');
    const build = join(dir, 'build');
    const copied = copyExtraFiles(
      pkg(`opam-version: "2.0"\nextra-files: [["a.patch" "sha256=${a}"] ["sub/b.ml" "md5=${b}"]]\n`, files),
      build,
    );
    assert.deepEqual(copied, ['a.patch', 'sub/b.ml']);
    assert.equal(readFileSync(join(build, 'sub', 'b.ml'), 'utf8'), 'B\n');
    assert.ok(!existsSync(join(build, 'unlisted')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad hashes and missing files are named together', () => {
  const { dir, files } = setup();
  try {
    const p = pkg(`opam-version: "2.0"\nextra-files: [["a.patch" "md5=${'0'.repeat(32)}"] ["gone.ml" "md5=${'1'.repeat(32)}"]]\n`, files);
    assert.throws(
      () => copyExtraFiles(p, join(dir, 'build')),
      (e: unknown) =>
        e instanceof ExtraFileError &&
        e.message ===
          `bad hash for extra-file a.patch (expected md5=${'0'.repeat(32)}, got md5=${hashBytes('A\n', 'md5')}); missing extra-file gone.ml`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without an extra-files field, every file of files/ is copied (opam 2.1 reads them as listed)', () => {
  const { dir, files } = setup();
  try {
    const build = join(dir, 'build');
    assert.deepEqual(copyExtraFiles(pkg('opam-version: "2.0"\n', files), build), ['a.patch', 'sub/b.ml', 'unlisted']);
    assert.deepEqual(readdirSync(build).sort(), ['a.patch', 'sub', 'unlisted']);
    assert.deepEqual(copyExtraFiles(pkg('opam-version: "2.0"\n', null), join(dir, 'build3')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('extra-files never read or write through a link leading out of files/ or the build directory', () => {
  const { dir, files } = setup();
  try {
    const host = makeHostVictim(dir);
    const before = host.snapshot();
    const secretHash = hashBytes(readFileSync(host.secret), 'sha256');
    // files/ links to the secret, with its right checksum; the unpacked sources left a link to a host folder.
    symlinkSync(host.secret, join(files, 'leak'));
    const build = join(dir, 'build');
    mkdirSync(build);
    symlinkSync(host.victimDir, join(build, 'sub'));
    const p = pkg(
      `opam-version: "2.0"\nextra-files: [["leak" "sha256=${secretHash}"] ["sub/b.ml" "md5=${hashBytes('B\n', 'md5')}"]]\n`,
      files,
    );
    assert.throws(
      () => copyExtraFiles(p, build),
      (e: unknown) =>
        e instanceof ExtraFileError &&
        !e.message.includes(host.marker) &&
        e.message ===
          `cannot copy extra-file leak (leak: a symbolic link leading outside files/ (to ${host.secret})), sub/b.ml (sub: a symbolic link where a directory is expected)`,
    );
    assert.ok(!existsSync(join(build, 'leak')));
    // Without the field, the link in files/ is not a file of it: not copied.
    const build2 = join(dir, 'build2');
    assert.deepEqual(copyExtraFiles(pkg('opam-version: "2.0"\n', files), build2), ['a.patch', 'sub/b.ml', 'unlisted']);
    assert.deepEqual(host.snapshot(), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
