/**
 * The estimate of what a run's plan adds to the store: a stored layer adds nothing, a cached failure
 * nothing, a missing layer the median of the same package's stored layers, else the median of all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateLayerSpace } from '../../src/session/store-status.js';

test('estimate: stored layers count as there, cached failures as nothing, the rest by package or by median', () => {
  const stored = [
    { name: 'k-lib-1', bytes: 100, packageId: 'lib.1.0' },
    { name: 'k-lib-2', bytes: 300, packageId: 'lib.2.0' },
    { name: 'k-other', bytes: 1000, packageId: 'other.1.0' },
    { name: 'k-unknown', bytes: 10, packageId: null },
  ];
  const planned = new Map([
    ['k-lib-1', 'lib.1.0'],
    ['k-lib-3', 'lib.3.0'],
    ['k-failed', 'broken.1.0'],
    ['k-new', 'new.1.0'],
  ]);
  const e = estimateLayerSpace('run #4', planned, stored, new Set(['k-failed']));
  assert.deepEqual(e, {
    plan: 'run #4',
    jobs: 4,
    stored: 1,
    storedBytes: 100,
    failedCached: 1,
    byPackage: 1,
    byMedian: 1,
    // All four stored: 10, 100, 300, 1000 → (100 + 300) / 2.
    medianBytes: 200,
    // lib's median (100, 300 → 200) + the overall median (200).
    newBytes: 400,
  });
  const empty = estimateLayerSpace('the plan given', new Map([['k', 'x.1']]), []);
  assert.equal(empty.newBytes, 0);
  assert.equal(empty.byMedian, 1);
});
