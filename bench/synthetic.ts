/**
 * The engine at scale on the synthetic ecosystem (issue 23): `ecocheck synthesize --names N` of the real
 * snapshot (the N names most depended on and their dependency cone; N from ECOCHECK_BENCH_SYNTHETIC_NAMES,
 * default 150: about 500 names and 740 jobs, which plans in about 90 s on ocaml-system.4.13.1 — planning
 * the whole repository on 4.13.1 is too slow today), then, with the real sandbox, the ecocheck process as
 * a user runs it: `check --baseline` of every name of the slice, the store's size, `report` in the four
 * formats, and the same check again (fully cached). The builds are trivial (one file per package), so the
 * build phase's wall time is the engine's own cost: sandbox, overlay mounts, store, scheduling.
 * Peak memory is the ecocheck process's maximum resident set, from /usr/bin/time, and per phase (the plan,
 * the builds, the report) from a sampler preloaded into it (memory-phases.ts); issue 23's goal is 1 GiB,
 * and a peak over it is listed among the missed targets (`--strict` fails the bench on it). Then, when
 * ECOCHECK_BENCH_SYNTHETIC_CANDIDATE names another compiler (4.14.1 or 5.3.0 of fixtures/compilers, whose
 * sources scripts/fetch-compiler-sources.sh puts in the download cache named by ECOCHECK_BENCH_CACHE_DIR),
 * a candidate on it: a real compiler build first (minutes), then the slice's jobs on it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchSection } from './bench-section.js';
import { reportFigure } from './report-figure.js';
import { memoryPhasesArgs, phasePeaks, type PhasePeak } from './memory-phases.js';
import { snapshotForBench } from './snapshot-for-bench.js';
import { projectRoot } from '../support/project-root.js';
import { MAX_LAYERS } from '../src/builder/switch-mount.js';

const COMPILER = 'ocaml-system.4.13.1';
const TIME = '/usr/bin/time';
/** Issue 23: peak memory of the ecocheck process at most 1 GiB on the whole repository. */
const PEAK_MIB = 1024;

interface Measured {
  code: number;
  stdout: string;
  stderr: string;
  wallS: number;
  /** Maximum resident set of the ecocheck process, in KiB, when /usr/bin/time is there. */
  peakKiB: number | null;
  /** Its peak per phase, when asked for (`phases`). */
  phases: PhasePeak[] | null;
}

/** Runs bin/ecocheck, timed, its peak memory taken by /usr/bin/time when the machine has it (and per phase with `phases`). */
function ecocheck(args: string[], dir: string, phases = false): Measured {
  const bin = join(projectRoot, 'bin', 'ecocheck');
  const timeFile = join(dir, 'time.out');
  const phaseFile = join(dir, 'phases.json');
  rmSync(phaseFile, { force: true });
  const run = phases ? memoryPhasesArgs(bin, phaseFile) : { argv: [bin], env: process.env };
  const withTime = existsSync(TIME);
  const [cmd, argv] = withTime
    ? [TIME, ['-f', '%M', '-o', timeFile, process.execPath, ...run.argv, ...args]]
    : [process.execPath, [...run.argv, ...args]];
  const t = performance.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: projectRoot, env: run.env, maxBuffer: 256 * 1024 * 1024 });
  const wallS = (performance.now() - t) / 1000;
  const peak = withTime ? Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop()) : NaN;
  return {
    code: r.status ?? -1,
    stdout: r.stdout,
    stderr: r.stderr,
    wallS,
    peakKiB: Number.isFinite(peak) ? peak : null,
    phases: phases && existsSync(phaseFile) ? phasePeaks(readFileSync(phaseFile, 'utf8')) : null,
  };
}

/** The run's peak memory against the goal: the whole process's, then each phase's (the sampler's own thread included). */
function reportPeak(run: string, m: Measured): void {
  if (m.peakKiB !== null) reportFigure(`peak memory of the ecocheck process (${run})`, m.peakKiB / 1024, 'MiB', PEAK_MIB);
  else process.stdout.write(`  peak memory (${run}): not measured (no /usr/bin/time)\n`);
  for (const p of m.phases ?? []) reportFigure(`  of which ${p.phase}`, p.peakMiB, 'MiB', PEAK_MIB);
}

function must(m: Measured, what: string): Measured {
  if (m.code !== 0) throw new Error(`${what} exited ${m.code}: ${m.stderr.slice(-2000)}`);
  return m;
}

/** `jobs: B built, C cached, Ns` (run-progress-output.ts): the build phase's figures. */
function buildPhase(stderr: string): { built: number; cached: number; seconds: number } {
  const m = /jobs: (\d+) built, (\d+) cached, (?:(\d+)h ?)?(?:(\d+)m ?)?(?:(\d+)s)?/.exec(stderr);
  if (m === null) throw new Error(`no build summary in: ${stderr.slice(-500)}`);
  return { built: Number(m[1]), cached: Number(m[2]), seconds: Number(m[3] ?? 0) * 3600 + Number(m[4] ?? 0) * 60 + Number(m[5] ?? 0) };
}

/** The deepest switch of the run, from its jobs' logs (`# switch: …, N layers`). */
function deepestSwitch(logDir: string): { layers: number; job: string } | null {
  let best: { layers: number; job: string } | null = null;
  for (const name of readdirSync(logDir)) {
    const m = /^# switch: .*, (\d+) layers/m.exec(readFileSync(join(logDir, name), 'utf8'));
    if (m !== null && (best === null || Number(m[1]) > best.layers))
      best = { layers: Number(m[1]), job: name.replace(/-[0-9a-f]{16}\.log$/, '') };
  }
  return best;
}

/** Seconds the compiler packages took (progress lines `[i/n] ok NAME.VERSION 1m2s`). */
function compilerBuildSeconds(stderr: string): number {
  let total = 0;
  for (const m of stderr.matchAll(/\] \S+ (?:ocaml-base-compiler|ocaml-compiler|ocaml-variants)\.\S+ (?:(\d+)m)?([\d.]+)s/g))
    total += Number(m[1] ?? 0) * 60 + Number(m[2]);
  return total;
}

function duBytes(path: string): number {
  const r = spawnSync('du', ['-sb', path], { encoding: 'utf8' });
  return Number(r.stdout.split('\t')[0]);
}

export const syntheticSection: BenchSection = {
  name: 'synthetic',
  async run() {
    const snapshot = snapshotForBench();
    if (snapshot === null) return;
    const names = Number(process.env.ECOCHECK_BENCH_SYNTHETIC_NAMES ?? '150');
    const dir = mkdtempSync(join(tmpdir(), 'ecocheck-bench-synthetic-'));
    try {
      const synth = join(dir, 'synth');
      const state = join(dir, 'state');
      const made = must(ecocheck(['synthesize', synth, '--repo', snapshot, '--names', String(names)], dir), 'synthesize');
      const targets = readdirSync(join(synth, 'packages')).sort();
      process.stdout.write(`  synthesize --names ${names}: ${made.stdout.split('\n')[0]}\n`);
      reportFigure('synthesize (read, transform and write the slice)', made.wallS, 's');

      const check = [
        'check',
        '--baseline',
        ...targets,
        ...['--repo', synth, '--repo', join(projectRoot, 'fixtures', 'compilers'), '--repo', snapshot],
        ...['--compiler', COMPILER, '--depexts', 'ignore', '--state-dir', state, '--format', 'json', '--output', join(dir, 'run.json')],
      ];
      const first = must(ecocheck(check, dir, true), 'check --baseline');
      const jobs = Number(/(\d+) jobs/.exec(first.stderr)?.[1]);
      const phase = buildPhase(first.stderr);
      const results = (JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { counts: Record<string, number> }).counts;
      const cores = availableParallelism();
      process.stdout.write(
        `  check --baseline --compiler ${COMPILER}: ${targets.length} targets, ${jobs} jobs (${phase.built} built), ${cores} cores; targets ${Object.entries(
          results,
        )
          .filter(([, n]) => n > 0)
          .map(([s, n]) => `${s} ${n}`)
          .join(', ')}\n`,
      );
      reportFigure('baseline wall time (plan + builds + report)', first.wallS, 's');
      reportFigure('  of which the builds (trivial: the engine alone)', phase.seconds, 's');
      reportFigure('per-job engine overhead (build phase wall x cores / jobs)', (phase.seconds * cores) / jobs, 's', 0.1);
      reportFigure('  the same over the whole baseline wall (planning included)', (first.wallS * cores) / jobs, 's');
      reportPeak('baseline', first);
      reportFigure('store size', duBytes(join(state, 'store')) / 2 ** 20, 'MiB');
      const deepest = deepestSwitch(join(state, 'logs'));
      if (deepest !== null)
        process.stdout.write(
          `  deepest switch: ${deepest.layers} layers (${deepest.job}; the empty switch and its closure), overlayfs stacks at most ${MAX_LAYERS}\n`,
        );

      for (const format of ['terminal', 'markdown', 'json', 'html']) {
        const r = ecocheck(['report', '--state-dir', state, '--format', format, '--output', join(dir, `report.${format}`)], dir);
        if (r.code > 1) throw new Error(`report --format ${format} exited ${r.code}: ${r.stderr}`);
        // The JSON report holds every target (its counts add up to them); the others summarise (the
        // terminal one lists what is not ok), so they are only required to be written.
        if (statSync(join(dir, `report.${format}`)).size === 0) throw new Error(`report --format ${format}: empty`);
        if (format === 'json') {
          const counts = (JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { counts: Record<string, number> }).counts;
          const total = Object.values(counts).reduce((a, b) => a + b, 0);
          if (total !== targets.length) throw new Error(`report --format json: counts add up to ${total}, not ${targets.length} targets`);
        }
        reportFigure(`report --format ${format}`, r.wallS, 's', 10);
      }

      const again = must(ecocheck(check, dir, true), 'check --baseline again');
      const cached = buildPhase(again.stderr);
      process.stdout.write(`  rerun: ${cached.built} built, ${cached.cached} cached\n`);
      reportFigure('fully cached rerun (plan included)', again.wallS, 's', 60);
      reportPeak('rerun', again);

      // A candidate on another compiler: a real compiler build (minutes) before the slice's jobs, so opt-in.
      const candidate = process.env.ECOCHECK_BENCH_SYNTHETIC_CANDIDATE;
      if (candidate !== undefined && candidate !== '') {
        const args = check.map((a) => (a === COMPILER ? candidate : a)).filter((a) => a !== '--baseline');
        const cacheDir = process.env.ECOCHECK_BENCH_CACHE_DIR;
        const cand = ecocheck([...args, ...(cacheDir ? ['--cache-dir', cacheDir] : [])], dir);
        if (cand.code > 1) throw new Error(`check --compiler ${candidate} exited ${cand.code}: ${cand.stderr.slice(-2000)}`);
        const p = buildPhase(cand.stderr);
        const candJobs = Number(/(\d+) jobs/.exec(cand.stderr)?.[1]);
        const compilerS = compilerBuildSeconds(cand.stderr);
        process.stdout.write(`  candidate --compiler ${candidate}: ${candJobs} jobs (${p.built} built, ${p.cached} cached)\n`);
        reportFigure('candidate wall time (plan + compiler + builds + comparison)', cand.wallS, 's');
        reportFigure('  of which the compiler packages', compilerS, 's');
        if (p.built > 1)
          reportFigure(
            '  per-job engine overhead, the compiler left out',
            (Math.max(0, p.seconds - compilerS) * cores) / (p.built - 1),
            's',
            0.1,
          );
        if (cand.peakKiB !== null) reportFigure('peak memory of the ecocheck process (candidate)', cand.peakKiB / 1024, 'MiB', PEAK_MIB);
      } else
        process.stdout.write(
          '  candidate on another compiler: not run (ECOCHECK_BENCH_SYNTHETIC_CANDIDATE=4.14.1 builds that compiler first)\n',
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
