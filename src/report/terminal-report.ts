/**
 * The terminal report (cli-table3): summary counts first, then root causes, then error clusters.
 * Colour is a parameter (see `shouldUseColour`), so output is plain text in pipes, files and tests.
 */
import Table from 'cli-table3';
import type { Comparison } from '../compare/comparison.js';
import type { RunSummary } from '../compare/run-summary.js';
import { CATEGORY_ORDER, CATEGORY_TITLES, CATEGORY_TONES, STATUS_ORDER, STATUS_TONES } from './category-style.js';
import { clip } from './markdown-text.js';
import { painter, type Paint } from './terminal-colour.js';

export interface TerminalOptions {
  /** ANSI colours (default false). */
  colour?: boolean;
  /** Total width the tables may use (default 100 columns). */
  width?: number;
  /** At most this many rows per table (default 30); the rest are counted. */
  rowLimit?: number;
}

function newTable(head: string[], paint: Paint, colWidths?: number[]): Table.Table {
  return new Table({
    head: head.map((h) => paint('bold', h)),
    style: { head: [], border: [], 'padding-left': 1, 'padding-right': 1, compact: true },
    ...(colWidths !== undefined ? { colWidths, wordWrap: true } : {}),
  });
}

function names(list: string[], max: number): string {
  return list.length <= max ? list.join(', ') : `${list.slice(0, max).join(', ')} … (+${list.length - max})`;
}

export function renderComparisonTerminal(c: Comparison, options: TerminalOptions = {}): string {
  const paint = painter(options.colour ?? false);
  const width = Math.max(60, options.width ?? 100);
  const rowLimit = options.rowLimit ?? 30;
  const out: string[] = [];
  out.push(
    paint('bold', `ecocheck: ${c.candidate.label} compared with ${c.baseline.label}`),
    `candidate ${c.candidate.compiler} (run ${c.candidate.runId}), baseline ${c.baseline.compiler} (run ${c.baseline.runId})`,
  );

  const counts = newTable(['Category', 'Packages'], paint);
  for (const cat of CATEGORY_ORDER) {
    const n = c.counts[cat];
    counts.push([paint(n > 0 ? CATEGORY_TONES[cat] : 'dim', CATEGORY_TITLES[cat]), { content: String(n), hAlign: 'right' }]);
  }
  counts.push([paint('bold', 'Total'), { content: paint('bold', String(c.packages.length)), hAlign: 'right' }]);
  out.push(counts.toString());

  // Roots that make other packages fail; a regression failing alone shows in the error table below.
  const rootCauses = c.rootCauses.filter((rc) => rc.dependents.length > 0);
  if (rootCauses.length > 0) {
    out.push(paint('bold', 'Root causes (packages failing because of them)'));
    const errorWidth = Math.max(20, width - 26 - 12 - 7);
    const roots = newTable(['Package', 'Dependents', 'First error'], paint, [26, 12, errorWidth]);
    for (const rc of rootCauses.slice(0, rowLimit)) {
      roots.push([
        paint(rc.category === 'regressed' ? 'bad' : 'warn', rc.key),
        { content: String(rc.dependents.length), hAlign: 'right' },
        clip(rc.firstError, errorWidth * 3),
      ]);
    }
    out.push(roots.toString());
    if (rootCauses.length > rowLimit) out.push(`… and ${rootCauses.length - rowLimit} more root causes`);
  }

  if (c.regressionClusters.length > 0) {
    out.push(paint('bold', 'Regressions by error'));
    const colW = Math.max(20, Math.floor((width - 10 - 10) / 2));
    const clusters = newTable(['Packages', 'Error', 'Which'], paint, [10, colW, colW]);
    for (const cl of c.regressionClusters.slice(0, rowLimit)) {
      clusters.push([{ content: String(cl.packages.length), hAlign: 'right' }, clip(cl.signature, colW * 3), names(cl.packages, 8)]);
    }
    out.push(clusters.toString());
    if (c.regressionClusters.length > rowLimit) out.push(`… and ${c.regressionClusters.length - rowLimit} more errors`);
  }

  const regressions = c.counts.regressed + c.counts['dependency-regressed'];
  out.push(
    regressions > 0
      ? paint(
          'bad',
          `${regressions} regression${regressions === 1 ? '' : 's'} (${c.counts.regressed} own, ${c.counts['dependency-regressed']} through a dependency)`,
        )
      : paint('good', 'No regressions'),
  );
  return `${out.join('\n')}\n`;
}

export function renderRunTerminal(s: RunSummary, options: TerminalOptions = {}): string {
  const paint = painter(options.colour ?? false);
  const width = Math.max(60, options.width ?? 100);
  const rowLimit = options.rowLimit ?? 30;
  const out: string[] = [];
  out.push(paint('bold', `ecocheck: run ${s.run.runId} (${s.run.label}, ${s.run.compiler})`));
  const counts = newTable(['Status', 'Packages'], paint);
  for (const st of STATUS_ORDER) {
    const n = s.counts[st];
    counts.push([paint(n > 0 ? STATUS_TONES[st] : 'dim', st), { content: String(n), hAlign: 'right' }]);
  }
  counts.push([paint('bold', 'Total'), { content: paint('bold', String(s.results.length)), hAlign: 'right' }]);
  out.push(counts.toString());

  if (s.rootCauses.length > 0) {
    out.push(paint('bold', 'Root causes of dependency failures'));
    const errorWidth = Math.max(20, width - 30 - 12 - 7);
    const roots = newTable(['Package', 'Dependents', 'First error'], paint, [30, 12, errorWidth]);
    for (const rc of s.rootCauses.slice(0, rowLimit)) {
      roots.push([paint('bad', rc.id), { content: String(rc.dependents.length), hAlign: 'right' }, clip(rc.firstError, errorWidth * 3)]);
    }
    out.push(roots.toString());
    if (s.rootCauses.length > rowLimit) out.push(`… and ${s.rootCauses.length - rowLimit} more root causes`);
  }
  if (s.clusters.length > 0) {
    out.push(paint('bold', 'Failures by error'));
    const colW = Math.max(20, Math.floor((width - 10 - 10) / 2));
    const clusters = newTable(['Packages', 'Error', 'Which'], paint, [10, colW, colW]);
    for (const cl of s.clusters.slice(0, rowLimit)) {
      clusters.push([{ content: String(cl.packages.length), hAlign: 'right' }, clip(cl.signature, colW * 3), names(cl.packages, 8)]);
    }
    out.push(clusters.toString());
    if (s.clusters.length > rowLimit) out.push(`… and ${s.clusters.length - rowLimit} more errors`);
  }
  const own = s.counts['build-failed'] + s.counts['install-failed'];
  const failures = own + s.counts['dependency-failed'];
  out.push(
    failures > 0
      ? paint('bad', `${failures} failure${failures === 1 ? '' : 's'} (${own} own, ${s.counts['dependency-failed']} through a dependency)`)
      : paint('good', 'No failures'),
  );
  return `${out.join('\n')}\n`;
}
