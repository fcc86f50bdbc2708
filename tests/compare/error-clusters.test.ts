import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clusterFailures,
  MISSING_SYSTEM_PACKAGES_ERROR,
  normaliseError,
  resultFirstError,
  withoutOwnName,
} from '../../src/compare/error-clusters.js';
import { MISSING_SYSTEM_PACKAGES } from '../../src/builder/system-packages.js';
// The extractor is the builder's (compare takes its result as data): tested here on the logs clustered below.
import { firstErrorOfLog as firstError } from '../../src/builder/first-error.js';
import type { JobStatus, PackageRunResult } from '../../src/results/taxonomy.js';
import { withLogVerdicts } from '../support/run-side-json.js';

/** A result whose first error the builder read from `logTail` (as the store fills in an older record's). */
function result(id: string, status: JobStatus, logTail: string, reason = ''): PackageRunResult {
  const dot = id.indexOf('.');
  return withLogVerdicts({
    id,
    name: id.slice(0, dot),
    version: id.slice(dot + 1),
    status,
    reason,
    rootCause: null,
    jobKey: 'k',
    durationMs: 1,
    exitCode: 1,
    logPath: null,
    logTail,
    cached: false,
  });
}

test('firstError: the OCaml Error line after a File/line/characters location', () => {
  const log = [
    '(cd _build/default && /home/u/.opam/5.1.1/bin/ocamlc.opt -c -impl src/x.ml)',
    'File "src/x.ml", line 3, characters 4-10:',
    '3 |   Stream.of_list l',
    '        ^^^^^^',
    'Error: Unbound module Stream',
    'File "src/y.ml", line 9, characters 0-3:',
    'Error: Unbound value foo',
  ].join('\n');
  assert.equal(firstError(log), 'Error: Unbound module Stream');
});

test('firstError: a multi-line Error keeps its block on one line (two type errors stay two); an empty Error: takes the next line', () => {
  assert.equal(
    firstError('Error: This expression has type int\n       but an expression was expected of type string'),
    'Error: This expression has type int but an expression was expected of type string',
  );
  assert.equal(firstError('File "a.ml", line 1:\nError:\n  The module Foo is missing'), 'Error: The module Foo is missing');
});

test('firstError: warnings turned into errors and uncaught exceptions', () => {
  assert.equal(
    firstError('File "a.ml", line 2, characters 4-7:\nError (warning 32 [unused-value-declaration]): unused value foo.'),
    'Error (warning 32 [unused-value-declaration]): unused value foo.',
  );
  assert.equal(
    firstError('+ ./gen.exe > x.ml\nFatal error: exception Not_found\nmake: *** [Makefile:3: x.ml] Error 2'),
    'Fatal error: exception Not_found',
  );
});

test("firstError: opam's quoted build output (lines prefixed with '# ')", () => {
  const log = [
    '#=== ERROR while compiling foo.1.0 ==========================================#',
    '# context     2.1.2 | linux/x86_64 | ocaml-base-compiler.5.1.1 | file:///repo',
    '# path        ~/.opam/5.1.1/.opam-switch/build/foo.1.0',
    '# command     ~/.opam/opam-init/hooks/sandbox.sh build dune build -p foo -j 2',
    '# exit-code   1',
    '### output ###',
    '# File "src/foo.ml", line 12, characters 10-21:',
    '# Error: Unbound module Pervasives',
  ].join('\n');
  assert.equal(firstError(log), 'Error: Unbound module Pervasives');
});

test('firstError: C compiler, linker, missing commands and configure', () => {
  assert.equal(
    firstError("stubs.c: In function 'f':\nstubs.c:12:5: error: 'caml_young_start' undeclared\ncc1: all warnings"),
    "stubs.c:12:5: error: 'caml_young_start' undeclared",
  );
  assert.equal(
    firstError(
      "/usr/bin/ld: /x/libfoo.a(foo.o): in function `f':\nfoo.c:(.text+0x12): undefined reference to `alloc_string'\ncollect2: error: ld returned 1 exit status",
    ),
    "foo.c:(.text+0x12): undefined reference to `alloc_string'",
  );
  assert.equal(
    firstError('ocamlmklib -o x -lgmp\n/usr/bin/ld: cannot find -lgmp: No such file or directory'),
    '/usr/bin/ld: cannot find -lgmp: No such file or directory',
  );
  assert.equal(firstError('+ autoreconf -fi\nbash: line 1: autoreconf: command not found'), 'bash: line 1: autoreconf: command not found');
  assert.equal(firstError('./configure\nsh: 1: pkg-config: not found\nconfigure: error: gmp not found'), 'sh: 1: pkg-config: not found');
  assert.equal(
    firstError('checking for gcc... no\nconfigure: error: no acceptable C compiler found in $PATH'),
    'configure: error: no acceptable C compiler found in $PATH',
  );
});

test("firstError: make's and opam's failure lines when nothing names the cause; else the last line", () => {
  assert.equal(
    firstError('building\nmake[1]: *** [Makefile:89: scalar.ml] Segmentation fault\nmake: *** [Makefile:37: all] Error 2'),
    'make[1]: *** [Makefile:89: scalar.ml] Segmentation fault',
  );
  assert.equal(firstError('[ERROR] The compilation of foo.1.0 failed at "make".'), '[ERROR] The compilation of foo.1.0 failed at "make".');
  assert.equal(firstError('compiling\nsomething odd happened\n\n   \n'), 'something odd happened');
  assert.equal(firstError(''), null);
  assert.equal(firstError('\n  \n'), null);
});

test('normaliseError: paths, positions, hashes and temp names become placeholders', () => {
  assert.equal(
    normaliseError('File "/home/alice/.opam/5.1.1/lib/foo/foo.ml", line 12, characters 4-10:'),
    'File "<opam>/lib/foo/foo.ml", line <n>, characters <n>-<n>:',
  );
  assert.equal(normaliseError('Error: /tmp/build_4f3a2c_dune/x.ml is missing'), 'Error: <tmp> is missing');
  assert.equal(
    normaliseError('cannot open /nix/store/3x7a9kq2w5-ocaml-5.1.1/lib/ocaml/stdlib.cmi'),
    'cannot open <store>/lib/ocaml/stdlib.cmi',
  );
  assert.equal(
    normaliseError('Error: /usr/local/lib/ocaml/stdlib.cmi is not a compiled interface'),
    'Error: <dir>/stdlib.cmi is not a compiled interface',
  );
  assert.equal(
    normaliseError("stubs.c:215:7: error: implicit declaration of function 'f'"),
    "<loc>: error: implicit declaration of function 'f'",
  );
  assert.equal(
    normaliseError("gmp.c:(.text+0x8a1): undefined reference to `alloc_string'"),
    "<loc>: undefined reference to `alloc_string'",
  );
  assert.equal(
    normaliseError('Error: inconsistent assumptions over implementation 3f9a2c71bd0e'),
    'Error: inconsistent assumptions over implementation <hash>',
  );
  assert.equal(normaliseError('Error: cannot read camlstartup3a1b2c.s'), 'Error: cannot read camlstartup<n>.s');
  assert.equal(normaliseError('make[2]: *** [Makefile:45: foo.o] Error 1'), 'make[2]: *** [Makefile:<n>: foo.o] Error 1');
  assert.equal(normaliseError('  Error:   Unbound   module Stream  '), 'Error: Unbound module Stream');
});

test('normaliseError: keeps what tells causes apart', () => {
  assert.equal(normaliseError('Error: Unbound value String.lowercase'), 'Error: Unbound value String.lowercase');
  assert.notEqual(normaliseError('Error: Unbound module Stream'), normaliseError('Error: Unbound module Genlex'));
  // The library's name stays; its quotes go (compiler versions quote names differently).
  assert.equal(normaliseError('Error: Library "camlp-streams" not found.'), 'Error: Library camlp-streams not found.');
  // A word made of hex letters only is not a hash.
  assert.equal(normaliseError('Error: defaced accepted'), 'Error: defaced accepted');
});

test('clusterFailures: groups own failures by normalised first error, largest first', () => {
  const results = [
    result('a.1.0', 'build-failed', 'File "a.ml", line 3, characters 4-10:\nError: Unbound module Stream'),
    result('b.2.0', 'build-failed', '# File "/home/x/.opam/5.1/build/b/src/b.ml", line 99, characters 1-2:\nError: Unbound module Stream'),
    result('c.0.1', 'install-failed', 'File "c.ml", line 1, characters 0-5:\nError: Unbound module Stream'),
    result('d.1.0', 'build-failed', "x.c:(.text+0x1): undefined reference to `alloc_string'"),
    result('e.1.0', 'build-failed', "y.c:(.text+0xff3): undefined reference to `alloc_string'"),
    result('f.1.0', 'build-failed', '', 'build command failed with exit code 2'),
    result('g.1.0', 'dependency-failed', 'Error: Unbound module Stream'),
    result('h.1.0', 'timeout', 'Error: Unbound module Stream'),
    result('i.1.0', 'ok', ''),
  ];
  const clusters = clusterFailures(results);
  assert.deepEqual(
    clusters.map((c) => [c.signature, c.packages]),
    [
      ['Error: Unbound module Stream', ['a.1.0', 'b.2.0', 'c.0.1']],
      ["<loc>: undefined reference to `alloc_string'", ['d.1.0', 'e.1.0']],
      ['build command failed with exit code 2', ['f.1.0']],
    ],
  );
  assert.equal(clusters[1].example, "x.c:(.text+0x1): undefined reference to `alloc_string'");
});

test('clusterFailures: forty packages with the same cause in different files make one cluster', () => {
  const results = Array.from({ length: 40 }, (_, i) =>
    result(
      `pkg${i}.1.${i}`,
      'build-failed',
      `(cd _build/default && ocamlc -c src/m${i}.ml)\nFile "src/m${i}.ml", line ${i + 1}, characters ${i}-${i + 6}:\nError: Unbound module Stream`,
    ),
  );
  const clusters = clusterFailures(results);
  assert.equal(clusters.length, 1);
  assert.equal(clusters[0].packages.length, 40);
});

test("firstError and normaliseError on ecocheck's own build logs (runner headers, trailers, status line)", () => {
  const log = [
    '# ecocheck 1: building foo.1.0 (job 3f9a2c71bd0e44aa)',
    '$ make -j2    # cwd: /var/cache/ecocheck/build/foo.1.0-Xa12/foo.1.0',
    'ocamlfind ocamlopt -c foo.ml',
    'File "foo.ml", line 8, characters 2-14:',
    'Error: Unbound value Obj.truncate',
    'make: *** [Makefile:12: all] Error 2',
    '[exit code 2 after 3.4 s]',
    '# build-failed: exit code 2 at `make -j2`: Error: Unbound value Obj.truncate (3412 ms)',
  ].join('\n');
  assert.equal(firstError(log), 'Error: Unbound value Obj.truncate');
  const quiet = [
    '$ ./configure    # cwd: /x',
    'checking things... done',
    '[exit code 1 after 0.2 s]',
    '# build-failed: exit code 1 at `./configure` (214 ms)',
  ].join('\n');
  assert.equal(firstError(quiet), 'checking things... done');
  const onlyNotes = [
    '# ecocheck 1: building foo.1.0 (job 3f9a2c71bd0e44aa)',
    '# build-failed: substitution failed: foo.config.in missing (12 ms)',
  ].join('\n');
  assert.equal(firstError(onlyNotes), '# build-failed: substitution failed: foo.config.in missing (12 ms)');
  assert.equal(
    normaliseError(firstError(onlyNotes)!),
    normaliseError('# build-failed: substitution failed: foo.config.in missing (4031 ms)'),
  );
  assert.equal(normaliseError('[exit code 2 after 3.4 s]'), '[exit code 2 after <time>]');
});

test('clusterFailures: the same failure naming each package itself makes one cluster, other names stay', () => {
  const results = ['alpha.1.0', 'bravo.2.3', 'charlie.0.9', 'delta.1.1', 'echo.4.0', 'foxtrot.1.2', 'golf.3.3'].map((id) => {
    const name = id.slice(0, id.indexOf('.'));
    return result(
      id,
      'install-failed',
      `$ make install    # cwd: /x\ncp ${name}.cma dest\n[ERROR] ${name}.install: no such file (for ${id})\n[exit code 2 after 1 s]`,
    );
  });
  results.push(result('stream.1.0', 'build-failed', 'File "a.ml", line 1:\nError: Unbound module Stream'));
  results.push(result('hotel.1.0', 'install-failed', '[ERROR] alpha.install: no such file'));
  const clusters = clusterFailures(results);
  assert.deepEqual(
    clusters.map((c) => [c.signature, c.packages.length]),
    [
      ['[ERROR] <pkg>.install: no such file (for <pkg>.<version>)', 7],
      ['Error: Unbound module Stream', 1],
      ['[ERROR] alpha.install: no such file', 1],
    ],
  );
  assert.equal(
    withoutOwnName('Error: Library "lwt" not found', 'lwt', '5.0'),
    'Error: Library "lwt" not found',
    'a short name is left alone',
  );
});

test('clusters come from the recorded data, not the log: missingSystemPackages bins as depexts, firstError keys the rest', () => {
  const base = (id: string, extra: Partial<PackageRunResult>): PackageRunResult => {
    const dot = id.indexOf('.');
    return {
      id,
      name: id.slice(0, dot),
      version: id.slice(dot + 1),
      status: 'build-failed',
      reason: 'build failed',
      rootCause: null,
      jobKey: 'k',
      durationMs: 1,
      exitCode: 1,
      logPath: null,
      logTail: '',
      firstError: null,
      missingSystemPackages: [],
      cached: false,
      ...extra,
    };
  };
  const results = [
    // The log tail says nothing (nor mentions depexts): the data says the host lacked libgmp-dev.
    base('zarith.1.13', { logTail: 'compiling\n', firstError: 'Error: gmp.h: No such file', missingSystemPackages: ['libgmp-dev'] }),
    base('mlgmpidl.1.2', { firstError: 'ld: cannot find -lgmp', missingSystemPackages: ['libgmp-dev'] }),
    // A log that would say otherwise: the recorded first error wins.
    base('foo.1.0', { logTail: 'Error: Unbound module Genlex', firstError: 'Error: Unbound module Stream' }),
    base('bar.1.0', { firstError: 'Error: Unbound module Stream' }),
    // No first error recorded: the reason.
    base('baz.1.0', { logTail: 'Error: Unbound module Stream', reason: 'substitution failed: baz.config.in missing' }),
    // Not an own failure: missing system packages do not bin it (and it is not clustered at all).
    base('qux.1.0', { status: 'timeout', missingSystemPackages: ['libgmp-dev'] }),
  ];
  assert.deepEqual(
    clusterFailures(results).map((c) => [c.signature, c.packages]),
    [
      ['Error: Unbound module Stream', ['bar.1.0', 'foo.1.0']],
      ['missing system packages (depexts): libgmp-dev', ['mlgmpidl.1.2', 'zarith.1.13']],
      ['substitution failed: baz.config.in missing', ['baz.1.0']],
    ],
  );
  assert.equal(resultFirstError(results[5]), 'build failed', 'a timeout with missing depexts reads its own first error or reason');
  assert.equal(MISSING_SYSTEM_PACKAGES_ERROR, MISSING_SYSTEM_PACKAGES, "the bin reads as the builder's log note does");
});
