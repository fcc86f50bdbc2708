/** NAME.install files: reading (opam syntax, positions in errors) and installing into a prefix. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installFromSpec, InstallError, parseInstallFile, readBuildInstallFile, sectionDir } from '../../src/builder/install-file.js';
import { makeHostVictim } from '../support/host-victim.js';
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
  assert.throws(
    () => parseInstallFile('lib: [\n  42\n]\n', 'p.install'),
    (e: unknown) => e instanceof OpamFormatError && /^p\.install:2:3: lib: expected a file name string/.test(e.message),
  );
  assert.throws(() => parseInstallFile('bin: ["a" {"/abs"}]\n', 'p.install'), /p\.install:1:\d+: bin: \/abs is an absolute path/);
  assert.throws(() => parseInstallFile('misc: ["a" {"rel"}]\n', 'p.install'), /misc: rel is not an absolute path/);
  assert.throws(() => parseInstallFile('lib: ["a" \n', 'p.install'), OpamFormatError);
});

test('every section goes to its directory of the prefix', () => {
  const p = '/P';
  const dirs = {
    lib: '/P/lib/pkg',
    libexec: '/P/lib/pkg',
    lib_root: '/P/lib',
    libexec_root: '/P/lib',
    bin: '/P/bin',
    sbin: '/P/sbin',
    toplevel: '/P/lib/toplevel',
    stublibs: '/P/lib/stublibs',
    share: '/P/share/pkg',
    share_root: '/P/share',
    etc: '/P/etc/pkg',
    doc: '/P/doc/pkg',
    man: '/P/man',
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
      e.message ===
        'pkg.install: cannot install missing.cmxa to lib/pkg (missing), adir (a directory), present -> ../../outside (escapes the prefix)',
  );
  assert.ok(!existsSync(join(work, 'bad', 'outside')));
});

// The build directory and the prefix are the package's: what a hostile build leaves there.

test("dune's relative links from _build/install into _build/default install what they point to", () => {
  const build = buildDirWith('dune', ['_build/default/bin/main.exe', '_build/default/META.pkg', '_build/default/src/pkg.cma']);
  const prefix = join(work, 'dune', 'prefix');
  mkdirSync(join(build, '_build/install/default/bin'), { recursive: true });
  mkdirSync(join(build, '_build/install/default/lib/pkg'), { recursive: true });
  symlinkSync('../../../default/bin/main.exe', join(build, '_build/install/default/bin/tool'));
  symlinkSync('../../../../default/META.pkg', join(build, '_build/install/default/lib/pkg/META'));
  symlinkSync('../../../../default/src/pkg.cma', join(build, '_build/install/default/lib/pkg/pkg.cma'));
  writeFileSync(
    join(build, 'pkg.install'),
    'lib: ["_build/install/default/lib/pkg/META" "_build/install/default/lib/pkg/pkg.cma"]\nbin: ["_build/install/default/bin/tool"]\n',
  );
  const spec = readBuildInstallFile(build, 'pkg', '/home/opam/.opam/default/.opam-switch/build/pkg.1');
  assert.ok(spec);
  const { installed } = installFromSpec(spec, build, prefix, 'pkg', () => {}, '/home/opam/.opam/default/.opam-switch/build/pkg.1');
  assert.equal(installed.length, 3);
  assert.equal(readFileSync(join(prefix, 'bin/tool'), 'utf8'), '_build/default/bin/main.exe\n');
  assert.equal(readFileSync(join(prefix, 'lib/pkg/META'), 'utf8'), '_build/default/META.pkg\n');
  assert.ok(lstatSync(join(prefix, 'bin/tool')).isFile(), 'a copy, not a link');
  assert.equal(readBuildInstallFile(join(work, 'dune'), 'absent'), null);
});

test('a NAME.install that is a link out of the build directory or a FIFO is refused, unread', () => {
  const host = makeHostVictim(mkdtempSync(join(work, 'host-')));
  const before = host.snapshot();
  const build = buildDirWith('hostile-dot-install', ['x']);
  symlinkSync(host.secret, join(build, 'leak.install'));
  assert.equal(spawnSync('mkfifo', [join(build, 'fifo.install')]).status, 0);
  const started = Date.now();
  for (const [name, reason] of [
    ['leak', /^leak\.install: a symbolic link leading outside the build directory \(to .*\)$/],
    ['fifo', /^fifo\.install: a FIFO, not a regular file$/],
  ] as const) {
    assert.throws(
      () => readBuildInstallFile(build, name),
      (e: unknown) => e instanceof InstallError && reason.test(e.message) && !e.message.includes(host.marker),
    );
  }
  assert.ok(Date.now() - started < 5000, 'the FIFO did not block');
  assert.deepEqual(host.snapshot(), before);
});

test('install entries: a source linking out and a destination directory the build made a link are refused; the host is unchanged', () => {
  const host = makeHostVictim(mkdtempSync(join(work, 'host-')));
  const before = host.snapshot();
  const build = buildDirWith('hostile-entries', ['ok.txt', 'payload']);
  const prefix = join(work, 'hostile-entries', 'prefix');
  symlinkSync(host.secret, join(build, 'shadow'));
  mkdirSync(join(prefix, 'lib'), { recursive: true });
  symlinkSync(host.victimDir, join(prefix, 'lib', 'pkg')); // planted in the switch by the build
  mkdirSync(join(prefix, 'share'), { recursive: true });
  symlinkSync(host.dir, join(prefix, 'share', 'pkg'));
  const spec = parseInstallFile('doc: ["ok.txt" "shadow"]\nlib: ["payload"]\nshare: ["payload" {"victim/one"}]\n', 'pkg.install');
  assert.throws(
    () => installFromSpec(spec, build, prefix, 'pkg', () => {}),
    (e: unknown) =>
      e instanceof InstallError &&
      e.message ===
        `pkg.install: cannot install payload (lib/pkg: a symbolic link where a directory is expected), payload (share/pkg: a symbolic link where a directory is expected), shadow (shadow: a symbolic link leading outside the build directory (to ${host.secret}))`,
  );
  assert.deepEqual(host.snapshot(), before, 'nothing of the host changed');
  assert.equal(readFileSync(join(prefix, 'doc/pkg/ok.txt'), 'utf8'), 'ok.txt\n');
  assert.ok(!existsSync(join(prefix, 'doc/pkg/shadow')));
  // An existing destination that is a link is replaced, not written through (opam removes it first).
  mkdirSync(join(prefix, 'bin'));
  symlinkSync(host.secret, join(prefix, 'bin', 'payload'));
  installFromSpec(parseInstallFile('bin: ["payload"]\n', 'pkg.install'), build, prefix, 'pkg', () => {});
  assert.equal(readFileSync(join(prefix, 'bin/payload'), 'utf8'), 'payload\n');
  assert.deepEqual(host.snapshot(), before);
});
