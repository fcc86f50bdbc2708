/**
 * `--compiler DIR` against the real opam-repository, whose compilers from OCaml 5.3 on are split: the
 * url and build live in `ocaml-compiler.X`, and `ocaml-base-compiler.X` only depends on it. A tree is
 * built through both, so that the `ocaml` package and everything above solve as with a release.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRepositories } from '../../src/opam/repository.js';
import type { OpamPackage } from '../../src/opam/package-model.js';
import { addLocalCompiler } from '../../src/session/local-compiler-tree.js';
import { printOpamFile } from '../../src/opam/printer.js';
import { snapshotRepo } from '../support/snapshot.js';
import { skipWithoutSnapshot } from '../support/missing-setup.js';

const skip = skipWithoutSnapshot();
/** One load for every test: each derives its packages into its own copy of the name map. */
let loaded: ReturnType<typeof loadRepositories> | null = null;
function packages(): Map<string, OpamPackage[]> {
  loaded ??= loadRepositories([snapshotRepo()]);
  return new Map([...loaded.packages].map(([k, v]) => [k, [...v]]));
}

function tree(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-local-compiler-'));
  writeFileSync(join(dir, 'VERSION'), `${version}\n\n# more lines, as in OCaml's VERSION file\n`);
  mkdirSync(join(dir, 'stdlib'));
  writeFileSync(join(dir, 'stdlib', 'stdlib.ml'), '(* a source file *)\n');
  return dir;
}

test('a 5.3 tree is built through ocaml-compiler and ocaml-base-compiler, as the real repository splits them', { skip }, () => {
  const load = { packages: packages() };
  const dir = tree('5.3.0');
  try {
    const local = addLocalCompiler(load.packages, dir);
    assert.equal(local.spec, 'ocaml-base-compiler.5.3.0+local');
    const compiler = load.packages.get('ocaml-compiler')!.find((p) => p.version === '5.3.0+local');
    assert.ok(compiler, 'ocaml-compiler.5.3.0+local was added');
    assert.equal(compiler.url?.src, `file://${dir}`);
    assert.ok(compiler.build.length > 0, "it has ocaml-compiler.5.3.0's build commands");
    assert.deepEqual(compiler.extraSources, [], 'the release-only extra-source is left out');
    const base = load.packages.get('ocaml-base-compiler')!.find((p) => p.version === '5.3.0+local')!;
    assert.equal(base.url, null);
    assert.ok(base.flags.includes('compiler'));
    assert.match(printOpamFile(base.ast), /"ocaml-compiler" \{= "5\.3\.0\+local"\}/, 'the base depends on the derived ocaml-compiler');
    assert.doesNotMatch(printOpamFile(base.ast), /"ocaml-compiler" \{= "5\.3\.0"\}/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a 4.14 tree is built as the single-package ocaml-base-compiler of its series', { skip }, () => {
  const load = { packages: packages() };
  const dir = tree('4.14.3');
  try {
    const local = addLocalCompiler(load.packages, dir);
    assert.equal(local.spec, 'ocaml-base-compiler.4.14.3+local');
    const base = load.packages.get('ocaml-base-compiler')!.find((p) => p.version === '4.14.3+local')!;
    assert.equal(base.url?.src, `file://${dir}`);
    assert.ok(base.build.length > 0);
    assert.equal(load.packages.get('ocaml-compiler')?.some((p) => p.version === '4.14.3+local') ?? false, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the tree content is in the derived package: an edit changes it, nothing else does', { skip }, () => {
  const dir = tree('5.3.0');
  try {
    const hashOf = () => {
      const load = { packages: packages() };
      addLocalCompiler(load.packages, dir);
      return load.packages.get('ocaml-compiler')!.find((p) => p.version === '5.3.0+local')!.contentHash;
    };
    const first = hashOf();
    assert.equal(hashOf(), first);
    writeFileSync(join(dir, 'stdlib', 'stdlib.ml'), '(* changed *)\n');
    assert.notEqual(hashOf(), first);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
