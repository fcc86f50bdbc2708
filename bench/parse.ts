/**
 * Parser figures on the real snapshot: read + parse every opam file in one process (target < 2 s, the
 * first pass, JIT cold, each tree dropped after use as a loader that builds package models does), then
 * parse-only throughput from memory (best of 3), the heap held when every tree is kept, and print +
 * re-parse time. Then, with no snapshot needed: an opam file whose `depends` is one 100,000-term `|`
 * formula (built balanced), parsed, converted to the package model, and printed.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { BenchSection } from './bench-section.js';
import { reportFigure } from './report-figure.js';
import { opamFiles } from '../support/snapshot.js';
import { snapshotForBench } from './snapshot-for-bench.js';
import { parseOpamFile } from '../src/opam/parser.js';
import { printOpamFile } from '../src/opam/printer.js';
import type { OpamFileAst } from '../src/opam/ast.js';
import { packageFromAst } from '../src/opam/package-from-ast.js';

export const parseSection: BenchSection = {
  name: 'parse',
  async run() {
    const repo = snapshotForBench();
    if (repo !== null) snapshotFigures(repo);
    // Last: its garbage would weigh on the first pass's figures.
    longFormulaFigures();
  },
};

function snapshotFigures(repo: string): void {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const files = opamFiles(repo);
  const texts: string[] = [];
  let errors = 0;
  let items = 0;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    texts.push(text);
    try {
      items += parseOpamFile(text, file).items.length;
    } catch {
      errors++;
    }
  }
  const loadParseMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const bytes = texts.reduce((n, t) => n + t.length, 0);
  process.stdout.write(`  ${files.length} opam files, ${(bytes / 1e6).toFixed(1)} MB, ${items} top-level items, ${errors} parse errors\n`);
  reportFigure('list + read + parse all opam files (first pass)', loadParseMs, 'ms', 2000);
  // CPU time is the fairer figure when other processes share the machine.
  reportFigure('  of which CPU time (user + system)', (cpu.user + cpu.system) / 1000, 'ms', 2000);
  reportFigure('read + parse throughput', files.length / (loadParseMs / 1000), 'files/s');

  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t = performance.now();
    for (let i = 0; i < files.length; i++) {
      try {
        parseOpamFile(texts[i], files[i]);
      } catch {
        // counted above
      }
    }
    best = Math.min(best, performance.now() - t);
  }
  reportFigure('parse only, from memory (best of 3)', best, 'ms');
  reportFigure('parse throughput', bytes / 1e6 / (best / 1000), 'MB/s');

  // Collect before each reading, or garbage from the passes above makes the difference meaningless.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const asts: OpamFileAst[] = [];
  for (let i = 0; i < files.length; i++) {
    try {
      asts.push(parseOpamFile(texts[i], files[i]));
    } catch {
      // counted above
    }
  }
  gc();
  reportFigure('heap held by all trees kept at once', (process.memoryUsage().heapUsed - heap0) / 1e6, 'MB');

  const t1 = performance.now();
  for (const ast of asts) parseOpamFile(printOpamFile(ast), ast.file);
  reportFigure('print + re-parse all', performance.now() - t1, 'ms');
}

function longFormulaFigures(): void {
  const n = 100_000;
  const text = `opam-version: "2.0"\ndepends: [ ${Array.from({ length: n }, (_, i) => `"x${i}" {>= "1"}`).join(' | ')} ]\n`;
  const t0 = performance.now();
  const ast = parseOpamFile(text, 'long/opam');
  const parsed = performance.now();
  packageFromAst(ast, { name: 'long', version: '1', file: 'long/opam', repository: 'bench', filesDir: null, contentHash: 'h' });
  const modelled = performance.now();
  printOpamFile(ast);
  const printed = performance.now();
  process.stdout.write(`  one opam file, depends a ${n}-term | formula (${(text.length / 1e6).toFixed(1)} MB):\n`);
  reportFigure('  parse', parsed - t0, 'ms');
  reportFigure('  package model', modelled - parsed, 'ms');
  reportFigure('  print', printed - modelled, 'ms');
}
