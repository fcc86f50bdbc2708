/**
 * Each verb loads only what it uses: `--version`, `--help` and a usage error load commander and the
 * command definitions (src/cli/, and the base error class), `solve` the solver path, and the builder,
 * the store and the report layer are loaded only by the verbs that need them, when their action runs.
 * The CLI runs with module hooks that record what it loads (module-loads.ts); no timing is asserted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MAX_PROCESSES as BUILDER_DEFAULT } from '../../src/builder/process-runner.js';
import { DEFAULT_MAX_PROCESSES } from '../../src/cli/options.js';
import { projectRoot } from '../support/snapshot.js';
import { moduleLoads, type ModuleLoads } from './module-loads.js';

const repo = join(projectRoot, 'fixtures', 'repos', 'solver-basic');

/** The loaded modules of src/ outside the given folders. */
function outside(r: ModuleLoads, folders: readonly string[]): string[] {
  return r.sources.filter((s) => !folders.some((f) => s.startsWith(`${f}/`) || s === `${f}.js`));
}

/** What the definitions alone may load: the CLI's modules and the base error class. */
function assertDefinitionsOnly(r: ModuleLoads): void {
  assert.ok(r.sources.includes('cli/main.js'), `the hooks recorded the loads: ${r.sources.join(' ')}`);
  assert.deepEqual(outside(r, ['cli', 'errors/ecocheck-error']), []);
  assert.deepEqual(r.packages, ['commander']);
}

test('--version and --help load commander and the command definitions only', () => {
  const version = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')).version as string;
  const v = moduleLoads(['--version']);
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout, `${version}\n`);
  assertDefinitionsOnly(v);
  for (const args of [['--help'], ['check', '--help'], ['help', 'solve']]) {
    const h = moduleLoads(args);
    assert.equal(h.status, 0, `${args.join(' ')}: ${h.stderr}`);
    assert.match(h.stdout, /Usage: ecocheck/);
    assertDefinitionsOnly(h);
    // The program's help lists every verb (so reads every definition); a verb's help reads its own.
    const verbs = h.sources.filter((s) => s.startsWith('cli/commands/'));
    if (args[0] === 'check') assert.deepEqual(verbs, ['cli/commands/check.js']);
    else assert.ok(verbs.includes('cli/commands/bisect.js') && verbs.includes('cli/commands/solve.js'), args.join(' '));
  }
});

test('a usage error, from commander or from an action reading its flags, loads the definitions only', () => {
  const missing = moduleLoads(['solve']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /missing required argument 'package'/);
  assertDefinitionsOnly(missing);
  const unknown = moduleLoads(['nope']);
  assert.equal(unknown.status, 2);
  assertDefinitionsOnly(unknown);
  const jobs = moduleLoads(['check', '--compiler', 'next', '--jobs', 'x']);
  assert.equal(jobs.status, 2);
  assert.equal(jobs.stderr, 'ecocheck: --jobs x: expected a positive integer\n');
  assertDefinitionsOnly(jobs);
});

test('solve and installable load the solver path: no builder, run, store, compare or report module', () => {
  for (const args of [
    ['solve', 'app', '--repo', repo, '--compiler', '5.3.0'],
    ['installable', '--repo', repo, '--compiler', '5.3.0'],
  ]) {
    const r = moduleLoads(args);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.sources.includes('session/solver-queries.js'), r.sources.join(' '));
    assert.deepEqual(outside(r, ['cli', 'errors', 'results', 'opam', 'host', 'solve', 'plan', 'session']), [], args[0]);
    // A command line naming a verb loads that verb's definition alone.
    assert.deepEqual(
      r.sources.filter((s) => s.startsWith('cli/commands/')),
      [`cli/commands/${args[0]}.js`],
      args[0],
    );
    assert.deepEqual(r.packages, ['commander'], args[0]);
  }
});

test('plan loads neither the store nor the report layer, nor the builder (but its version), nor their packages', () => {
  const r = moduleLoads(['plan', 'app', '--repo', repo, '--compiler', '5.3.0']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.sources.includes('session/plan-preparation.js'), r.sources.join(' '));
  assert.deepEqual(
    r.sources.filter((s) => /^(store|compare|report)\//.test(s)),
    [],
  );
  // The version names the build user (build-user.ts: node:fs alone) and the sandbox's identity (bubblewrap.ts
  // and the interface it implements: node's modules alone).
  assert.deepEqual(r.sources.filter((s) => s.startsWith('builder/')).sort(), [
    'builder/bubblewrap.js',
    'builder/build-user.js',
    'builder/builder-version.js',
    'builder/sandbox.js',
  ]);
  assert.deepEqual(r.packages, ['commander']);
});

test("the --processes default declared by the CLI is the builder's", () => {
  assert.equal(DEFAULT_MAX_PROCESSES, BUILDER_DEFAULT);
});

test("gc and status load the store and the builder's store reading, not the compare or report layer", () => {
  for (const args of [
    ['gc', '--dry-run', '--state-dir', '/nonexistent/ecocheck-state'],
    ['status', '--state-dir', '/nonexistent/ecocheck-state'],
  ]) {
    const r = moduleLoads(args);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.sources.includes(args[0] === 'gc' ? 'session/store-gc.js' : 'session/store-status.js'), r.sources.join(' '));
    assert.deepEqual(
      r.sources.filter((s) => /^(compare|report|run)\//.test(s)),
      [],
      args[0],
    );
  }
  const help = moduleLoads(['gc', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--max-size <size>/);
  assertDefinitionsOnly(help);
});

test('synthesize loads the opam layer and its session module alone: no solver, builder or store', () => {
  const out = mkdtempSync(join(tmpdir(), 'ecocheck-synthesize-loads-'));
  try {
    const r = moduleLoads(['synthesize', join(out, 'synth'), '--repo', repo]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.sources.includes('session/synthetic-ecosystem.js'), r.sources.join(' '));
    assert.deepEqual(outside(r, ['cli', 'errors', 'opam', 'session/synthetic-ecosystem', 'session/session-error']), []);
    assert.deepEqual(r.packages, ['commander']);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
