import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  extractFirstError,
  failingCommandOutput,
  firstErrorOfLog,
  FIRST_ERROR_NOTE,
  switchRelativeText,
} from '../../src/builder/first-error.js';
import { clusterFailures, normaliseError } from '../../src/compare/error-clusters.js';
import type { PackageRunResult } from '../../src/results/taxonomy.js';
import { projectRoot } from '../support/snapshot.js';
import { withLogVerdicts } from '../support/run-side-json.js';

const DIR = join(projectRoot, 'fixtures', 'build-logs');
interface Fixture {
  file: string;
  firstError: string;
  cluster: string;
}
const FIXTURES: Fixture[] = (JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as { fixtures: Fixture[] }).fixtures;
const text = (file: string) => readFileSync(join(DIR, file), 'utf8');

test('fixture set: real logs and compiler outputs, at least one of each kind', () => {
  for (const kind of ['demo-', 'whole-', 'corpus-', 'ocamlc-4.13.1-', 'ocamlopt-4.13.1-', 'make-', 'dash-', 'bash-']) {
    assert.ok(
      FIXTURES.some((f) => f.file.startsWith(kind)),
      kind,
    );
  }
  assert.ok(FIXTURES.length >= 30);
});

for (const f of FIXTURES) {
  test(`fixture ${f.file}: first error and cluster key`, () => {
    const first = firstErrorOfLog(text(f.file));
    assert.equal(first, f.firstError);
    assert.equal(normaliseError(first!), f.cluster);
  });
}

function result(id: string, logTail: string): PackageRunResult {
  const dot = id.indexOf('.');
  return withLogVerdicts({
    id,
    name: id.slice(0, dot),
    version: id.slice(dot + 1),
    status: 'build-failed',
    reason: '',
    rootCause: null,
    jobKey: 'k',
    durationMs: 1,
    exitCode: 2,
    logPath: null,
    logTail,
    cached: false,
  });
}

test('fixture set: two different errors never share a cluster, and the same error in two shapes shares one', () => {
  const results = FIXTURES.map((f, i) => result(`p${i}.1`, text(f.file)));
  const clusters = clusterFailures(results);
  const expectedOf = (id: string) => FIXTURES[Number(id.slice(1, id.indexOf('.')))].cluster;
  for (const c of clusters)
    assert.equal(
      new Set(c.packages.map(expectedOf)).size,
      1,
      `${c.signature}: ${c.packages.map((p) => FIXTURES[Number(p.slice(1, p.indexOf('.')))].file).join(', ')}`,
    );
  assert.equal(clusters.length, new Set(FIXTURES.map((f) => f.cluster)).size);
  // The only shared clusters, each one error in two shapes: unix.cmxa missing (OCaml 5.3 quotes the
  // path, 4.13 does not), one missing C symbol from ocamlc -custom and ocamlopt, one unbound module
  // with and without make around it, one missing command as dash and bash say it.
  const shared = clusters.filter((c) => c.packages.length > 1).map((c) => [c.signature, c.packages.length]);
  assert.deepEqual(shared.sort(), [
    ["<loc>: undefined reference to `caml_ecocheck_nonexistent'", 2],
    ['Error: Cannot find file %{lib}%/ocaml/unix.cmxa', 4],
    ['Error: Unbound module Missing', 2],
    ['command not found: ecocheck-no-such-tool', 2],
  ]);
});

test("a probe's ocamlfind 'not found' (batteries' Makefile, real corpus output) is not the error", () => {
  const log = text('corpus-batteries.3.6.0-4.13.1-probe-excerpt.log');
  assert.match(log, /ocamlfind: Package `qcheck' not found/);
  assert.doesNotMatch(firstErrorOfLog(log) ?? '', /qcheck/);
  // Constructed: the same probe, then a real compiler error later in the command's output.
  const failing = log.replace(
    /\[exit code 0[^\]]*\]\s*$/,
    'File "src/batString.ml", line 3, characters 2-8:\nError: Unbound module Stream\nmake: *** [Makefile:126: all] Error 1\n[exit code 2 after 1 s]\n',
  );
  assert.equal(firstErrorOfLog(failing), 'Error: Unbound module Stream');
  // Constructed: ocamlfind's message is the cause when nothing but make's summary follows it.
  assert.equal(
    extractFirstError(
      "ocamlfind ocamlc -package camlp4 -c x.ml\nocamlfind: Package `camlp4' not found\nmake[1]: *** [Makefile:12: x.cmo] Error 2\nmake: *** [Makefile:5: all] Error 2",
    ),
    "ocamlfind: Package `camlp4' not found",
  );
});

test("the compiler error is found however long the rest of the output is, not make's summary", () => {
  // Constructed from the ocamlfind shape of the issue: the error, then 80 lines of other output.
  const output = [
    '$ make install    # cwd: /x',
    'File "findlib.ml", line 3, characters 2-8:',
    'Error: Unbound module Stream',
    ...Array.from({ length: 80 }, (_, i) => `install -m 0644 file${i} /home/opam/.opam/default/lib/findlib`),
    'make[1]: *** [Makefile:126: install] Error 1',
    'make: *** [Makefile:14: install] Error 2',
    '[exit code 2 after 1 s]',
  ].join('\n');
  assert.equal(firstErrorOfLog(output), 'Error: Unbound module Stream');
  assert.equal(
    firstErrorOfLog(output.split('\n').slice(-40).join('\n')),
    'make[1]: *** [Makefile:126: install] Error 1',
    "a 40-line tail alone cannot see it (why the builder's note is needed)",
  );
});

test("failingCommandOutput: the failed command's output, not an earlier successful one's", () => {
  const log = [
    '## build',
    '$ ./configure    # cwd: /x',
    'Error: not really (configure printed it and went on)',
    '[exit code 0 after 1 s]',
    '$ make    # cwd: /x',
    'File "a.ml", line 1:',
    'Error: Unbound module Genlex',
    '[exit code 2 after 2 s]',
    '## done',
  ].join('\n');
  assert.equal(failingCommandOutput(log), 'File "a.ml", line 1:\nError: Unbound module Genlex');
  assert.equal(firstErrorOfLog(log), 'Error: Unbound module Genlex');
  assert.equal(failingCommandOutput('Error: bare output'), 'Error: bare output');
});

test("the builder's note wins over the tail (the job's reason and the report agree)", () => {
  const tail = [
    'make: *** [Makefile:126: install] Error 1',
    '[exit code 2 after 1 s]',
    `# ${FIRST_ERROR_NOTE} Error: Unbound module Stream`,
    '# build-failed: build failed: exit code 2 at `make`: Error: Unbound module Stream (3 ms)',
  ].join('\n');
  assert.equal(firstErrorOfLog(tail), 'Error: Unbound module Stream');
});

test('pre-4.12 fatal warnings (constructed in the OCaml 4.07 format) name the warning, and share the 4.12+ key', () => {
  const old =
    'File "e.ml", line 2, characters 13-14:\nWarning 26: unused variable y.\nFile "e.ml", line 1:\nError: Some fatal warnings were triggered (1 occurrences)';
  assert.equal(extractFirstError(old), 'Error (warning 26): unused variable y.');
  assert.equal(normaliseError(extractFirstError(old)!), normaliseError(firstErrorOfLog(text('ocamlc-4.13.1-warning-26-error.out'))!));
});

test('cluster keys: switch and store paths and hashes go, date versions stay', () => {
  assert.equal(switchRelativeText('/home/opam/.opam/default/lib/ocaml/unix.cmxa'), '%{lib}%/ocaml/unix.cmxa');
  assert.equal(switchRelativeText('File "/home/opam/.opam/default/.opam-switch/build/foo.1.0/src/a.ml"'), 'File "src/a.ml"');
  assert.equal(switchRelativeText('/home/opam/.opam/default/.opam-switch/config'), '%{prefix}%/.opam-switch/config');
  assert.equal(normaliseError('Error: menhir 20220210 is required, found 20181113'), 'Error: menhir 20220210 is required, found 20181113');
  assert.notEqual(normaliseError('Error: menhirLib.20220210 not found'), normaliseError('Error: menhirLib.20211230 not found'));
  assert.equal(
    normaliseError('Error: cannot open /nix/store/3x7a9kq2w5-ocaml/lib/x.cmi (3f9a2c71bd0e)'),
    'Error: cannot open <store>/lib/x.cmi (<hash>)',
  );
  assert.equal(
    normaliseError("Error: This expression has type '_weak3 list"),
    normaliseError("Error: This expression has type '_weak12 list"),
  );
});

test("an Error: block ends at ocamlbuild's and dune's own lines (the fixture runs' eleven Stream failures)", () => {
  const run = JSON.parse(readFileSync(join(projectRoot, 'fixtures', 'runs', 'candidate-5.1.json'), 'utf8')) as {
    results: { id: string; logTail: string }[];
  };
  const stream = run.results.filter((r) => /Error: Unbound module Stream/.test(r.logTail));
  assert.equal(stream.length, 11);
  assert.ok(
    stream.some((r) => /Command exited with code 2\./.test(r.logTail)),
    'ocamlbuild logs are among them',
  );
  for (const r of stream) assert.equal(firstErrorOfLog(r.logTail), 'Error: Unbound module Stream', r.id);
});

test('shown paths: a store layer reads like the switch, the host side of the build directory goes', () => {
  const layer = `/root/.cache/ecocheck/store/${'ab12'.repeat(16)}`;
  assert.equal(
    switchRelativeText(`Error: Cannot find file ${layer}/lib/ocaml/unix.cmxa`),
    'Error: Cannot find file %{lib}%/ocaml/unix.cmxa',
  );
  assert.equal(
    switchRelativeText('tar: /root/.cache/ecocheck/build/foo.1.0-aOJVfM/build/src/x.c: Cannot open'),
    'tar: src/x.c: Cannot open',
  );
  assert.equal(switchRelativeText('/usr/lib/x86_64-linux-gnu/libgmp.so'), '/usr/lib/x86_64-linux-gnu/libgmp.so');
});

test("a linker's warning is not its error", () => {
  const out =
    '/usr/bin/ld: warning: libfoo.so.1, needed by x.so, not found\n/usr/bin/ld: cannot find -lgmp: No such file or directory\ncollect2: error: ld returned 1 exit status';
  assert.equal(extractFirstError(out), '/usr/bin/ld: cannot find -lgmp: No such file or directory');
});

test("a from-source candidate's breakages (the real corpus, OCaml 5.3.0 with Stack.top and Mutex.try_lock changed): the compiler's error, never a make, dune, ocamlbuild or omake summary line", () => {
  const candidate = FIXTURES.filter((f) => /\+stack-top\.log$|^corpus-ocaml-compiler\.5\.3\.0\+local-/.test(f.file));
  assert.equal(candidate.length, 5);
  for (const f of candidate) {
    const log = text(f.file);
    // Each log ends in the summary lines of the tool that ran the compiler, after the compiler's error.
    assert.match(log, /^(?:g?make(?:\[\d+\])?: \*\*\* |Command exited with code|\*\*\* Error in directory|\(cd _build)/m, f.file);
    assert.match(firstErrorOfLog(log)!, /^Error(?: \(warning \d+ \[[\w-]+\]\))?: /, f.file);
  }
  // One cluster per distinct error: the one stdlib change shows as three different errors in three packages.
  assert.equal(new Set(candidate.map((f) => f.cluster)).size, candidate.length);
});

test("a command that printed nothing has no first error: the runner's notes on how it started it are not its output", () => {
  // Real: conf-libogg.1's `pkg-config --exists ogg` (the 5.3.0 candidate run), which fails silently.
  const log = text('whole-corpus-conf-libogg.1-5.3.0-silent-command.log');
  assert.match(log, /^# sandbox: bwrap/m);
  assert.match(log, /^# memory limit 4 GiB via cgroup v1/m);
  assert.equal(failingCommandOutput(log), '');
  assert.equal(extractFirstError(failingCommandOutput(log)), null, "the builder's reason then ends at the command");
  assert.equal(firstErrorOfLog(log), 'missing system packages (depexts): libogg-dev');
  // Without the depexts note, nothing from elsewhere in the log (its fetch step's `no url: …`) stands in.
  assert.equal(firstErrorOfLog(log.replace(/^# missing system packages.*$/m, '')), null);
  // The same notes before real output are skipped, and the output kept.
  const withOutput = log.replace('[exit code 1', 'Package ogg was not found in the pkg-config search path.\n[exit code 1');
  assert.equal(
    firstErrorOfLog(withOutput.replace(/^# missing system packages.*$/m, '')),
    'Package ogg was not found in the pkg-config search path.',
  );
});

test('a type error reads the same whether OCaml quotes its types (5.2+) or not (4.x)', () => {
  const omake = FIXTURES.find((f) => f.file === 'corpus-omake.0.10.7-5.3.0+stack-top.log')!;
  assert.equal(
    normaliseError("Error: This expression has type 'a option but an expression was expected of type 'b * 'c * 'd"),
    omake.cluster,
  );
  assert.equal(
    normaliseError('Error: This expression has type "int list" but an expression was expected of type "string list"'),
    'Error: This expression has type int list but an expression was expected of type string list',
  );
  assert.notEqual(
    normaliseError('Error: This expression has type "int list"'),
    normaliseError('Error: This expression has type "int array"'),
  );
});
