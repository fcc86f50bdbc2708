/**
 * The build executor on the shell fixture ecosystem (fixtures/ecosystem): what a job costs beyond its
 * own commands. Figures: a job with no commands (switch mount, environment, log, sealing its layer),
 * reusing a complete layer, fetching + verifying + unpacking the local tarball, and the whole
 * compiler 1.0 stack built one job at a time, without and with the sandbox.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchSection } from './bench-section.js';
import { reportFigure } from './report-figure.js';
import { instantiateEcosystem, readEcosystemPackage } from '../support/fixture-ecosystem.js';
import { createOpamBuilder } from '../src/builder/opam-builder.js';
import { sandboxAvailable } from '../src/builder/process-runner.js';
import type { Builder } from '../src/builder/builder.js';
import type { Job } from '../src/plan/job.js';
import type { OpamPackage } from '../src/opam/package-model.js';

/** The compiler 1.0 stack: each package with its direct dependencies. */
const STACK: [string, string[]][] = [
  ['ocaml-base-compiler.1.0', []],
  ['ocaml.1.0', ['ocaml-base-compiler.1.0']],
  ['stdext.1.0', ['ocaml.1.0']],
  ['legacy-lib.1.0', ['ocaml.1.0']],
  ['chain-a.1.0', ['ocaml.1.0', 'stdext.1.0']],
  ['chain-b.1.0', ['ocaml.1.0', 'chain-a.1.0']],
  ['chain-c.1.0', ['ocaml.1.0', 'chain-b.1.0']],
  ['optional-feature.1.0', ['ocaml.1.0']],
  ['depopt-user.1.0', ['ocaml.1.0', 'optional-feature.1.0']],
  ['patched.1.0', ['ocaml.1.0']],
  ['installer.1.0', ['ocaml.1.0']],
];

function makeJob(pkg: OpamPackage, deps: Job[], salt: string): Job {
  const closure: string[] = [];
  for (const d of deps) for (const k of [...d.closure, d.key]) if (!closure.includes(k)) closure.push(k);
  const key = createHash('sha256')
    .update(JSON.stringify([salt, pkg.name, pkg.version, pkg.contentHash, deps.map((d) => d.key)]))
    .digest('hex');
  return { key, id: `${pkg.name}.${pkg.version}`, package: pkg, dependencies: deps.map((d) => d.key), closure };
}

async function buildStack(builder: Builder, root: string, salt: string): Promise<{ ms: number; jobs: number }> {
  const jobs = new Map<string, Job>();
  const layers = new Map<string, string>();
  const t0 = performance.now();
  for (const [id, deps] of STACK) {
    const job = makeJob(
      readEcosystemPackage(root, id),
      deps.map((d) => jobs.get(d)!),
      salt,
    );
    jobs.set(id, job);
    const closure = job.closure.map((k) => ({ job: [...jobs.values()].find((j) => j.key === k)!, layer: layers.get(k)! }));
    const outcome = await builder.build(job, closure, new AbortController().signal);
    if (outcome.status !== 'ok') throw new Error(`${id}: ${outcome.status}: ${outcome.reason}`);
    layers.set(job.key, outcome.prefix!);
  }
  return { ms: performance.now() - t0, jobs: STACK.length };
}

export const buildSection: BenchSection = {
  name: 'build',
  async run() {
    const eco = instantiateEcosystem();
    const work = mkdtempSync(join(tmpdir(), 'ecocheck-bench-build-'));
    const options = (name: string, sandbox: boolean) => ({
      storeDir: join(work, name, 'store'),
      buildRoot: join(work, name, 'build'),
      downloadCache: join(work, name, 'cache'),
      logDir: join(work, name, 'logs'),
      cores: 1,
      platformVariables: { os: 'linux', arch: 'x86_64' },
      sandboxMode: sandbox ? ('confined' as const) : ('host' as const),
      timeoutMs: 60_000,
      memoryBytes: 2 * 1024 ** 3,
      localSourceRoots: [eco.root],
    });
    try {
      const builder = createOpamBuilder(options('plain', false));
      const signal = new AbortController().signal;

      const noop = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
      noop.build = [];
      noop.install = [];
      noop.extraFiles = [];
      const noopTimes: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        const outcome = await builder.build(makeJob(noop, [], `noop-${i}`), [], signal);
        if (outcome.status !== 'ok') throw new Error(`no-op job: ${outcome.reason}`);
        noopTimes.push(performance.now() - t0);
      }
      noopTimes.sort((a, b) => a - b);
      reportFigure('job with no commands, median of 10', noopTimes[5]!, 'ms', 50);

      const reuseTimes: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t1 = performance.now();
        const outcome = await builder.build(makeJob(noop, [], `noop-${i}`), [], signal);
        if (outcome.status !== 'ok') throw new Error(`reuse: ${outcome.reason}`);
        reuseTimes.push(performance.now() - t1);
      }
      reuseTimes.sort((a, b) => a - b);
      reportFigure('reuse of a complete layer, median of 10', reuseTimes[5]!, 'ms', 5);

      const stack = await buildStack(builder, eco.root, 'plain');
      reportFigure(`compiler 1.0 stack, ${stack.jobs} jobs one at a time (no sandbox)`, stack.ms / 1000, 's', 10);
      reportFigure('  per job', stack.ms / stack.jobs, 'ms');

      if (sandboxAvailable().ok) {
        const sandboxed = await buildStack(createOpamBuilder(options('sandbox', true)), eco.root, 'sandbox');
        reportFigure(`compiler 1.0 stack, ${sandboxed.jobs} jobs one at a time (sandbox)`, sandboxed.ms / 1000, 's', 10);
        reportFigure('  per job', sandboxed.ms / sandboxed.jobs, 'ms');
      } else {
        process.stdout.write('  sandbox: not available here, skipped\n');
      }
    } finally {
      eco.dispose();
      execFileSync('chmod', ['-R', 'u+w', work]);
      rmSync(work, { recursive: true, force: true });
    }
  },
};
