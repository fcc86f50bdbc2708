import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOpamFile } from '../../src/opam/parser.js';
import { packageFromAst, packageFromAstWithWarnings, type PackageMeta } from '../../src/opam/package-from-ast.js';
import {
  packageFormulaToString,
  printFilter,
  evalFilterToBool,
  dependencyVariables,
  filterDependencyFormula,
  dependencyFormulaToString,
} from '../../src/opam/filter.js';
import { OpamFormatError } from '../../src/opam/parse-error.js';

const FILE = 'packages/foo/foo.1.2.0/opam';
const meta: PackageMeta = { name: 'foo', version: '1.2.0', file: FILE, repository: '/r', filesDir: null, contentHash: 'abc' };

function load(text: string, m: PackageMeta = meta) {
  return packageFromAst(parseOpamFile(text, FILE), m);
}

function expectError(text: string, line: number, column: number, pattern: RegExp): void {
  assert.throws(
    () => load(text),
    (e: unknown) => {
      assert.ok(e instanceof OpamFormatError, `expected OpamFormatError, got ${String(e)}`);
      assert.equal(e.position.file, FILE);
      assert.deepEqual([e.position.line, e.position.column], [line, column], e.message);
      assert.match(e.detail, pattern);
      return true;
    },
  );
}

const FULL = `opam-version: "2.0"
name: "foo"
version: "1.2.0"
synopsis: "  A test package  "
maintainer: "me"
depends: [
  "ocaml" {>= "4.08" & < "5.3"}
  "dune" {build}
  ("a" | "b" {with-test})
  "alcotest" {with-test & >= "1.0"}
]
depopts: ["lwt" "async"]
conflicts: ["bad" {< "2"} "worse"]
conflict-class: ["ocaml-core-compiler"]
available: arch != "arm32" & os != "win32"
flags: [light-uninstall verbose]
tags: ["org:mirage" "flags:compiler"]
build: [
  ["./configure" "--prefix=%{prefix}%" "--enable-x" {with-test}] {os = "linux"}
  [make "-j%{jobs}%"]
  ["dune" "build" "-p" name]
]
install: [make "install"]
remove: ["rm" "-rf" "%{lib}%/foo"]
run-test: [[make "test"]]
patches: ["fix.patch" "linux.patch" {os = "linux"}]
substs: ["config.ml"]
extra-files: [["fix.patch" "md5=0123456789abcdef0123456789abcdef"]]
depexts: [
  ["libgmp-dev"] {os-family = "debian"}
  ["gmp" "gmp-devel"] {os-distribution = "centos"}
]
setenv: [FOO_PATH += "%{lib}%/foo"]
build-env: [[CFLAGS = "-O2"] [X := "y"]]
x-commit-hash: "deadbeef"
x-ci-accept-failures: ["debian-12"]
unknown-field: "kept in the AST, ignored"
url {
  src: "https://example.org/foo-1.2.0.tar.gz"
  checksum: [
    "sha256=${'a'.repeat(64)}"
    "md5=${'B'.repeat(32)}"
  ]
  mirrors: "https://mirror.example.org/foo-1.2.0.tar.gz"
}
extra-source "data.bin" {
  src: "https://example.org/data.bin"
  checksum: "sha512=${'c'.repeat(128)}"
}
`;

test('every modelled field of a full opam file is read', () => {
  const p = load(FULL);
  assert.equal(p.opamVersion, '2.0');
  assert.equal(p.synopsis, 'A test package');
  assert.equal(
    packageFormulaToString(p.depends),
    '"ocaml" {>= "4.08" & < "5.3"} & "dune" {build} & ("a" | "b" {with-test}) & "alcotest" {with-test & >= "1.0"}',
  );
  assert.equal(packageFormulaToString(p.depopts), '"lwt" | "async"');
  assert.equal(packageFormulaToString(p.conflicts), '"bad" {< "2"} | "worse"');
  assert.deepEqual(p.conflictClass, ['ocaml-core-compiler']);
  assert.equal(printFilter(p.available), 'arch != "arm32" & os != "win32"');
  assert.deepEqual(p.flags, ['light-uninstall', 'verbose', 'compiler']);
  assert.equal(p.build.length, 3);
  assert.deepEqual(
    p.build[0]!.args.map((a) => a.value),
    ['./configure', '--prefix=%{prefix}%', '--enable-x'],
  );
  assert.equal(printFilter(p.build[0]!.args[2]!.filter!), 'with-test');
  assert.equal(printFilter(p.build[0]!.filter!), 'os = "linux"');
  assert.deepEqual(
    p.build[1]!.args.map((a) => [a.kind, a.value]),
    [
      ['ident', 'make'],
      ['string', '-j%{jobs}%'],
    ],
  );
  assert.equal(p.build[2]!.args[3]!.kind, 'ident');
  assert.equal(p.install.length, 1, 'a one-level list is one command');
  assert.deepEqual(
    p.install[0]!.args.map((a) => a.value),
    ['make', 'install'],
  );
  assert.equal(p.remove.length, 1);
  assert.equal(p.runTest.length, 1);
  assert.deepEqual(
    p.patches.map((x) => [x.value, x.filter ? printFilter(x.filter) : null]),
    [
      ['fix.patch', null],
      ['linux.patch', 'os = "linux"'],
    ],
  );
  assert.deepEqual(p.substs, ['config.ml']);
  assert.deepEqual(p.extraFiles, [{ name: 'fix.patch', checksum: { algorithm: 'md5', hex: '0123456789abcdef0123456789abcdef' } }]);
  assert.deepEqual(
    p.depexts.map((d) => [d.packages, d.filter ? printFilter(d.filter) : null]),
    [
      [['libgmp-dev'], 'os-family = "debian"'],
      [['gmp', 'gmp-devel'], 'os-distribution = "centos"'],
    ],
  );
  assert.deepEqual(p.setenv, [{ variable: 'FOO_PATH', op: '+=', value: '%{lib}%/foo' }]);
  assert.deepEqual(p.buildEnv, [
    { variable: 'CFLAGS', op: '=', value: '-O2' },
    { variable: 'X', op: ':=', value: 'y' },
  ]);
  assert.deepEqual(Object.keys(p.extensions).sort(), ['x-ci-accept-failures', 'x-commit-hash']);
  assert.equal(p.extensions['x-commit-hash']!.kind, 'string');
  assert.deepEqual(p.url, {
    src: 'https://example.org/foo-1.2.0.tar.gz',
    checksums: [
      { algorithm: 'sha256', hex: 'a'.repeat(64) },
      { algorithm: 'md5', hex: 'b'.repeat(32) },
    ],
    mirrors: ['https://mirror.example.org/foo-1.2.0.tar.gz'],
  });
  assert.deepEqual(p.extraSources, [
    {
      name: 'data.bin',
      url: { src: 'https://example.org/data.bin', checksums: [{ algorithm: 'sha512', hex: 'c'.repeat(128) }], mirrors: [] },
    },
  ]);
  assert.equal(p.fieldSpans.depends!.start.line, 6);
  assert.equal(p.fieldSpans.url!.start.line, FULL.split('\n').findIndex((l) => l.startsWith('url {')) + 1);
  assert.ok(p.ast.items.some((i) => i.kind === 'variable' && i.name === 'unknown-field'));
  assert.equal(p.contentHash, 'abc');
});

test('evaluated dependencies of the full file, the way a solver asks for them', () => {
  const p = load(FULL);
  const lookup = dependencyVariables({ build: true, post: false, test: false, doc: false, dev: false });
  assert.equal(
    dependencyFormulaToString(filterDependencyFormula(p.depends, lookup)),
    '"ocaml" {>= "4.08" & < "5.3"} & "dune" & ("a")',
    'a block keeps its parentheses, as OpamFormula.map does',
  );
  const withTest = dependencyVariables({ build: true, post: false, test: true, doc: false, dev: false });
  assert.equal(
    dependencyFormulaToString(filterDependencyFormula(p.depends, withTest)),
    '"ocaml" {>= "4.08" & < "5.3"} & "dune" & ("a" | "b") & "alcotest" {>= "1.0"}',
  );
  assert.equal(
    evalFilterToBool(p.available, (_, v) => (v === 'arch' ? 'x86_64' : v === 'os' ? 'linux' : undefined), false),
    true,
  );
  assert.equal(
    evalFilterToBool(p.available, (_, v) => (v === 'arch' ? 'x86_64' : v === 'os' ? 'win32' : undefined), false),
    false,
  );
});

test('defaults for a minimal file', () => {
  const p = load('opam-version: "2.0"\n');
  assert.deepEqual(p.depends, { kind: 'empty' });
  assert.deepEqual(p.available, { kind: 'bool', value: true });
  assert.equal(p.url, null);
  assert.equal(p.synopsis, null);
  assert.deepEqual([p.build, p.flags, p.depexts, p.extraSources], [[], [], [], []]);
});

test('name: and version: that contradict the folder are errors at the field', () => {
  expectError('opam-version: "2.0"\nname: "bar"\n', 2, 7, /name field "bar" contradicts .*"foo"/);
  expectError('opam-version: "2.0"\n\n  version: "1.3"\n', 3, 12, /version field "1.3" contradicts .*"1.2.0"/);
  // Agreeing fields (an equal version spelling included) are fine.
  assert.equal(load('name: "foo"\nversion: "1.2.0"\n').name, 'foo');
  assert.equal(load('version: "1.02.0"\n').version, '1.2.0');
});

test('fields of the wrong shape are positioned errors', () => {
  expectError('depends: [foo]\n', 1, 11, /expected a package, a group or '&'\/'\|', found an identifier foo/);
  expectError('depends: ["foo" {>= 1}]\n', 1, 21, /expected a version .*found an integer 1/);
  expectError('build: [["make"] {os = "linux" dev}]\n', 1, 32, /single filter expression/);
  expectError('build: [["make" ["x"]]]\n', 1, 17, /command argument/);
  expectError('available: [os = "linux" arch = "x"]\n', 1, 26, /single filter expression/);
  expectError('flags: ["verbose"]\n', 1, 9, /flag/);
  expectError('url {\n  checksum: "md5=xyz"\n}\n', 2, 13, /invalid checksum/);
  expectError('url {\n  checksum: "md5=' + '0'.repeat(32) + '"\n}\n', 1, 1, /missing URL/);
  expectError('setenv: [FOO "bar"]\n', 1, 9, /one environment update/);
  expectError('synopsis: ["a"]\n', 1, 11, /synopsis/);
  expectError('depends: ["a"]\ndepends: ["b"]\n', 2, 1, /duplicate field depends/);
});

test('opam cleanups: depopts and conflicts become disjunctions, with a warning; unknown flags are kept, with a warning', () => {
  const { pkg, warnings } = packageFromAstWithWarnings(
    parseOpamFile('opam-version: "2.0"\ndepopts: ["a" & "b"]\nconflicts: ["c" & "d" | "e"]\nflags: [deprecated verbose]\n', FILE),
    meta,
  );
  assert.equal(packageFormulaToString(pkg.depopts), '"a" | "b"');
  assert.equal(packageFormulaToString(pkg.conflicts), '"c" | "d" | "e"');
  // opam keeps an unknown flag (Pkgflag_Unknown); the solver reads `deprecated` as a preference.
  assert.deepEqual(pkg.flags, ['deprecated', 'verbose']);
  assert.equal(warnings.length, 3);
  assert.ok(warnings.some((w) => /Unknown package flags deprecated/.test(w)));
});

test('legacy depexts and build-test forms', () => {
  const p = load('depexts: [[["debian" "amd64"] ["libx-dev"]]]\nbuild-test: [["make" "check"]]\nrun-test: [["make" "t"]]\n');
  assert.deepEqual(
    p.depexts.map((d) => [d.packages, printFilter(d.filter!)]),
    [[['libx-dev'], '"debian" & "amd64"']],
  );
  assert.deepEqual(
    p.runTest.map((c) => c.args.map((a) => a.value).join(' ')),
    ['make check', 'make t'],
  );
});
