/**
 * A bisection step's verdict per package (src/session/bisect.ts's verdictOf): the classification
 * `check` uses, read as good / bad / skip / spurious.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobStatus, PackageRunResult } from '../../src/results/taxonomy.js';
import { verdictOf } from '../../src/session/bisect.js';

function result(status: JobStatus, roots: string[] = []): PackageRunResult {
  return {
    id: 'pkg.1.0',
    name: 'pkg',
    version: '1.0',
    status,
    reason: '',
    rootCause: roots[0] ?? null,
    rootCauses: roots,
    jobKey: status === 'not-installable' ? null : 'k',
    durationMs: null,
    exitCode: null,
    logPath: null,
    logTail: '',
    firstError: null,
    missingSystemPackages: [],
    cached: false,
  };
}

const compiler = new Set(['ocaml-base-compiler.5.3.0+local', 'ocaml-compiler.5.3.0+local']);
const statuses: Record<string, JobStatus> = {
  'ocaml-base-compiler.5.3.0+local': 'build-failed',
  'ocaml-compiler.5.3.0+local': 'timeout',
  'dep.1.0': 'build-failed',
  'flaky.1.0': 'out-of-memory',
};
const statusOf = (id: string) => statuses[id];

test('own results: ok is good, a failed build or install is bad, every spurious status is spurious', () => {
  assert.equal(verdictOf(result('ok'), compiler, statusOf), 'good');
  assert.equal(verdictOf(result('build-failed'), compiler, statusOf), 'bad');
  assert.equal(verdictOf(result('install-failed'), compiler, statusOf), 'bad');
  for (const s of ['timeout', 'out-of-memory', 'disk-limit', 'fetch-failed', 'internal-error'] as const)
    assert.equal(verdictOf(result(s), compiler, statusOf), 'spurious', s);
});

test('not installable with that commit, or no result at all: the commit cannot say (skip)', () => {
  assert.equal(verdictOf(result('not-installable'), compiler, statusOf), 'skip');
  assert.equal(verdictOf(null, compiler, statusOf), 'skip');
});

test('a dependency failure: bad when a dependency broke, skip when only the compiler did not build, spurious when a root was spurious', () => {
  assert.equal(verdictOf(result('dependency-failed', ['dep.1.0']), compiler, statusOf), 'bad');
  assert.equal(verdictOf(result('dependency-failed', ['ocaml-base-compiler.5.3.0+local']), compiler, statusOf), 'skip');
  assert.equal(
    verdictOf(result('dependency-failed', ['ocaml-compiler.5.3.0+local']), compiler, statusOf),
    'spurious',
    'the compiler timed out',
  );
  assert.equal(verdictOf(result('dependency-failed', ['flaky.1.0']), compiler, statusOf), 'spurious');
  assert.equal(
    verdictOf(result('dependency-failed', ['ocaml-base-compiler.5.3.0+local', 'dep.1.0']), compiler, statusOf),
    'bad',
    'a broken dependency besides the compiler',
  );
});
