/**
 * Writing a report where the user asked (standard output or `--output FILE`), and its exit code. It
 * loads the report layer: the verbs that report import it when their action runs.
 */
import { writeFileSync } from 'node:fs';
import type { Comparison } from '../compare/comparison.js';
import type { RunSummary } from '../compare/run-summary.js';
import { comparisonExitCode, runExitCode } from '../report/exit-code.js';
import { isReportFormat, renderComparisonReport, renderRunReport, REPORT_FORMATS, type ReportFormat } from '../report/render-report.js';
import { shouldUseColour } from '../report/terminal-colour.js';
import { renderPrComment } from '../report/pr-comment.js';
import type { RunKind } from '../session/run-listing.js';
import type { ReportOptions } from './options.js';
import { UsageError } from './usage-error.js';

export interface ReportDestination {
  format: ReportFormat;
  output?: string;
}

export function parseReportFormat(value: string): ReportFormat {
  if (!isReportFormat(value)) throw new UsageError(`--format ${value}: expected one of ${REPORT_FORMATS.join(', ')}`);
  return value;
}

export function reportDestination(opts: ReportOptions): ReportDestination {
  return { format: parseReportFormat(opts.format), output: opts.output };
}

function emit(text: string, dest: ReportDestination): void {
  const body = text.endsWith('\n') ? text : `${text}\n`;
  if (dest.output === undefined) {
    process.stdout.write(body);
    return;
  }
  try {
    writeFileSync(dest.output, body);
  } catch (err) {
    throw new UsageError(`--output ${dest.output}: cannot write: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.stderr.write(`report written to ${dest.output}\n`);
}

function renderOptions(dest: ReportDestination) {
  return { colour: dest.output === undefined && dest.format === 'terminal' && shouldUseColour(process.stdout, process.env) };
}

/** Writes the comparison report; returns its exit code (1 when something regressed). */
export function writeComparisonReport(comparison: Comparison, dest: ReportDestination): 0 | 1 {
  emit(renderComparisonReport(comparison, dest.format, renderOptions(dest)), dest);
  return comparisonExitCode(comparison);
}

/** Writes the report of a run compared with nothing; returns its exit code (report/exit-code.ts). */
export function writeRunReport(summary: RunSummary, kind: RunKind, dest: ReportDestination): 0 | 1 {
  emit(renderRunReport(summary, dest.format, renderOptions(dest)), dest);
  return runExitCode(summary, kind);
}

/**
 * Writes the pull-request comment of a comparison (Markdown within GitHub's size limit, with the marker
 * the workflow finds its own comment by); returns the comparison's exit code.
 */
export function writePrComment(comparison: Comparison, links: { reportUrl?: string; runUrl?: string }, output: string | undefined): 0 | 1 {
  const comment = renderPrComment(comparison, links);
  if (comment.shortened) process.stderr.write(`ecocheck: the comment was shortened to fit GitHub's limit: ${comment.leftOut.join('; ')}\n`);
  emit(comment.body, { format: 'markdown', output });
  return comparisonExitCode(comparison);
}
