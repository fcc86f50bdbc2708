/**
 * The peak resident memory of an ecocheck process per phase, for the synthetic section: preloaded into
 * the measured process (`node --import …/memory-phases.js bin/ecocheck …`, see `memoryPhasesArgs`), a
 * worker thread reads the process's resident set every SAMPLE_MS (it samples while the main thread
 * solves, which a timer on the main thread cannot), and the lines ecocheck prints on stderr mark where
 * one phase ends: `run #N (` — the plan is made (repositories loaded, targets solved, jobs keyed) and the
 * builds start; `jobs: … built` — the builds are done; then the report and the end. At exit the phases'
 * peaks are written as JSON to ECOCHECK_BENCH_MEMORY_FILE.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const SAMPLE_MS = 50;
const FILE_ENV = 'ECOCHECK_BENCH_MEMORY_FILE';

/** The phases of a check, in order, and the stderr line that ends each but the last. */
export const PHASES = [
  { name: 'plan (load, solve, keys)', endsAt: /^(?:ecocheck: )?run #\d+ \(/m },
  { name: 'builds', endsAt: /^jobs: \d+ built/m },
  { name: 'report and exit', endsAt: null },
] as const;

export interface PhasePeak {
  phase: string;
  peakMiB: number;
}

/** The arguments that run `bin` under this preload, its phases' peaks written to `file`. */
export function memoryPhasesArgs(bin: string, file: string): { argv: string[]; env: NodeJS.ProcessEnv } {
  return { argv: ['--import', fileURLToPath(import.meta.url), bin], env: { ...process.env, [FILE_ENV]: file } };
}

/** The peaks as written by the preload. */
export function phasePeaks(json: string): PhasePeak[] {
  return JSON.parse(json) as PhasePeak[];
}

/** The process's resident set now, in KiB. */
function residentKiB(): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
}

function preload(file: string): void {
  // [0]: the highest resident set (KiB) seen since the last phase ended, kept by the worker.
  const peak = new Int32Array(new SharedArrayBuffer(4));
  const sampler = new Worker(
    `const { readFileSync } = require('node:fs');
     const { workerData } = require('node:worker_threads');
     const sample = () => {
       const kib = Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
       if (kib > Atomics.load(workerData, 0)) Atomics.store(workerData, 0, kib);
     };
     sample();
     setInterval(sample, ${SAMPLE_MS});`,
    { eval: true, workerData: peak },
  );
  sampler.unref();
  const peaks: PhasePeak[] = [];
  // The phase's end is sampled too: a phase shorter than the worker's first sample still has its peak.
  const endPhase = () => {
    const kib = Math.max(Atomics.exchange(peak, 0, 0), residentKiB());
    peaks.push({ phase: PHASES[peaks.length].name, peakMiB: Math.round(kib / 1024) });
  };
  const write = process.stderr.write.bind(process.stderr) as (chunk: unknown, ...rest: unknown[]) => boolean;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    const next = PHASES[peaks.length]?.endsAt;
    if (next && next.test(String(chunk))) endPhase();
    return write(chunk, ...rest);
  }) as typeof process.stderr.write;
  process.on('exit', () => {
    while (peaks.length < PHASES.length) endPhase();
    writeFileSync(file, JSON.stringify(peaks));
  });
}

const target = process.env[FILE_ENV];
if (target !== undefined && target !== '') preload(target);
