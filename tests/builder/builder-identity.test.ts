/**
 * The builder's identity is declared (builder-version.ts), and the lock holds it to that: builder code
 * deciding what jobs produce cannot change without a bump of OPAM_BUILDER_VERSION (or of the sandbox's
 * own version), while a comment or a re-layout does not invalidate anyone's cached results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../support/snapshot.js';
import { OPAM_BUILDER_VERSION, opamBuilderVersion } from '../../src/builder/builder-version.js';
import { bubblewrap, BUBBLEWRAP_VERSION } from '../../src/builder/bubblewrap.js';

interface Lock {
  opamBuilderVersion: string;
  bubblewrapVersion: number;
  fingerprint: string;
  modules: Record<string, string>;
}

interface LockScript {
  BUILDER_DIR: string;
  OUTPUT_MODULES: Record<string, string>;
  OTHER_MODULES: Record<string, string>;
  normaliseSource(text: string): string;
  readLock(file?: string): Lock | null;
  lockProblem(dir?: string, lock?: Lock | null): string | null;
  writeLock(o: { dir?: string; file?: string; sameOutputs?: boolean }): Lock;
}

const script = (await import(pathToFileURL(join(projectRoot, 'scripts', 'builder-identity-lock.mjs')).href)) as LockScript;

test('the lock holds: the output-deciding builder code is the one recorded for the declared versions', () => {
  assert.equal(script.lockProblem(), null);
  const lock = script.readLock() as Lock;
  assert.equal(lock.opamBuilderVersion, OPAM_BUILDER_VERSION);
  assert.equal(lock.bubblewrapVersion, BUBBLEWRAP_VERSION);
});

test("the identity is what the builder declares: its version, the sandbox's identity, the mode, the layers' owner", () => {
  assert.match(OPAM_BUILDER_VERSION, /^opam-builder\/\d+$/);
  assert.match(bubblewrap.identity, new RegExp(`^bubblewrap/${BUBBLEWRAP_VERSION}\\+(?:setpriv|userns)$`));
  assert.equal(opamBuilderVersion('confined'), `${OPAM_BUILDER_VERSION}+${bubblewrap.identity}+confined`);
  assert.equal(opamBuilderVersion('host'), `${OPAM_BUILDER_VERSION}+${bubblewrap.identity}+host`);
  // Another sandbox implementation is another builder: nothing built by one is reused by the other.
  assert.equal(opamBuilderVersion('confined', { identity: 'other/1' }), `${OPAM_BUILDER_VERSION}+other/1+confined`);
});

test('normalised source: comments and layout do not count, code, strings and regular expressions do', () => {
  const n = script.normaliseSource;
  const base =
    "const a = 'x // not a comment'; // comment\nconst r = /\\/\\/ kept/g; /* block */ const t = `a ${b + `c${d}`} // kept`;\nreturn a / 2;";
  const norm = n(base);
  assert.equal(norm, "const a='x // not a comment';const r=/\\/\\/ kept/g;const t=`a ${b+`c${d}`} // kept`;return a/2;");
  assert.equal(
    n(
      "const a = 'x // not a comment';\n\n   // another comment\nconst r = /\\/\\/ kept/g;\nconst t = `a ${ b +  `c${d}` } // kept`;\nreturn a /\n  2;",
    ),
    norm,
  );
  assert.notEqual(n(base.replace("'x // not", "'y // not")), norm);
  assert.notEqual(n(base.replace('kept/g', 'kept/')), norm);
  assert.notEqual(n(base.replace('a / 2', 'a / 3')), norm);
});

test('the check fails when output-deciding code changes without a bump, and says what to do; a comment, a log format or a bump with the lock updated pass', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ecocheck-identity-'));
  try {
    const dir = join(tmp, 'builder');
    const file = join(tmp, 'lock');
    cpSync(script.BUILDER_DIR, dir, { recursive: true });
    script.writeLock({ dir, file });
    const problem = () => script.lockProblem(dir, script.readLock(file));
    assert.equal(problem(), null);
    const firstError = join(dir, 'first-error.ts');
    const original = readFileSync(firstError, 'utf8');

    // A comment and a re-layout: the same code.
    writeFileSync(firstError, `// a new comment\n${original.replace(/\n/g, '\n\n')}`);
    assert.equal(problem(), null);
    // A module that does not decide outputs (the log's writing).
    writeFileSync(join(dir, 'build-log.ts'), `${readFileSync(join(dir, 'build-log.ts'), 'utf8')}\nexport const SOMETHING_NEW = 1;\n`);
    assert.equal(problem(), null);

    // Code that changes verdicts (the first error's length), the version unchanged: fails, saying how to fix it.
    writeFileSync(firstError, original.replace('export const MAX_ERROR_LENGTH = 400', 'export const MAX_ERROR_LENGTH = 300'));
    const p = problem();
    assert.ok(p !== null);
    assert.match(p, /changed \(first-error\.ts\)/);
    assert.match(p, /bump OPAM_BUILDER_VERSION in src\/builder\/builder-version\.ts/);
    assert.match(p, /`node scripts\/builder-identity-lock\.mjs`/);
    // The lock is not updated over it without a bump (or a statement that outputs are the same).
    assert.throws(() => script.writeLock({ dir, file }), /bump OPAM_BUILDER_VERSION/);

    // Bumped: the lock must follow, then holds.
    const versionFile = join(dir, 'builder-version.ts');
    writeFileSync(versionFile, readFileSync(versionFile, 'utf8').replace(`'${OPAM_BUILDER_VERSION}'`, `'${OPAM_BUILDER_VERSION}9'`));
    assert.match(problem() ?? '', /bumped .* but the lock still records/);
    script.writeLock({ dir, file });
    assert.equal(problem(), null);

    // A pure refactoring recorded as such.
    writeFileSync(firstError, original);
    assert.ok(problem() !== null);
    script.writeLock({ dir, file, sameOutputs: true });
    assert.equal(problem(), null);

    // A new module must be classified.
    writeFileSync(join(dir, 'new-step.ts'), 'export const X = 1;\n');
    assert.match(problem() ?? '', /not classified .*: new-step\.ts/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('every output-deciding module is listed with a reason, none in both lists', () => {
  for (const [name, why] of [...Object.entries(script.OUTPUT_MODULES), ...Object.entries(script.OTHER_MODULES)])
    assert.ok(why.length > 10, name);
  assert.deepEqual(
    Object.keys(script.OUTPUT_MODULES).filter((m) => m in script.OTHER_MODULES),
    [],
  );
  // What decides verdicts is in: the sandbox, the first error, the failure classification.
  for (const m of ['bubblewrap.ts', 'first-error.ts', 'failure-evidence.ts', 'opam-builder.ts']) assert.ok(m in script.OUTPUT_MODULES, m);
});
