/**
 * The user's whole flow on the shell fixture ecosystem, as they type it: `check --baseline`,
 * `check --compiler …` (compared with that baseline, exit 1 on regressions), `report` in every format,
 * `rerun`, retries telling a flaky failure from a real one, and the project config's compiler names.
 * The fixture copy gets three packages of this test's own, so every comparison category occurs:
 * one that fails only with the old compiler (fixed), one that needs the old compiler (newly not
 * installable), and one that fails only on its first attempt (flaky).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../support/snapshot.js';
import { instantiateEcosystem } from '../../support/fixture-ecosystem.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';
import { openDatabase } from '../../../src/store/database.js';
import { listRuns } from '../../../src/store/runs.js';
import { checkAgainstSchema } from '../../support/json-schema-check.js';
import { comparisonJsonSchema } from '../../../src/report/json-report.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const sandboxArgs = sandboxAvailable().ok ? [] : ['--no-sandbox'];

function ecocheck(args: string[], cwd: string = projectRoot): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function addPackage(root: string, name: string, opam: string): void {
  const dir = join(root, 'packages', name, `${name}.1.0`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'opam'), `opam-version: "2.0"\nsynopsis: "compare test: ${name}"\n${opam}`);
}

interface JsonPackage {
  key: string;
  category: string;
  rootCause: string | null;
  detail: string;
}
interface JsonComparison {
  schema: string;
  counts: Record<string, number>;
  total: number;
  rootCauses: { package: string; category: string | null; dependents: string[] }[];
  packages: JsonPackage[];
}

function categories(c: JsonComparison): Record<string, string> {
  return Object.fromEntries(
    c.packages.map((p) => [p.key, p.category === 'dependency-regressed' ? `dependency-regressed(${p.rootCause})` : p.category]),
  );
}

test('baseline then candidate: the exact category of every package, the root cause of every cascade, every report format', () => {
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-compare-'));
  try {
    addPackage(
      eco.root,
      'was-broken',
      'depends: ["ocaml"]\nbuild: ["sh" "-c" "test %{ocaml:version}% != 1.0 || { echo \'Error: needs the 2.0 compiler\'; exit 1; }"]\n',
    );
    addPackage(eco.root, 'needs-old', 'depends: ["ocaml" {< "2.0"}]\nbuild: ["true"]\n');
    const common = ['--repo', eco.root, '--state-dir', state, '--jobs', '2', ...sandboxArgs];

    const base = ecocheck(['check', '--baseline', '--compiler', '1.0', ...common]);
    assert.equal(base.code, 0, base.stderr);
    assert.match(base.stdout, /baseline/);

    const cand = ecocheck(['check', '--compiler', '2.0', '--format', 'json', ...common]);
    assert.equal(cand.code, 1, `regressions exit 1\n${cand.stderr}`);
    const c = JSON.parse(cand.stdout) as JsonComparison;
    assert.equal(c.schema, 'ecocheck.comparison/1');
    assert.deepEqual(checkAgainstSchema(c, comparisonJsonSchema), []);
    assert.deepEqual(categories(c), {
      'bad-checksum': 'spurious',
      'broken-install': 'still-failing',
      'chain-a': 'regressed',
      'chain-b': 'dependency-regressed(chain-a)',
      'chain-c': 'dependency-regressed(chain-a)',
      'depopt-user': 'still-ok',
      installer: 'still-ok',
      'legacy-lib': 'regressed',
      'needs-new': 'newly-installable',
      'needs-old': 'newly-not-installable',
      ocaml: 'still-ok',
      'ocaml-base-compiler': 'still-ok',
      'optional-feature': 'still-ok',
      patched: 'still-ok',
      stdext: 'still-ok',
      'was-broken': 'fixed',
    });
    // Counts add up, and root causes are kept apart from the cascades they cause.
    assert.equal(
      Object.values(c.counts).reduce((a, b) => a + b, 0),
      c.total,
    );
    assert.equal(c.total, 16);
    const chainA = c.rootCauses.find((r) => r.package === 'chain-a');
    assert.deepEqual(chainA?.dependents, ['chain-b', 'chain-c']);
    assert.deepEqual(c.rootCauses.find((r) => r.package === 'legacy-lib')?.dependents, []);
    assert.match(c.packages.find((p) => p.key === 'chain-a')!.detail, /effect is a keyword since fakeml 2\.0/);

    // The retry of the two regressions is recorded as its own run of the candidate; both stay regressed.
    const db = openDatabase(join(state, 'ecocheck.sqlite'), { readonly: true });
    const kinds = listRuns(db)
      .reverse()
      .map((r) => `${r.kind}:${r.status}`);
    db.close();
    assert.deepEqual(kinds, ['baseline:finished', 'candidate:finished', 'retry:finished']);

    // report reads the newest run and its baseline: same verdict, every format, exit 1.
    const md = ecocheck(['report', '--state-dir', state, '--format', 'markdown']);
    assert.equal(md.code, 1, md.stderr);
    assert.match(md.stdout, /\*\*chain-a\*\* \(regressed\): 2 packages fail because of it/);
    const mdFile = join(state, 'comment.md');
    assert.equal(ecocheck(['report', '--state-dir', state, '--format', 'markdown', '--output', mdFile]).code, 1);
    assert.equal(readFileSync(mdFile, 'utf8'), md.stdout);
    const term = ecocheck(['report', '--state-dir', state]);
    assert.match(term.stdout, /Regressed\s*│\s*2/);
    assert.doesNotMatch(term.stdout, /\x1b\[/, 'no colours when stdout is not a TTY');
    const html = ecocheck(['report', '--state-dir', state, '--format', 'html']);
    assert.match(html.stdout, /^<!DOCTYPE html>/i);
    assert.match(html.stdout, /chain-a/);
    // The baseline alone: a single-run report, exit 0.
    const single = ecocheck(['report', '--state-dir', state, '--run', '1', '--format', 'json']);
    assert.equal(single.code, 0, single.stderr);
    assert.equal((JSON.parse(single.stdout) as { schema: string }).schema, 'ecocheck.run/1');

    // rerun --regressed builds again only the regressions (and their cascades), compared with the same baseline.
    const rerun = ecocheck(['rerun', '--regressed', '--state-dir', state, '--format', 'json', ...sandboxArgs]);
    assert.equal(rerun.code, 1, rerun.stderr);
    const r = JSON.parse(rerun.stdout) as JsonComparison;
    assert.deepEqual(categories(r), {
      'bad-checksum': 'spurious',
      'chain-a': 'regressed',
      'chain-b': 'dependency-regressed(chain-a)',
      'chain-c': 'dependency-regressed(chain-a)',
      'legacy-lib': 'regressed',
    });
    assert.match(rerun.stderr, /jobs: 3 built/, 'chain-a, legacy-lib and bad-checksum rebuilt; everything else cached');

    // Usage mistakes: one line, exit 2.
    for (const args of [
      ['report', '--state-dir', state, '--format', 'pdf'],
      ['report', '--state-dir', state, '--run', '99'],
      ['check', '--against', '1', '--baseline', ...common],
      ['check', ...common],
    ]) {
      const bad = ecocheck(args);
      assert.equal(bad.code, 2, args.join(' '));
      assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
      assert.match(bad.stderr, /^ecocheck: /);
    }
  } finally {
    eco.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});

test('a failure that does not happen again on the retry is flaky: spurious, never a regression', () => {
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-flaky-'));
  const marker = join(state, 'flaky-marker');
  try {
    // Fails on its first build with the 2.0 compiler only, builds on the next: needs to write outside its
    // build directory, so this test runs without the sandbox.
    addPackage(
      eco.root,
      'flaky',
      `depends: ["ocaml"]\nbuild: ["sh" "-c" "test %{ocaml:version}% = 1.0 || test -e ${marker} || { touch ${marker}; echo 'Error: flaky network of tubes'; exit 1; }"]\n`,
    );
    const common = ['--repo', eco.root, '--state-dir', state, '--jobs', '2', '--no-sandbox'];
    assert.equal(ecocheck(['check', '--baseline', '--compiler', '1.0', 'flaky', 'chain-a', ...common]).code, 0);
    const cand = ecocheck(['check', '--compiler', '2.0', '--format', 'json', 'flaky', 'chain-a', ...common]);
    assert.equal(cand.code, 1, cand.stderr);
    assert.ok(existsSync(marker));
    const c = JSON.parse(cand.stdout) as JsonComparison;
    assert.deepEqual(categories(c), { 'chain-a': 'regressed', flaky: 'spurious' });
    assert.match(c.packages.find((p) => p.key === 'flaky')!.detail, /flaky: build-failed on the first attempt, ok on the retry/);
    // --retries 0: no second attempt, the first failure stands.
    rmSync(marker);
    const noRetry = ecocheck(['check', '--compiler', '2.0', '--format', 'json', '--retries', '0', 'flaky', 'chain-a', ...common]);
    // The flaky package's failure from the first candidate was forgotten by the retry and its success
    // cached, so it is ok now: cached results are reused across runs.
    assert.deepEqual(categories(JSON.parse(noRetry.stdout) as JsonComparison), { 'chain-a': 'regressed', flaky: 'still-ok' });
  } finally {
    eco.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});

test('compiler names come from ecocheck.json; without one, baseline is the newest stable compiler', () => {
  const eco = instantiateEcosystem();
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-config-'));
  try {
    writeFileSync(
      join(dir, 'ecocheck.json'),
      JSON.stringify({ repositories: [eco.root], compilers: { baseline: '1.0', next: 'ocaml-base-compiler.2.0' } }),
    );
    const fromConfig = ecocheck(['compilers', '--json'], dir);
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    const rows = (JSON.parse(fromConfig.stdout) as { compilers: { name: string; spec: string; packages: string[] }[] }).compilers;
    assert.deepEqual(rows.find((r) => r.name === 'baseline')?.packages, ['ocaml-base-compiler.1.0']);
    assert.deepEqual(rows.find((r) => r.name === 'next')?.packages, ['ocaml-base-compiler.2.0']);
    // --repo without --config ignores the project's config: the defaults apply.
    const defaults = JSON.parse(ecocheck(['compilers', '--json', '--repo', eco.root], dir).stdout) as {
      compilers: { name: string; spec: string }[];
    };
    assert.equal(defaults.compilers.find((r) => r.name === 'baseline')?.spec, 'ocaml-base-compiler.2.0');
    // A broken config is one clear line naming the file, line and column.
    writeFileSync(join(dir, 'ecocheck.json'), '{\n  "repositories": ["x"],\n  oops\n}\n');
    const bad = ecocheck(['compilers'], dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /ecocheck\.json:3:3: invalid JSON/);
  } finally {
    eco.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--compiler ./tree: a local compiler source tree is built as the compiler package, keyed by its content', () => {
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-tree-'));
  const tree = join(state, 'my-compiler');
  try {
    // The "pull request": the 2.0 fake compiler's sources as a checkout, with its VERSION file.
    mkdirSync(tree);
    const release = join(eco.root, 'packages', 'ocaml-base-compiler', 'ocaml-base-compiler.2.0', 'files');
    for (const f of ['Makefile', 'compiler.in', 'stdlib.fml']) writeFileSync(join(tree, f), readFileSync(join(release, f)));
    writeFileSync(join(tree, 'VERSION'), '2.0\n');
    const common = ['--repo', eco.root, '--state-dir', state, '--jobs', '2', ...sandboxArgs];
    assert.equal(ecocheck(['check', '--baseline', '--compiler', '1.0', 'chain-c', 'stdext', ...common]).code, 0);

    const first = ecocheck(['check', '--compiler', tree, '--format', 'json', 'chain-c', 'stdext', ...common]);
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stderr, /compiler ocaml-base-compiler\.2\.0\+local/);
    // The root, chain-a, is not one of the compared targets: it is named with its version.
    assert.deepEqual(categories(JSON.parse(first.stdout) as JsonComparison), {
      'chain-c': 'dependency-regressed(chain-a.1.0)',
      stdext: 'still-ok',
    });

    // The same tree again: every job cached.
    const again = ecocheck(['check', '--compiler', tree, '--format', 'json', 'chain-c', 'stdext', ...common]);
    assert.match(again.stderr, /^jobs: 0 built/m);
    // A change in the tree changes the compiler's key and every key above it.
    writeFileSync(join(tree, 'stdlib.fml'), `${readFileSync(join(tree, 'stdlib.fml'), 'utf8')}\n# patched by the pull request\n`);
    const changed = ecocheck(['check', '--compiler', tree, '--format', 'json', 'chain-c', 'stdext', ...common]);
    assert.match(changed.stderr, /ok ocaml-base-compiler\.2\.0\+local/);
    assert.doesNotMatch(changed.stderr, /^jobs: 0 built/m);

    const notTree = ecocheck(['check', '--compiler', state, ...common]);
    assert.equal(notTree.code, 2);
    assert.match(notTree.stderr, /not an OCaml source tree \(no VERSION file\)/);
  } finally {
    eco.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});

test('missing system packages (depexts) are binned apart: named first in the reason and as their own error cluster', () => {
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-depexts-'));
  try {
    // Two packages lacking the same (nonexistent) Debian package, failing with different compiler-ish
    // errors; one whose depext is installed (bash) and fails for its own reason; one lacking a package
    // only on another platform.
    const failing = (msg: string) => `build: ["sh" "-c" "echo 'Error: ${msg}'; exit 1"]\n`;
    addPackage(
      eco.root,
      'needs-gmp',
      `depends: ["ocaml"]\ndepexts: [["ecocheck-no-such-libgmp-dev"] {os-family = "debian"}]\n${failing('gmp.h: No such file')}`,
    );
    addPackage(
      eco.root,
      'needs-gmp-too',
      `depends: ["ocaml"]\ndepexts: [["ecocheck-no-such-libgmp-dev"] {os-family = "debian"}]\n${failing('cannot find -lgmp')}`,
    );
    addPackage(eco.root, 'has-bash', `depends: ["ocaml"]\ndepexts: [["bash"] {os-family = "debian"}]\n${failing('a bug of its own')}`);
    addPackage(
      eco.root,
      'alpine-only',
      `depends: ["ocaml"]\ndepexts: [["ecocheck-no-such-apk"] {os-distribution = "alpine"}]\nbuild: ["true"]\n`,
    );
    const targets = ['needs-gmp', 'needs-gmp-too', 'has-bash', 'alpine-only'];
    // --depexts ignore: built anyway (in host mode a depext without a candidate makes them not installable).
    const r = ecocheck([
      'check',
      '--compiler',
      '1.0',
      '--repo',
      eco.root,
      '--state-dir',
      state,
      '--format',
      'json',
      '--depexts',
      'ignore',
      ...sandboxArgs,
      ...targets,
    ]);
    assert.equal(r.code, 1, `failures in a run compared with nothing: exit 1: ${r.stderr}`);
    const run = JSON.parse(r.stdout) as { clusters: { signature: string; packages: string[] }[]; results?: unknown };
    const clusters = Object.fromEntries(run.clusters.map((c) => [c.signature, c.packages]));
    assert.deepEqual(clusters, {
      'missing system packages (depexts): ecocheck-no-such-libgmp-dev': ['needs-gmp-too.1.0', 'needs-gmp.1.0'],
      'Error: a bug of its own': ['has-bash.1.0'],
    });
    const log = ecocheck(['log', 'needs-gmp', '--state-dir', state]);
    assert.match(log.stdout, /# depexts: ecocheck-no-such-libgmp-dev; not installed: ecocheck-no-such-libgmp-dev/);
    assert.match(ecocheck(['log', 'has-bash', '--state-dir', state]).stdout, /# depexts: bash \(all installed\)/);
  } finally {
    eco.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});

test('a candidate with the compiler under test in an overlay compares with the baseline of the repository behind it', () => {
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-overlay-'));
  const overlay = join(state, 'overlay');
  try {
    // The overlay holds only the compiler under test (here the fixture's 2.0, re-synopsised).
    const from = join(eco.root, 'packages', 'ocaml-base-compiler', 'ocaml-base-compiler.2.0');
    const to = join(overlay, 'packages', 'ocaml-base-compiler', 'ocaml-base-compiler.2.0');
    mkdirSync(join(to, 'files'), { recursive: true });
    writeFileSync(join(overlay, 'repo'), 'opam-version: "2.0"\n');
    writeFileSync(
      join(to, 'opam'),
      readFileSync(join(from, 'opam'), 'utf8').replace(/^synopsis: .*$/m, 'synopsis: "the compiler under test"'),
    );
    for (const f of ['Makefile', 'compiler.in', 'stdlib.fml']) writeFileSync(join(to, 'files', f), readFileSync(join(from, 'files', f)));
    const common = ['--state-dir', state, '--jobs', '2', ...sandboxArgs];
    assert.equal(ecocheck(['check', '--baseline', '--compiler', '1.0', '--repo', eco.root, 'chain-a', 'stdext', ...common]).code, 0);
    const cand = ecocheck([
      'check',
      '--compiler',
      '2.0',
      '--repo',
      overlay,
      '--repo',
      eco.root,
      '--format',
      'json',
      'chain-a',
      'stdext',
      ...common,
    ]);
    assert.equal(cand.code, 1, cand.stderr);
    assert.doesNotMatch(cand.stderr, /no baseline/);
    assert.deepEqual(categories(JSON.parse(cand.stdout) as JsonComparison), { 'chain-a': 'regressed', stdext: 'still-ok' });
  } finally {
    eco.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});

test('--with-test: a target is built with its tests (with-test true, run-test: run, test dependencies in), its dependents without', () => {
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-with-test-'));
  try {
    addPackage(
      eco.root,
      'tested',
      [
        'depends: ["ocaml" "stdext" {with-test}]',
        'build: [["sh" "-c" "echo building"] ["sh" "-c" "touch built-for-tests"] {with-test}]',
        `run-test: [["sh" "-c" "test -e built-for-tests && echo 'Error: 1 of 3 tests failed' && exit 1"]]`,
        '',
      ].join('\n'),
    );
    addPackage(eco.root, 'uses-tested', 'depends: ["ocaml" "tested"]\nbuild: ["true"]\n');
    const common = ['--repo', eco.root, '--state-dir', state, '--jobs', '2', '--compiler', '1.0', '--format', 'json', ...sandboxArgs];
    interface Run {
      results: { id: string; status: string; reason: string }[];
    }
    const statusOf = (r: { stdout: string }) => Object.fromEntries((JSON.parse(r.stdout) as Run).results.map((x) => [x.id, x.status]));

    const plain = ecocheck(['check', 'tested', 'uses-tested', ...common]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(statusOf(plain), { 'tested.1.0': 'ok', 'uses-tested.1.0': 'ok' });
    assert.doesNotMatch(plain.stderr, /stdext/, 'a with-test dependency is not built without --with-test');

    const tested = ecocheck(['check', '--with-test', 'tested', 'uses-tested', ...common]);
    assert.equal(tested.code, 1, `its tests fail: exit 1: ${tested.stderr}`);
    // The target's tests fail; its dependent is built against tested built without tests, which is ok.
    assert.deepEqual(statusOf(tested), { 'tested.1.0': 'build-failed', 'uses-tested.1.0': 'ok' });
    assert.match((JSON.parse(tested.stdout) as Run).results.find((r) => r.id === 'tested.1.0')!.reason, /1 of 3 tests failed/);
    assert.match(tested.stderr, /ok stdext\.1\.0/, 'the test dependency is built');
    const log = ecocheck(['log', 'tested', '--state-dir', state]);
    assert.match(log.stdout, /## test\n/);
  } finally {
    eco.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});
