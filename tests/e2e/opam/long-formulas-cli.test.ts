/**
 * A repository holding 100,000-term formulas and filters: `installable` and `solve` finish with opam's
 * answers and their ordinary exit codes (never 3, a stack overflow); a package nested 100,000 levels deep
 * is one unreadable file with a one-line positioned error, and every other package still loads; a
 * formula whose CNF is exponentially larger than itself makes its own package not installable, with why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../support/snapshot.js';
import { MIN_CACHED_FILES } from '../../../src/opam/repository-cache.js';

const N = 100_000;
const bin = join(projectRoot, 'bin', 'ecocheck');

function terms(make: (i: number) => string, sep: string): string {
  return Array.from({ length: N }, (_, i) => make(i)).join(sep);
}

function makeRepository(root: string): void {
  const write = (name: string, version: string, body: string): void => {
    const dir = join(root, 'packages', name, `${name}.${version}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'opam'), `opam-version: "2.0"\n${body}`);
  };
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'repo'), 'opam-version: "2.0"\n');
  write('ocaml', '5.3.0', 'depends: [ "ocaml-base-compiler" {= "5.3.0"} ]\n');
  write('ocaml-base-compiler', '5.3.0', 'flags: compiler\nconflict-class: "ocaml-core-compiler"\n');
  write('a', '1', '');
  const missing = terms((i) => `"x${i}"`, ' | ');
  write('or-dep', '1', `depends: [ ${missing} | "a" ]\n`);
  write('or-dep-missing', '1', `depends: [ ${missing} ]\n`);
  write('and-dep', '1', `depends: [ ${terms(() => '"a" {>= "1"}', ' & ')} ]\n`);
  write('and-dep-missing', '1', `depends: [ ${terms(() => '"a"', ' & ')} & "x" ]\n`);
  write('list-dep', '1', `depends: [ ${terms(() => '"a"', ' ')} ]\n`);
  write('or-conflict-hit', '1', `depends: ["a"]\nconflicts: [ ${missing} | "a" ]\n`);
  write('and-available', '1', `available: ${terms((i) => `os != "x${i}"`, ' & ')}\n`);
  write('or-available-no', '1', `available: ${terms((i) => `os = "x${i}"`, ' | ')}\n`);
  write('dep-filter', '1', `depends: [ "x" {${terms((i) => `v${i}`, ' | ')}} "a" ]\n`);
  write('cmd-filter', '1', `depends: ["a"]\nbuild: [ [ "make" ] {${terms((i) => `v${i}`, ' | ')}} ]\n`);
  write('deep', '1', `depends: [ ${'('.repeat(N)}"a"${')'.repeat(N)} ]\n`);
  // A CNF of 2^N clauses: refused for this package (a reason, not an exhausted memory), and what needs it.
  write('exponential', '1', `depends: [ ${terms((i) => `"x${i}" & "a"`, ' | ')} ]\n`);
  write('needs-exponential', '1', 'depends: ["exponential"]\n');
  // Just inside the nesting limit: 990 levels of parentheses, read and answered like any other.
  write(
    'nested',
    '1',
    `depends: [ ${'('.repeat(990)}"a" {>= "1"}${')'.repeat(990)} ]\navailable: ${'('.repeat(990)}os != "x"${')'.repeat(990)}\n`,
  );
  // Enough opam files for the repository cache to keep this repository (its value tables hold every formula).
  for (let i = 0; i < MIN_CACHED_FILES; i++) write(`filler${i}`, '1', '');
}

test("installable and solve on 100,000-term formulas: opam's answers, exit 0/1, the deep file one error", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-long-formulas-'));
  try {
    const repo = join(dir, 'repo');
    makeRepository(repo);
    const env = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache'), XDG_DATA_HOME: join(dir, 'data'), HOME: dir };
    const run = (...args: string[]) => {
      const r = spawnSync(process.execPath, [bin, ...args, '--repo', repo], { encoding: 'utf8', env, maxBuffer: 1 << 28 });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    // Twice: the first run reads the files, the second answers from the repository cache.
    for (const pass of ['read', 'cached']) {
      const r = run('installable', '--compiler', '5.3.0', '--json');
      assert.equal(r.code, 0, `${pass}: ${r.stderr.slice(0, 2000)}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr.slice(0, 2000));
      assert.match(lines[0], /deep\.1\/opam:2:\d+: syntax error: nesting deeper than \d+ levels$/);
      const j = JSON.parse(r.stdout) as { results: { package: string; installable: boolean }[] };
      const verdicts = Object.fromEntries(j.results.filter((x) => !x.package.startsWith('filler')).map((x) => [x.package, x.installable]));
      assert.equal(j.results.length, 16 + MIN_CACHED_FILES, pass);
      assert.deepEqual(
        verdicts,
        {
          'a.1': true,
          'and-available.1': true,
          'and-dep.1': true,
          'and-dep-missing.1': false,
          'cmd-filter.1': true,
          'dep-filter.1': true,
          'list-dep.1': true,
          'ocaml.5.3.0': true,
          'ocaml-base-compiler.5.3.0': true,
          'or-available-no.1': false,
          'or-conflict-hit.1': false,
          'or-dep.1': true,
          'or-dep-missing.1': false,
          'exponential.1': false,
          'needs-exponential.1': false,
          'nested.1': true,
        },
        pass,
      );
      if (pass === 'cached')
        assert.ok(
          readdirSync(join(dir, 'cache', 'ecocheck', 'repositories')).some((f) => f.endsWith('.load')),
          'answered from the cache',
        );
      const reason = j.results.find((x) => x.package === 'needs-exponential.1') as unknown as { reason: string };
      assert.match(reason.reason, /exponential\.1 cannot be solved: depends: its formula's CNF would hold more than [\d,]+ atoms/);
    }
    const ok = run('solve', 'or-dep', '--compiler', '5.3.0', '--json');
    assert.equal(ok.code, 0, ok.stderr.slice(0, 2000));
    assert.deepEqual((JSON.parse(ok.stdout) as { packages: { package: string }[] }).packages.map((p) => p.package).sort(), [
      'a.1',
      'ocaml-base-compiler.5.3.0',
      'or-dep.1',
    ]);
    const no = run('solve', 'or-conflict-hit', '--compiler', '5.3.0');
    assert.equal(no.code, 1, no.stderr.slice(0, 2000));
    const filtered = run('solve', 'dep-filter', '--compiler', '5.3.0', '--json');
    assert.equal(filtered.code, 0, filtered.stderr.slice(0, 2000));
    assert.ok(!filtered.stdout.includes('"x.'), 'the filtered-out dependency is not in the solution');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
