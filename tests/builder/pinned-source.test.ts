/**
 * A pinned directory from pin to layer: copied into the build directory as opam's local copy is
 * (without _build, .git…, links kept), and built end to end in the fixture ecosystem with the plan's
 * own jobs, its reverse dependencies against it; once without the sandbox, once in it (skipped where
 * bubblewrap is unavailable, as the other builder tests do).
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyLocalDirectory } from '../../src/builder/source-fetcher.js';
import { createOpamBuilder, type OpamBuilderOptions } from '../../src/builder/opam-builder.js';
import { sandboxAvailable } from '../../src/builder/process-runner.js';
import type { BuildOutcome } from '../../src/builder/builder.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import type { Plan } from '../../src/plan/job.js';
import { parsePin } from '../../src/opam/pin.js';
import { applyPins } from '../../src/opam/pinned-repository.js';
import { findPackage, loadRepositories } from '../../src/opam/repository.js';
import { createSolver } from '../../src/solve/package-solver.js';
import { instantiateEcosystem, type EcosystemCopy } from '../support/fixture-ecosystem.js';
import { skipWithout } from '../support/missing-setup.js';

const PLATFORM = { os: 'linux', arch: 'x86_64', 'os-family': 'debian', 'os-distribution': 'debian' };

let eco: EcosystemCopy;
let work: string;

before(() => {
  eco = instantiateEcosystem();
  work = mkdtempSync(join(tmpdir(), 'ecocheck-pinned-build-test-'));
});

after(() => {
  eco.dispose();
  execFileSync('chmod', ['-R', 'u+w', work]);
  rmSync(work, { recursive: true, force: true });
});

function write(path: string, content: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
}

test('a local directory is copied without what opam leaves out, at any depth, links as links', () => {
  const src = join(work, 'copy-src');
  write(join(src, 'a.ml'), 'a');
  write(join(src, 'lib', 'b.ml'), 'b');
  for (const junk of ['_build/x', '.git/HEAD', '_opam/bin/x', 'lib/_build/y', '.hg/z', '_darcs/w', '.#a.ml'])
    write(join(src, junk), 'junk');
  symlinkSync('a.ml', join(src, 'alias.ml'));
  const dest = join(work, 'copy-dest');
  mkdirSync(dest);
  copyLocalDirectory(src, dest);
  assert.deepEqual(readdirSync(dest).sort(), ['a.ml', 'alias.ml', 'lib']);
  assert.deepEqual(readdirSync(join(dest, 'lib')), ['b.ml']);
  assert.ok(lstatSync(join(dest, 'alias.ml')).isSymbolicLink());
  assert.equal(readlinkSync(join(dest, 'alias.ml')), 'a.ml', 'the target as written, not made absolute into the source');
});

/** A checkout of chain-a with its own opam file: the source in the directory, a stale _build beside it. */
function chainACheckout(name: string): string {
  const dir = join(work, name);
  write(join(dir, 'chain_a.fml'), '(* chain-a, pinned *)\nrequire stdext\nlet a = 1\n');
  write(join(dir, '_build', 'poison'), 'must not reach the build');
  write(
    join(dir, 'chain-a.opam'),
    [
      'opam-version: "2.0"',
      'version: "1.1~pinned"',
      'depends: ["ocaml" "stdext"]',
      'build: [',
      '  ["sh" "-c" "test ! -e _build && test -f chain-a.opam"]',
      '  ["compiler" "-o" "chain-a.fmo" "chain_a.fml"]',
      '  ["sh" "-c" "echo dev=%{dev}% > dev.txt"]',
      ']',
      'install: [',
      '  ["mkdir" "-p" "%{lib}%/chain-a"]',
      '  ["cp" "chain-a.fmo" "dev.txt" "%{lib}%/chain-a/"]',
      ']',
      '',
    ].join('\n'),
  );
  return dir;
}

/** Builds every job of the plan in order; the outcomes by package id. */
async function buildAll(plan: Plan, options: OpamBuilderOptions): Promise<Map<string, BuildOutcome>> {
  const builder = createOpamBuilder(options);
  const layers = new Map<string, string>();
  const out = new Map<string, BuildOutcome>();
  for (const job of plan.jobs.values()) {
    const closure = job.closure.map((k) => ({ job: plan.jobs.get(k)!, layer: layers.get(k)! }));
    const outcome = await builder.build(job, closure, new AbortController().signal);
    out.set(job.id, outcome);
    assert.equal(outcome.status, 'ok', `${job.id}: ${outcome.reason}\n${outcome.logTail}`);
    if (outcome.prefix) layers.set(job.key, outcome.prefix);
  }
  return out;
}

async function buildPinned(name: string, sandbox: boolean): Promise<Map<string, BuildOutcome>> {
  const dir = chainACheckout(`${name}-checkout`);
  const view = applyPins(loadRepositories([eco.root]), [parsePin(`chain-a=${dir}`)]);
  assert.equal(view.pinned[0].pkg.version, '1.1~pinned');
  const solver = createSolver(view, { compiler: '1.0', env: PLATFORM });
  const target = findPackage(view, 'chain-c')!;
  const plan = buildPlan([{ target, outcome: solver.solve(target) }], { builderVersion: 'test', platform: { ...solver.variables } });
  assert.deepEqual(
    [...plan.jobs.values()].map((j) => j.id),
    ['ocaml-base-compiler.1.0', 'ocaml.1.0', 'stdext.1.0', 'chain-a.1.1~pinned', 'chain-b.1.0', 'chain-c.1.0'],
  );
  const root = join(work, name);
  return buildAll(plan, {
    storeDir: join(root, 'store'),
    buildRoot: join(root, 'build'),
    downloadCache: join(root, 'cache'),
    logDir: join(root, 'logs'),
    cores: 2,
    platformVariables: PLATFORM,
    sandboxMode: sandbox ? 'confined' : 'host',
    timeoutMs: 60_000,
    memoryBytes: 2 * 1024 ** 3,
    localSourceRoots: [eco.root, dir],
  });
}

function checkPinnedBuild(outcomes: Map<string, BuildOutcome>): void {
  const a = outcomes.get('chain-a.1.1~pinned')!;
  assert.match(readFileSync(join(a.prefix!, 'lib', 'chain-a', 'chain-a.fmo'), 'utf8'), /./);
  assert.equal(
    readFileSync(join(a.prefix!, 'lib', 'chain-a', 'dev.txt'), 'utf8'),
    'dev=true\n',
    'a pinned package is a dev package, as in opam',
  );
  assert.match(readFileSync(a.logPath!, 'utf8'), /source: copying directory .*checkout/);
  const c = outcomes.get('chain-c.1.0')!;
  assert.ok(existsSync(join(c.prefix!, 'bin', 'chain-c')));
  assert.equal(execFileSync(join(c.prefix!, 'bin', 'chain-c'), { encoding: 'utf8' }), 'chain-c works\n');
}

test('a pinned directory package builds end to end, and its reverse dependencies against it', async () => {
  checkPinnedBuild(await buildPinned('plain', false));
});

describe('sandbox', () => {
  const available = sandboxAvailable();
  const skip = skipWithout('bubblewrap', available.ok ? false : available.message);
  test('in the sandbox: the fetch step reads the pinned directory, the build its copy', { skip }, async () => {
    checkPinnedBuild(await buildPinned('sandboxed', true));
  });
});
