/** One table from errors to exit codes, and the flag a user typed named in the line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorLine, EXIT, exitCodeOfError } from '../../src/cli/exit-codes.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { OpamError } from '../../src/opam/opam-error.js';
import { SolveError } from '../../src/solve/solve-error.js';
import { PlanError, UnknownTargetError } from '../../src/plan/plan-error.js';
import { StoreError } from '../../src/store/store-error.js';
import { SessionError } from '../../src/session/session-error.js';
import { BuilderError } from '../../src/builder/builder-error.js';

test('each kind of error has its code: input and environment 2, internal 3; anything unexpected is internal', () => {
  assert.equal(exitCodeOfError(new UsageError('--jobs x: expected a positive integer')), 2);
  assert.equal(exitCodeOfError(new OpamError('no such directory', 'input', { setting: 'repository', value: 'x' })), 2);
  assert.equal(exitCodeOfError(new StoreError('database is damaged')), 2);
  assert.equal(exitCodeOfError(new BuilderError('no overlayfs')), 2);
  assert.equal(exitCodeOfError(new PlanError('dependency cycle')), 3);
  assert.equal(exitCodeOfError(new TypeError('x is undefined')), 3);
  assert.deepEqual(EXIT, { ok: 0, found: 1, input: 2, environment: 2, internal: 3, interrupted: 130 });
});

test('the line names the flag of the setting an error is about; below the CLI no flag is spelled', () => {
  assert.equal(
    errorLine(new SolveError('unknown package foo', 'input', { setting: 'compiler', value: 'foo.1' })),
    '--compiler foo.1: unknown package foo',
  );
  assert.equal(
    errorLine(new OpamError('no such directory', 'input', { setting: 'repository', value: '/x' })),
    '--repo /x: no such directory',
  );
  assert.equal(
    errorLine(new UnknownTargetError("unknown package 'nope' (target 'nope')", 'nope')),
    "unknown package 'nope' (target 'nope')",
  );
  assert.equal(
    errorLine(new StoreError('/s/ecocheck.sqlite is not an ecocheck database', true)),
    '/s/ecocheck.sqlite is not an ecocheck database; choose another --state-dir',
  );
  assert.equal(
    errorLine(new SessionError('the download cache /c is not writable: permission denied', 'environment', { setting: 'cacheDir' })),
    'the download cache /c is not writable: permission denied; choose another --cache-dir',
  );
  assert.equal(errorLine(new SessionError('no run yet: nothing to rerun')), 'no run yet: nothing to rerun');
  assert.match(errorLine(new RangeError('boom')), /^internal error: boom \(this is a bug of ecocheck/);
});
