/**
 * The README's main job, end to end, on real compilers and real OCaml code: the demo ecosystem
 * (fixtures/demo, configured by ecocheck.json) checked with OCaml 4.13.1 (Debian's ocaml-nox, through
 * ocaml-system) as the baseline and OCaml 5.3.0 (built by ecocheck from the npm registry's sources) as
 * next. Asserts the real regressions, the packages that kept working, the root cause of each cascade,
 * and that a second run takes everything from the cache.
 *
 * The state lives in a folder of the checkout kept between runs (.test-state/demo, or ECOCHECK_DEMO_STATE),
 * so the compilers are built once per checkout (about 5 minutes for OCaml 5.3.0 on 2 cores) and come from
 * its store afterwards, and two checkouts never meet on its lock. The only network access is the setup
 * step's fetch of the compiler sources, into the download cache the machine's checkouts share (files
 * keyed by checksum: tests/support/test-state.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../support/snapshot.js';
import { sharedDownloadCache, testStateDir } from '../../support/test-state.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';
import { skipWithout } from '../../support/missing-setup.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const state = process.env.ECOCHECK_DEMO_STATE ?? testStateDir('demo');
const downloads = sharedDownloadCache;
const sandboxArgs = sandboxAvailable().ok ? [] : ['--no-sandbox'];

function run(cmd: string, args: string[]): { code: number; stdout: string; stderr: string; seconds: number } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: projectRoot, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

function ecocheck(args: string[]) {
  return run(process.execPath, [bin, ...args, '--state-dir', state, '--cache-dir', downloads, ...sandboxArgs]);
}

interface Comparison {
  counts: Record<string, number>;
  packages: { key: string; category: string; rootCause: string | null; detail: string }[];
  rootCauses: { package: string; dependents: string[] }[];
  regressionClusters: { signature: string; packages: string[] }[];
}

function systemOcaml(): string | null {
  const r = spawnSync('ocamlc', ['-version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

test(
  'demo: OCaml 4.13.1 → 5.3.0, the real regressions and their root causes; a second run is all cache',
  {
    skip: skipWithout(
      'system-ocaml',
      systemOcaml() !== '4.13.1' && "needs Debian 12's ocaml-nox (OCaml 4.13.1): bash scripts/install-system-deps.sh",
    ),
  },
  () => {
    mkdirSync(state, { recursive: true });
    const setup = run('bash', [join(projectRoot, 'scripts', 'demo-setup.sh'), '--sources-only', '--cache-dir', downloads]);
    assert.equal(setup.code, 0, setup.stderr);

    const baseline = ecocheck(['check', '--baseline']);
    assert.equal(baseline.code, 0, baseline.stderr);
    const candidate = ecocheck(['check', '--compiler', 'next', '--format', 'json']);
    assert.equal(candidate.code, 1, `regressions exit 1\n${candidate.stderr.slice(-3000)}`);
    process.stdout.write(
      `# demo phases: setup ${setup.seconds.toFixed(1)} s, baseline ${baseline.seconds.toFixed(1)} s, candidate ${candidate.seconds.toFixed(1)} s\n`,
    );

    const c = JSON.parse(candidate.stdout) as Comparison;
    const category = Object.fromEntries(c.packages.map((p) => [p.key, p.category]));
    assert.deepEqual(category, {
      benchrun: 'dependency-regressed',
      calc: 'newly-not-installable',
      confload: 'dependency-regressed',
      csvkit: 'still-ok',
      csvreport: 'still-ok',
      lexstream: 'regressed',
      linecount: 'fixed',
      multigrep: 'dependency-regressed',
      oldbytes: 'still-failing',
      ordsort: 'regressed',
      parmap: 'newly-installable',
      ringbuf: 'regressed',
      ringlog: 'dependency-regressed',
      sexpr: 'dependency-regressed',
      slurp: 'fixed',
      strutil: 'still-ok',
      svcmon: 'dependency-regressed',
      tabular: 'still-ok',
      tictoc: 'regressed',
      topk: 'dependency-regressed',
      workpool: 'regressed',
    });
    const root = Object.fromEntries(c.packages.filter((p) => p.rootCause !== null).map((p) => [p.key, p.rootCause]));
    // svcmon sits below two roots (lexstream through confload, ringbuf through ringlog): either names a real one.
    assert.ok(root.svcmon === 'lexstream' || root.svcmon === 'ringbuf', `svcmon's root: ${root.svcmon}`);
    delete root.svcmon;
    assert.deepEqual(root, {
      benchrun: 'tictoc',
      confload: 'lexstream',
      multigrep: 'workpool',
      ringlog: 'ringbuf',
      sexpr: 'lexstream',
      topk: 'ordsort',
    });

    // The real first errors of the real compiler, and the unix-location failures as one cluster.
    const detail = Object.fromEntries(c.packages.map((p) => [p.key, p.detail]));
    assert.match(detail.lexstream, /Unbound module "Stream"/);
    assert.match(detail.ordsort, /Unbound module "Pervasives"/);
    assert.match(detail.ringbuf, /warning 73/);
    assert.match(detail.tictoc, /Cannot find file .*unix\.cmxa/);
    const unixCluster = c.regressionClusters.find((k) => k.packages.includes('tictoc'));
    assert.deepEqual(unixCluster?.packages.slice().sort(), ['tictoc', 'workpool']);

    // Again: everything from the cache, nothing built, the same verdict.
    const baseline2 = ecocheck(['check', '--baseline']);
    assert.equal(baseline2.code, 0, baseline2.stderr);
    assert.match(baseline2.stderr, /^jobs: 0 built, \d+ cached/m);
    const candidate2 = ecocheck(['check', '--compiler', 'next', '--format', 'json']);
    assert.equal(candidate2.code, 1, candidate2.stderr);
    assert.match(candidate2.stderr, /^jobs: 0 built, \d+ cached/m);
    assert.doesNotMatch(candidate2.stderr, /retry/, 'cached failures were confirmed when first built: no retry');
    assert.deepEqual(Object.fromEntries((JSON.parse(candidate2.stdout) as Comparison).packages.map((p) => [p.key, p.category])), category);
    process.stdout.write(`# demo cached rerun: baseline ${baseline2.seconds.toFixed(1)} s, candidate ${candidate2.seconds.toFixed(1)} s\n`);
  },
);
