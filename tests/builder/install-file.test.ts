/** NAME.install files: reading (opam syntax, positions in errors) and installing into a prefix. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installFromSpec, InstallError, parseInstallFile, sectionDir } from '../../src/builder/install-file.js';
import { OpamFormatError } from '../../src/opam/parse-error.js';

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'ecocheck-install-test-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

function buildDirWith(name: string, files: string[]): string {
  const dir = join(work, name, 'build');
  for (const f of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), `${f}\n`);
  }
  return dir;
}

test('sections, optional files and renames are read', () => {
  const spec = parseInstallFile(
    'lib: ["a.cma" "?a.cmxa" "META" {"sub/META"}]\nbin: "tool"\nmisc: ["x" {"/etc/x"}]\nunknown-field: ["ignored"]\n',
    'p.install',
  );
  assert.deepEqual(spec.lib, [
    { src: 'a.cma', optional: false, dest: null },
    { src: 'a.cmxa', optional: true, dest: null },
    { src: 'META', optional: false, dest: 'sub/META' },
  ]);
  assert.deepEqual(spec.bin, [{ src: 'tool', optional: false, dest: null }]);
  assert.deepEqual(spec.misc, [{ src: 'x', optional: false, dest: '/etc/x' }]);
  assert.deepEqual(spec.share, []);
});

test('malformed entries are OpamFormatErrors with a position', () => {
  assert.throws(() => parseInstallFile('lib: [\n  42\n]\n', 'p.install'), (e: unknown) => e instanceof OpamFormatError && /^p\.install:2:3: lib: expected a file name string/.test(e.message));
  assert.throws(() => parseInstallFile('bin: ["a" {"/abs"}]\n', 'p.install'), /p\.install:1:\d+: bin: \/abs is an absolute path/);
  assert.throws(() => parseInstallFile('misc: ["a" {"rel"}]\n', 'p.install'), /misc: rel is not an absolute path/);
  assert.throws(() => parseInstallFile('lib: ["a" \n', 'p.install'), OpamFormatError);
});

test('every section goes to its directory of the prefix', () => {
  const p = '/P';
  const dirs = {
    lib: '/P/lib/pkg', libexec: '/P/lib/pkg', lib_root: '/P/lib', libexec_root: '/P/lib', bin: '/P/bin', sbin: '/P/sbin',
    toplevel: '/P/lib/toplevel', stublibs: '/P/lib/stublibs', share: '/P/share/pkg', share_root: '/P/share', etc: '/P/etc/pkg',
    doc: '/P/doc/pkg', man: '/P/man',
  } as const;
  for (const [section, dir] of Object.entries(dirs)) assert.equal(sectionDir(section as keyof typeof dirs, p, 'pkg'), dir, section);
});

test('installing: modes, man sections, renames, .exe fallback; the source stays in the build dir', () => {
  const build = buildDirWith('ok', ['tool', 'lib.a', 'doc/manual.3', 'page.1.gz', 'native.exe', 'dir/x']);
  const prefix = join(work, 'ok', 'prefix');
  const lines: string[] = [];
  const spec = parseInstallFile(
    'bin: ["tool" "native" "?nope"]\nlib: ["lib.a" {"renamed/lib.a"}]\nman: ["doc/manual.3" "page.1.gz" "dir/x" {"mann/x.n"}]\n',
    'pkg.install',
  );
  const { installed } = installFromSpec(spec, build, prefix, 'pkg', (l) => lines.push(l));
  const rel = installed.map((f) => f.dest.slice(prefix.length + 1)).sort();
  assert.deepEqual(rel, ['bin/native.exe', 'bin/tool', 'lib/pkg/renamed/lib.a', 'man/man1/page.1.gz', 'man/man3/manual.3', 'man/mann/x.n']);
  assert.equal(statSync(join(prefix, 'bin', 'tool')).mode & 0o777, 0o755);
  assert.equal(statSync(join(prefix, 'lib', 'pkg', 'renamed', 'lib.a')).mode & 0o777, 0o644);
  assert.equal(readFileSync(join(prefix, 'lib', 'pkg', 'renamed', 'lib.a'), 'utf8'), 'lib.a\n');
  assert.ok(existsSync(join(build, 'tool')));
  assert.ok(lines.some((l) => /optional nope absent, skipped/.test(l)));
});

test('missing files, directories and escapes fail the install, all named', () => {
  const build = buildDirWith('bad', ['present', 'adir/f']);
  const prefix = join(work, 'bad', 'prefix');
  const spec = parseInstallFile('lib: ["present" "missing.cmxa" "adir"]\nshare_root: ["present" {"../../outside"}]\n', 'pkg.install');
  assert.throws(
    () => installFromSpec(spec, build, prefix, 'pkg', () => {}),
    (e: unknown) =>
      e instanceof InstallError &&
      e.message === 'pkg.install: cannot install missing.cmxa to lib/pkg (missing), adir (a directory), present -> ../../outside (escapes the prefix)',
  );
  assert.ok(!existsSync(join(work, 'bad', 'outside')));
});
