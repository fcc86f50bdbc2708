/**
 * The synthetic ecosystem's transformation on small hand-made opam files: the solving fields kept as they
 * were (same syntax trees), everything that builds replaced by the trivial build, compiler packages left
 * out, slices closed under depends and depopts, a file that does not parse named and skipped, the output
 * the same bytes every time, and the input never written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Item } from '../../src/opam/ast.js';
import { parseOpamFile } from '../../src/opam/parser.js';
import { astEqual } from '../../src/opam/printer.js';
import { KEPT_FIELDS, readRepositoryFiles, synthesize, writeOverlay, type SourcePackage } from '../../src/session/synthetic-ecosystem.js';
import { SessionError } from '../../src/session/session-error.js';

const APP = `opam-version: "2.0"
name: "app"
version: "1.0"
synopsis: "An application"
maintainer: "someone"
depends: [
  "ocaml" {>= "4.08" & < "5.0"}
  "lib" {>= "2.0" | = "1.0~beta"}
  ("alt-a" | "alt-b" {build})
  "tester" {with-test & os != "win32"}
  "documenter" {with-doc}
  "dune" {post}
]
depopts: ["opt" {>= "1"}]
conflicts: ["bad" {< "3"} "worse"]
conflict-class: "app-class"
available: arch != "arm32" & os-family != "windows"
flags: [avoid-version]
tags: ["flags:light-uninstall" "org:mirage"]
build: [["dune" "build" "-p" name "-j" jobs] ["dune" "runtest"] {with-test}]
install: ["cp" "a" "%{bin}%/a"]
remove: ["rm" "%{bin}%/a"]
run-test: ["make" "test"]
patches: ["fix.patch" {os = "linux"}]
substs: ["config.ml"]
extra-files: ["fix.patch" "md5=00000000000000000000000000000000"]
depexts: [["libgmp-dev"] {os-family = "debian"}]
setenv: [APP_HOME = "%{share}%/app"]
build-env: [CFLAGS = "-O2"]
x-ci-accept-failures: ["debian-11"]
url {
  src: "https://example.invalid/app-1.0.tar.gz"
  checksum: "sha256=0000000000000000000000000000000000000000000000000000000000000000"
}
extra-source "data.tgz" {
  src: "https://example.invalid/data.tgz"
}
`;

function pkg(name: string, version: string, text: string): SourcePackage {
  return { name, version, file: `packages/${name}/${name}.${version}/opam`, text };
}

const simple = (name: string, version: string, extra = '') => pkg(name, version, `opam-version: "2.0"\n${extra}`);

/** A small repository: app and its cone, compiler packages, and an unrelated package. */
function ecosystem(): SourcePackage[] {
  return [
    pkg('app', '1.0', APP),
    simple('lib', '1.0~beta'),
    simple('lib', '2.0', 'depends: ["deep"]\n'),
    simple('deep', '1'),
    simple('alt-a', '1'),
    simple('alt-b', '1'),
    simple('tester', '1'),
    simple('documenter', '1'),
    simple('dune', '3.0', 'depends: ["ocaml" "base-unix"]\n'),
    simple('opt', '1', 'depends: ["opt-dep"]\n'),
    simple('opt-dep', '1'),
    simple('bad', '1'),
    simple('unrelated', '1', 'depends: ["dune"]\n'),
    simple('ocaml', '4.14.2', 'depends: ["ocaml-base-compiler" | "ocaml-system"]\nflags: conf\n'),
    simple('ocaml-base-compiler', '4.14.2', 'depends: ["ocaml" {= "4.14.2" & post} "base-unix" {post}]\nflags: compiler\n'),
    simple('ocaml-system', '4.14.2', 'flags: [compiler avoid-version]\n'),
    simple('base-unix', 'base'),
    simple('my-compiler', '1', 'tags: ["flags:compiler"]\ndepends: ["compiler-helper"]\n'),
    simple('uses-my-compiler', '1', 'depends: ["my-compiler"]\n'),
    simple('compiler-helper', '1'),
  ];
}

function variables(text: string): Item[] {
  return parseOpamFile(text, 'out').items.filter((i) => i.kind === 'variable' || i.kind === 'section');
}

test('the solving fields are kept as they were (same syntax trees); everything that builds is replaced', () => {
  const eco = synthesize(ecosystem(), { kind: 'names', names: ['app'] });
  const app = eco.packages.find((p) => p.name === 'app');
  assert.ok(app, 'app is in the overlay');
  assert.equal(app.path, 'packages/app/app.1.0/opam');
  const original = parseOpamFile(APP, 'in').items;
  const out = variables(app.text);
  for (const field of KEPT_FIELDS) {
    const before = original.find((i) => i.kind === 'variable' && i.name === field);
    const after = out.find((i) => i.kind === 'variable' && i.name === field);
    assert.ok(before && after, `${field} kept`);
    assert.ok(astEqual(before, after), `${field}: the same tree`);
  }
  const names = out.map((i) => (i.kind === 'variable' ? i.name : `section ${i.sectionKind}`));
  assert.deepEqual(names, [...KEPT_FIELDS, 'build', 'install'], 'kept fields in file order, then the trivial build; nothing else');
  const build = out.find((i) => i.kind === 'variable' && i.name === 'build');
  const install = out.find((i) => i.kind === 'variable' && i.name === 'install');
  assert.ok(build && install);
  assert.ok(
    astEqual(build, parseOpamFile(`build: [["sh" "-c" "printf '%s\\\\n' \\"$1\\" > synthetic-build" "sh" "app.1.0"]]`, 'x').items[0]!),
    app.text,
  );
  assert.ok(
    astEqual(
      install,
      parseOpamFile('install: [["mkdir" "-p" "%{lib}%/app"] ["cp" "synthetic-build" "%{lib}%/app/app.1.0"]]', 'x').items[0]!,
    ),
    app.text,
  );
  for (const gone of [
    'example.invalid',
    'libgmp-dev',
    'fix.patch',
    'config.ml',
    'APP_HOME',
    'CFLAGS',
    'make',
    'maintainer',
    'debian-11',
    'dune" "build',
  ]) {
    assert.ok(!app.text.includes(gone), `${gone} dropped:\n${app.text}`);
  }
});

test('the trivial build writes NAME.VERSION into %{lib}%/NAME/NAME.VERSION with sh and coreutils', () => {
  const eco = synthesize([simple('we+ird_name', '1.0~rc1+x')], { kind: 'all' });
  const ast = parseOpamFile(eco.packages[0]!.text, 'out');
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-synthetic-'));
  try {
    const lib = join(dir, 'lib');
    for (const field of ['build', 'install']) {
      const item = ast.items.find((i) => i.kind === 'variable' && i.name === field);
      assert.ok(item && item.kind === 'variable' && item.value.kind === 'list');
      for (const command of item.value.items) {
        assert.equal(command.kind, 'list');
        const args = (command.kind === 'list' ? command.items : []).map((a) =>
          a.kind === 'string' ? a.value.replaceAll('%{lib}%', lib) : assert.fail(a.kind),
        );
        execFileSync(args[0]!, args.slice(1), { cwd: dir });
      }
    }
    assert.equal(readFileSync(join(lib, 'we+ird_name', 'we+ird_name.1.0~rc1+x'), 'utf8'), 'we+ird_name.1.0~rc1+x\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a slice is the named packages and their depends/depopts cone; compiler packages are left out', () => {
  const eco = synthesize(ecosystem(), { kind: 'names', names: ['app', 'uses-my-compiler'] });
  const names = [...new Set(eco.packages.map((p) => p.name))];
  assert.deepEqual(names, ['alt-a', 'alt-b', 'app', 'deep', 'documenter', 'dune', 'lib', 'opt', 'opt-dep', 'tester', 'uses-my-compiler']);
  // Conflicts do not pull packages in; a compiler package's own dependencies are the repository behind's.
  assert.ok(!names.includes('compiler-helper'));
  assert.deepEqual(eco.compilerNames, ['base-unix', 'my-compiler', 'ocaml']);
  assert.deepEqual(
    eco.packages.filter((p) => p.name === 'lib').map((p) => p.version),
    ['1.0~beta', '2.0'],
    'every version of a name, by opam version order',
  );
  const all = synthesize(ecosystem(), { kind: 'all' });
  const allNames = new Set(all.packages.map((p) => p.name));
  for (const c of ['ocaml', 'ocaml-base-compiler', 'ocaml-system', 'base-unix', 'my-compiler'])
    assert.ok(!allNames.has(c), `${c} left out`);
  assert.ok(allNames.has('unrelated') && allNames.has('compiler-helper'));
  assert.deepEqual(synthesize(ecosystem(), { kind: 'names', names: ['nowhere'] }).missingNames, ['nowhere']);
});

test('--names N: the N names most depended on (compiler packages not counted), then their cone', () => {
  // dune: app, unrelated; deep: lib; everything else has at most one dependent, ties by name.
  const eco = synthesize(ecosystem(), { kind: 'top', count: 1 });
  assert.deepEqual([...new Set(eco.packages.map((p) => p.name))], ['dune']);
  const two = synthesize(ecosystem(), { kind: 'top', count: 2 });
  assert.deepEqual([...new Set(two.packages.map((p) => p.name))], ['alt-a', 'dune']);
});

test('a file that does not parse, or contradicts its folder, is named by file:line:col and skipped; the others are written', () => {
  const sources = [
    ...ecosystem(),
    pkg('broken', '1', 'opam-version: "2.0"\ndepends: [\n  "lib" {>= "1"\n'),
    pkg('liar', '1', 'opam-version: "2.0"\nname: "someone-else"\n'),
    pkg('zzz', '1', 'opam-version: "2.0"\ndepends: ["broken" "liar"]\n'),
  ];
  const eco = synthesize(sources, { kind: 'all' });
  assert.equal(eco.skipped.length, 2, JSON.stringify(eco.skipped));
  const [broken, liar] = eco.skipped;
  assert.equal(broken!.file, 'packages/broken/broken.1/opam');
  assert.equal(broken!.line, 4);
  assert.ok(broken!.column >= 1);
  assert.deepEqual([liar!.file, liar!.line, liar!.column], ['packages/liar/liar.1/opam', 2, 7]);
  assert.match(liar!.message, /contradicts/);
  const names = new Set(eco.packages.map((p) => p.name));
  assert.ok(names.has('zzz') && names.has('app') && !names.has('broken') && !names.has('liar'));
  assert.deepEqual(synthesize(sources, { kind: 'names', names: ['zzz'] }).missingNames, ['broken', 'liar']);
});

test('the same input gives the same bytes; the overlay is never written into its input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-synthetic-'));
  try {
    const input = join(dir, 'input');
    for (const p of ecosystem()) {
      mkdirSync(join(input, 'packages', p.name, `${p.name}.${p.version}`), { recursive: true });
      writeFileSync(join(input, p.file), p.text);
    }
    // Order of the input does not matter.
    const files = readRepositoryFiles([input]);
    assert.equal(files.length, ecosystem().length);
    const first = synthesize(files, { kind: 'all' });
    const second = synthesize([...files].reverse(), { kind: 'all' });
    assert.deepEqual(second, first);
    writeOverlay(join(dir, 'a'), first, [input]);
    writeOverlay(join(dir, 'b'), second, [input]);
    const listing = (root: string) =>
      execFileSync('sh', ['-c', 'find . -type f | LC_ALL=C sort | xargs sha256sum'], { cwd: root, encoding: 'utf8' });
    assert.equal(listing(join(dir, 'a')), listing(join(dir, 'b')));
    assert.equal(readFileSync(join(dir, 'a', 'repo'), 'utf8'), 'opam-version: "2.0"\n');
    const before = listing(input);
    assert.throws(
      () => writeOverlay(join(input, 'synth'), first, [input]),
      (e: unknown) => e instanceof SessionError && /never written/.test(e.message),
    );
    assert.throws(
      () => writeOverlay(input, first, [join(dir, 'a')]),
      (e: unknown) => e instanceof SessionError && /not empty/.test(e.message),
    );
    assert.throws(
      () => writeOverlay(dir, first, [input]),
      (e: unknown) => e instanceof SessionError,
    );
    assert.equal(listing(input), before, 'the input is unchanged');
    assert.deepEqual(readdirSync(input), ['packages']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
