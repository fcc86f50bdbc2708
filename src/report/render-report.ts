/** One entry point per report kind, choosing the format: what the CLI calls. */
import type { Comparison } from '../compare/comparison.js';
import type { RunSummary } from '../compare/run-summary.js';
import { renderComparisonHtml, renderRunHtml, type HtmlOptions } from './html-report.js';
import { renderComparisonJson, renderRunJson } from './json-report.js';
import { renderComparisonMarkdown, renderRunMarkdown, type MarkdownOptions } from './markdown-report.js';
import { renderComparisonTerminal, renderRunTerminal, type TerminalOptions } from './terminal-report.js';

export const REPORT_FORMATS = ['terminal', 'markdown', 'json', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function isReportFormat(s: string): s is ReportFormat {
  return (REPORT_FORMATS as readonly string[]).includes(s);
}

export type ReportOptions = TerminalOptions & MarkdownOptions & HtmlOptions;

export function renderComparisonReport(c: Comparison, format: ReportFormat, options: ReportOptions = {}): string {
  switch (format) {
    case 'terminal':
      return renderComparisonTerminal(c, options);
    case 'markdown':
      return renderComparisonMarkdown(c, options);
    case 'json':
      return renderComparisonJson(c);
    case 'html':
      return renderComparisonHtml(c, options);
  }
}

export function renderRunReport(s: RunSummary, format: ReportFormat, options: ReportOptions = {}): string {
  switch (format) {
    case 'terminal':
      return renderRunTerminal(s, options);
    case 'markdown':
      return renderRunMarkdown(s, options);
    case 'json':
      return renderRunJson(s);
    case 'html':
      return renderRunHtml(s, options);
  }
}
