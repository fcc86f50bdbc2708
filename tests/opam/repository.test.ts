import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPackage, loadRepositories, versionCount } from '../../src/opam/repository.js';
import { compareVersions } from '../../src/opam/version.js';
import {
  dependencyFormulaToString,
  dependencyVariables,
  evalFilterToBool,
  filterDependencyFormula,
  filterFromValue,
  packageFormulaFromValue,
  packageFormulaToString,
  printFilter,
} from '../../src/opam/filter.js';
import { parseOpamValue } from '../../src/opam/parser.js';
import { OpamError } from '../../src/opam/opam-error.js';
import { describeError } from '../../src/errors/ecocheck-error.js';
import { projectRoot, snapshotRepo } from '../support/snapshot.js';
import { skipWithoutSnapshot } from '../support/missing-setup.js';

const repos = join(projectRoot, 'fixtures', 'repos');
const base = join(repos, 'base');
const overlay = join(repos, 'overlay');

const synopsis = (name: string, version?: string, roots = [base]) => findPackage(loadRepositories(roots), name, version)?.synopsis;

test('a repository loads both layouts, with files/, hashes and ascending versions', () => {
  const load = loadRepositories([base]);
  assert.deepEqual([...load.packages.keys()].sort(), ['bar', 'baz', 'foo', 'ocaml']);
  assert.deepEqual(
    load.packages.get('bar')!.map((p) => p.version),
    ['2.0', '10.0'],
  );
  assert.equal(findPackage(load, 'baz')!.synopsis, 'baz in the flat layout');
  const foo11 = findPackage(load, 'foo', '1.1')!;
  assert.equal(foo11.filesDir, join(base, 'packages', 'foo', 'foo.1.1', 'files'));
  assert.equal(findPackage(load, 'foo', '1.0')!.filesDir, null);
  assert.equal(foo11.contentHash, createHash('sha256').update(readFileSync(foo11.file)).digest('hex'));
  assert.equal(foo11.repository, base);
  assert.deepEqual(findPackage(load, 'ocaml')!.flags, ['compiler']);
  assert.equal(load.fileCount, 6);
  assert.equal(versionCount(load), 6);
  assert.deepEqual([load.errors, load.warnings], [[], []]);
  assert.equal(findPackage(load, 'nope'), undefined);
  assert.equal(findPackage(load, 'foo', '9'), undefined);
  assert.equal(findPackage(load, 'bar')!.version, '10.0', 'no version: the newest');
  assert.equal(findPackage(load, 'bar', '2.00')!.version, '2.0', 'an equal spelling finds the version');
});

test('layering: the first root wins for the same version, the others add versions', () => {
  const load = loadRepositories([overlay, base]);
  assert.deepEqual(
    load.packages.get('foo')!.map((p) => p.version),
    ['1.0', '1.1', '2.0~beta'],
  );
  const foo11 = findPackage(load, 'foo', '1.1')!;
  assert.equal(foo11.synopsis, 'foo from overlay, 1.1');
  assert.equal(foo11.repository, overlay);
  assert.equal(packageFormulaToString(foo11.depends), '"ocaml" {>= "5.0"}');
  assert.equal(findPackage(load, 'foo', '1.0')!.repository, base);
  assert.equal(findPackage(load, 'foo')!.version, '2.0~beta', '2.0~beta is newer than 1.1');
  assert.equal(load.fileCount, 8);
  assert.deepEqual(load.warnings, [], 'shadowing across roots is not a warning');
  // Reversed priority: base wins.
  assert.equal(synopsis('foo', '1.1', [base, overlay]), 'foo from base, 1.1');
});

test('a broken file is reported file:line:column and the rest loads', () => {
  const root = join(repos, 'broken');
  const load = loadRepositories([root]);
  assert.deepEqual(
    [...load.packages].map(([n, ps]) => `${n}:${ps.map((p) => p.version).join(',')}`),
    ['good:1', 'other:0.3'],
  );
  assert.deepEqual(load.errors, [
    { file: join(root, 'packages/good/good.2/opam'), line: 5, column: 1, message: "syntax error: unexpected ']'" },
    {
      file: join(root, 'packages/liar/liar.1.0/opam'),
      line: 2,
      column: 7,
      message: 'name field "honest" contradicts the package folder\'s name "liar"',
    },
    {
      file: join(root, 'packages/other/other.0.1/opam'),
      line: 2,
      column: 10,
      message: 'version field "0.2" contradicts the package folder\'s version "0.1"',
    },
  ]);
  assert.equal(load.fileCount, 5);
});

test("versions equal in opam order within a root: listed under the first folder, defined by the last folder's file, with a warning naming both", () => {
  const root = join(repos, 'equal-versions');
  const load = loadRepositories([root]);
  assert.deepEqual(
    load.packages.get('eq')!.map((p) => [p.version, p.synopsis]),
    [
      ['1.0', 'eq 1.00'],
      ['1.0.0', 'eq 1.0.0-0'],
    ],
  );
  assert.equal(load.packages.get('eq')![0]!.file, join(root, 'packages', 'eq', 'eq.1.00', 'opam'));
  assert.equal(load.warnings.length, 2);
  assert.ok(load.warnings.some((w) => w.message.includes('listed, eq.1.0, defined by the opam file of eq.1.00')));
  assert.ok(load.warnings.some((w) => w.message.includes('listed, eq.1.0.0, defined by the opam file of eq.1.0.0-0')));
});

test('a missing root or a folder that is not a repository is an OpamError naming the argument', () => {
  assert.throws(
    () => loadRepositories([join(repos, 'does-not-exist')]),
    (e: unknown) => e instanceof OpamError && describeError(e).includes('does-not-exist'),
  );
  assert.throws(
    () => loadRepositories([base, join(repos, 'not-a-repo')]),
    (e: unknown) => e instanceof OpamError && /^repository \S*not-a-repo: not an opam repository/.test(describeError(e)),
  );
  assert.throws(
    () => loadRepositories([join(base, 'repo')]),
    (e: unknown) => e instanceof OpamError && /not a directory/.test(describeError(e)),
  );
});

test(
  'the real snapshot: 4,596 names, 18,792 versions, no error, one warning for the introcaml pair',
  { skip: skipWithoutSnapshot() },
  () => {
    const root = snapshotRepo();
    const load = loadRepositories([root]);
    assert.equal(load.packages.size, 4596);
    assert.equal(versionCount(load), 18792);
    assert.equal(load.fileCount, 18793);
    assert.deepEqual(load.errors, []);
    assert.equal(load.warnings.length, 1);
    const w = load.warnings[0]!;
    assert.match(w.message, /listed, ocaml-variants\.5\.5\.0\+introcaml, defined by the opam file of ocaml-variants\.5\.5\.0\+introcaml0/);
    const kept = findPackage(load, 'ocaml-variants', '5.5.0+introcaml')!;
    assert.equal(findPackage(load, 'ocaml-variants', '5.5.0+introcaml0')!.version, '5.5.0+introcaml');
    assert.match(kept.synopsis ?? '', /alpha 0/, "the opam file of …+introcaml0, as opam's solver reads it");
    for (const [, list] of load.packages) {
      for (let i = 0; i + 1 < list.length; i++) assert.ok(compareVersions(list[i]!.version, list[i + 1]!.version) < 0);
    }
    const dune = findPackage(load, 'dune')!;
    assert.ok(dune.url !== null && dune.url.checksums.length > 0);
    assert.equal(dune.contentHash, createHash('sha256').update(readFileSync(dune.file)).digest('hex'));
  },
);

test('on the real snapshot, printed formulas and filters read back to the same meaning', { skip: skipWithoutSnapshot() }, () => {
  const load = loadRepositories([snapshotRepo()]);
  const reread = (text: string, kind: 'conj' | 'disj') => packageFormulaFromValue(parseOpamValue(`[${text}]`, 'printed'), kind);
  const envs = [
    dependencyVariables({ build: true, post: false, test: false, doc: false, dev: false }),
    dependencyVariables({ build: true, post: true, test: true, doc: true, dev: true }),
  ];
  const platform = (packages: string[] | null, v: string) =>
    packages === null
      ? (
          { os: 'linux', arch: 'x86_64', 'os-family': 'debian', 'os-distribution': 'debian', 'ocaml:version': '5.2.0' } as Record<
            string,
            string
          >
        )[v]
      : undefined;
  let checked = 0;
  const mismatches: string[] = [];
  for (const [, list] of load.packages) {
    for (const p of list) {
      for (const [field, kind] of [
        ['depends', 'conj'],
        ['depopts', 'disj'],
        ['conflicts', 'disj'],
      ] as const) {
        const f = p[field];
        if (f.kind === 'empty') continue;
        checked++;
        const g = reread(packageFormulaToString(f), kind);
        // Same evaluated dependencies (blocks aside).
        for (const env of envs) {
          const a = dependencyFormulaToString(filterDependencyFormula(f, env)).replace(/[()]/g, '');
          const b = dependencyFormulaToString(filterDependencyFormula(g, env)).replace(/[()]/g, '');
          if (a !== b) mismatches.push(`${p.file} ${field}: ${a} / ${b}`);
        }
        // Printing again changes at most parentheses (a negated filter re-reads as a negated block).
        const once = packageFormulaToString(g);
        const strip = (t: string) => t.replace(/[()]/g, '');
        if (strip(packageFormulaToString(reread(once, kind))) !== strip(once)) mismatches.push(`${p.file} ${field}: printing drifts`);
      }
      const avail = printFilter(p.available);
      const again = filterFromValue(parseOpamValue(avail, 'printed'));
      if (printFilter(again) !== avail) mismatches.push(`${p.file} available: ${avail}`);
      if (evalFilterToBool(again, platform, false) !== evalFilterToBool(p.available, platform, false))
        mismatches.push(`${p.file} available evaluates differently`);
    }
  }
  assert.ok(checked > 15000, `checked ${checked} formulas`);
  assert.deepEqual(mismatches.slice(0, 10), []);
});
