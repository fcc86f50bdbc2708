import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareVersions, versionsEqual } from '../../src/opam/version.js';
import { projectRoot } from '../support/snapshot.js';

interface Oracle {
  opamVersion: string;
  pairs: [string, '<' | '=', string][];
}

const oracle = JSON.parse(readFileSync(join(projectRoot, 'fixtures', 'versions', 'opam-version-order.json'), 'utf8')) as Oracle;

test('compareVersions agrees with real opam 2.1.2 on every oracle pair, both ways', () => {
  assert.ok(oracle.pairs.length > 500, 'the oracle holds hundreds of pairs');
  const wrong: string[] = [];
  for (const [a, rel, b] of oracle.pairs) {
    const ab = compareVersions(a, b);
    const ba = compareVersions(b, a);
    const ok = rel === '=' ? ab === 0 && ba === 0 : ab < 0 && ba > 0;
    if (!ok) wrong.push(`${a} ${rel} ${b} (got ${ab}/${ba})`);
  }
  assert.deepEqual(wrong, []);
});

test('the issue examples', () => {
  assert.ok(versionsEqual('1.0', '1.00'));
  assert.ok(versionsEqual('0.1.0', '0.01.0'));
  const chains = [
    ['1.2.3~preview', '1.2.3', '1.2.3-option'],
    ['~~', '~', '~beta2', '~beta10', '0.1', '1.0~beta', '1.0', '1.0-test', '1.0.1', '1.0.10', 'dev', 'trunk'],
  ];
  for (const chain of chains) {
    for (let i = 0; i < chain.length; i++) {
      for (let j = 0; j < chain.length; j++) {
        const want = Math.sign(i - j);
        assert.equal(compareVersions(chain[i]!, chain[j]!), want, `${chain[i]} vs ${chain[j]}`);
      }
    }
  }
});

test('the revision after the last "-" is compared only when the rest ties; an empty digit run is 0', () => {
  assert.ok(compareVersions('1.0-1', '1.0+x') < 0, 'upstream 1.0 < 1.0+x decides before the revision');
  assert.ok(compareVersions('1.0-test', '1.0A') < 0);
  assert.ok(versionsEqual('1.0.0', '1.0.0-0'));
  assert.ok(versionsEqual('a', 'a0'));
  assert.ok(versionsEqual('5.5.0+introcaml', '5.5.0+introcaml0'));
  assert.ok(compareVersions('5.5.0+introcaml', '5.5.0+introcaml1') < 0);
  assert.ok(compareVersions('1', '1.0') < 0);
  assert.ok(compareVersions('1.0~', '1.0') < 0);
  assert.ok(compareVersions('1.0a', '1.0.1') < 0, 'a letter sorts before "."');
});

test('compareVersions is a consistent total preorder on the oracle versions (sorting is stable under it)', () => {
  const versions = [...new Set(oracle.pairs.flatMap(([a, , b]) => [a, b]))];
  const sorted = [...versions].sort(compareVersions);
  for (let i = 0; i + 1 < sorted.length; i++) assert.ok(compareVersions(sorted[i]!, sorted[i + 1]!) <= 0);
  // Reverse input gives the same classes in the same order.
  const sorted2 = [...versions].reverse().sort(compareVersions);
  for (let i = 0; i < sorted.length; i++) assert.equal(compareVersions(sorted[i]!, sorted2[i]!), 0);
});
