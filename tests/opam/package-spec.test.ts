import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packageSpecToString, parsePackageSpec } from '../../src/opam/package-spec.js';

test('NAME[.VERSION] splits at the first dot, as OpamPackage.of_string', () => {
  assert.deepEqual(parsePackageSpec('dune'), { name: 'dune', version: null });
  assert.deepEqual(parsePackageSpec('dune.3.17.2'), { name: 'dune', version: '3.17.2' });
  assert.deepEqual(parsePackageSpec('base.v0.15.1'), { name: 'base', version: 'v0.15.1' });
  assert.deepEqual(parsePackageSpec('ocaml-variants.5.5.0+trunk'), { name: 'ocaml-variants', version: '5.5.0+trunk' });
  assert.equal(packageSpecToString({ name: 'seq', version: 'base' }), 'seq.base');
  assert.equal(packageSpecToString({ name: 'seq', version: null }), 'seq');
});

test('what is not a package name or version is refused, not guessed', () => {
  for (const bad of ['', '.1.0', 'dune.', 'a b', 'dune.1 0', '123', 'x/y']) assert.equal(parsePackageSpec(bad), null, bad);
});
