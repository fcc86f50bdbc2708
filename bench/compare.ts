/**
 * Compare and report at ecosystem scale: two synthetic runs of 30 000 package versions (4 000 names)
 * with real-looking failure logs, compared, clustered and rendered in every format.
 */
import type { BenchSection } from './bench-section.js';
import { reportFigure } from './report-figure.js';
import { compareRuns } from '../src/compare/compare-runs.js';
import type { RunSide } from '../src/compare/run-side.js';
import { summariseRun } from '../src/compare/run-summary.js';
import { renderComparisonReport, renderRunReport, REPORT_FORMATS } from '../src/report/render-report.js';
import type { JobStatus, PackageRunResult } from '../src/results/taxonomy.js';
import { firstErrorOfLog } from '../src/builder/first-error.js';

const ERRORS = [
  'Error: Unbound module Stream',
  'Error: Unbound module Pervasives',
  'Error: Unbound value String.lowercase',
  "stubs.c:(.text+0x1f3): undefined reference to `alloc_string'",
  'Error: Unbound value Obj.truncate',
];

function log(name: string, i: number): string {
  const lines = [];
  for (let k = 0; k < 40; k++)
    lines.push(`(cd _build/default && /home/opam/.opam/5.1.1/bin/ocamlopt.opt -w -40 -g -I src/.${name}.objs/byte -c -impl src/m${k}.ml)`);
  lines.push(`File "src/m${i % 97}.ml", line ${i % 500}, characters ${i % 40}-${(i % 40) + 9}:`, ERRORS[i % ERRORS.length]);
  return lines.join('\n');
}

function synthetic(): [RunSide, RunSide] {
  const base: PackageRunResult[] = [];
  const cand: PackageRunResult[] = [];
  const mk = (name: string, version: string, status: JobStatus, i: number, rootCause: string | null): PackageRunResult => ({
    id: `${name}.${version}`,
    name,
    version,
    status,
    reason: status === 'ok' ? '' : 'failed',
    rootCause,
    jobKey: `${name}${version}`,
    durationMs: 1000,
    exitCode: status === 'ok' ? 0 : 1,
    logPath: null,
    logTail: status === 'build-failed' ? log(name, i) : '',
    cached: false,
    // The builder's first error of the log (as it records it), read once per result.
    firstError: status === 'build-failed' ? firstErrorOfLog(log(name, i)) : null,
    missingSystemPackages: [],
  });
  let i = 0;
  for (let n = 0; n < 4000; n++) {
    const name = `pkg${n}`;
    for (let v = 0; v < 7 + (n % 2); v++) {
      i++;
      const version = `${v}.0`;
      base.push(mk(name, version, i % 50 === 0 ? 'build-failed' : 'ok', i, null));
      const roll = i % 10;
      const status: JobStatus = roll === 0 ? 'build-failed' : roll === 1 ? 'dependency-failed' : roll === 2 ? 'not-installable' : 'ok';
      cand.push(mk(name, version, status, i, status === 'dependency-failed' ? `pkg${(n * 7) % 4000}.0.0` : null));
    }
  }
  return [
    { runId: 1, label: '4.14.2', compiler: 'ocaml-base-compiler.4.14.2', results: base },
    { runId: 2, label: '5.1.1', compiler: 'ocaml-base-compiler.5.1.1', results: cand },
  ];
}

export const compareSection: BenchSection = {
  name: 'compare',
  run: async () => {
    const [b, c] = synthetic();
    process.stdout.write(`  ${b.results.length} + ${c.results.length} results\n`);
    let t0 = performance.now();
    const cmp = compareRuns(b, c);
    reportFigure('compare two runs (incl. clustering)', performance.now() - t0, 'ms', 2000);
    t0 = performance.now();
    const summary = summariseRun(c);
    reportFigure('summarise one run', performance.now() - t0, 'ms', 2000);
    for (const f of REPORT_FORMATS) {
      t0 = performance.now();
      const out = renderComparisonReport(cmp, f);
      reportFigure(`render comparison ${f}`, performance.now() - t0, 'ms', 2000);
      reportFigure(`  size of comparison ${f}`, out.length / 1e6, 'MB');
      t0 = performance.now();
      renderRunReport(summary, f);
      reportFigure(`render run ${f}`, performance.now() - t0, 'ms', 2000);
    }
  },
};
