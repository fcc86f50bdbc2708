/**
 * `--depexts` (src/host/depexts.ts): the modes by name, the policy each gives on a platform, and the
 * host layer's errors for a bad mode and for a platform whose package manager is not known here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDepextsMode, resolveDepextsPolicy } from '../../src/host/depexts.js';
import { HostError } from '../../src/host/host-error.js';
import { SystemPackageError } from '../../src/host/package-manager.js';
import { describeError } from '../../src/errors/ecocheck-error.js';

const HAIKU = { os: 'haiku', 'os-family': 'haiku' };

test('--depexts: the modes, and host or install without a known package manager is a HostError', () => {
  assert.equal(parseDepextsMode(undefined), undefined);
  assert.equal(parseDepextsMode('install'), 'install');
  assert.throws(
    () => parseDepextsMode('yes'),
    (e: unknown) =>
      e instanceof HostError && e.kind === 'input' && /^depexts "yes": expected one of host, install, ignore$/.test(describeError(e)),
  );
  assert.deepEqual(resolveDepextsPolicy(undefined, HAIKU), { mode: 'ignore', manager: null });
  assert.deepEqual(resolveDepextsPolicy('ignore', { os: 'linux', 'os-family': 'debian' }), { mode: 'ignore', manager: null });
  for (const mode of ['host', 'install'] as const) {
    assert.throws(
      () => resolveDepextsPolicy(mode, HAIKU),
      (e: unknown) =>
        e instanceof HostError &&
        e.kind === 'environment' &&
        new RegExp(`^depexts ${mode}: no known package manager for os-family "haiku"`).test(describeError(e)),
    );
  }
});

test('a failing package manager is a host environment error, in the host layer', () => {
  const e = new SystemPackageError('apt-cache failed');
  assert.ok(e instanceof HostError);
  assert.equal(e.layer, 'host');
  assert.equal(e.kind, 'environment');
});
