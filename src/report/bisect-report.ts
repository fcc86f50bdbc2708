/**
 * The report of `ecocheck bisect`: for each package the first bad commit (hash and subject), the
 * package's first error at that commit, and the steps taken (each an ordinary recorded run), in the
 * usual formats: terminal, Markdown (a pull-request comment), JSON (schema `ecocheck.bisect/1`).
 * HTML is the Markdown's job here: a bisection is a few lines.
 */
import type { BisectCommit, BisectFinding, BisectSummary } from '../compare/bisect-summary.js';
import type { StepVerdict } from '../compare/bisect-search.js';
import { clip, mdCode, mdText } from './markdown-text.js';
import { painter, type Paint } from './terminal-colour.js';

export const BISECT_SCHEMA_ID = 'ecocheck.bisect/1';

/** The Markdown report's first line: how a workflow finds its own comment to update it. */
export const BISECT_COMMENT_MARKER = '<!-- ecocheck-bisect -->';

/** Exit code: 1 when a package's first bad commit (or its candidates) was found, else 0. */
export function bisectExitCode(s: BisectSummary): 0 | 1 {
  return s.findings.some((f) => f.outcome === 'first-bad' || f.outcome === 'candidates') ? 1 : 0;
}

function short(c: BisectCommit): string {
  return c.sha.slice(0, 12);
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms < 3_600_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 3_600_000).toFixed(1)} h`;
}

function verdictText(v: Record<string, StepVerdict>): string {
  return Object.entries(v)
    .map(([p, x]) => `${p} ${x}`)
    .join(', ');
}

/** Packages with the same answer together, in the order they were given: the groups the bisection split into. */
function groups(s: BisectSummary): BisectFinding[][] {
  const byKey = new Map<string, BisectFinding[]>();
  for (const f of s.findings) {
    const key = `${f.outcome}:${f.firstBad?.sha ?? ''}:${f.candidates.map((c) => c.sha).join(',')}`;
    byKey.set(key, [...(byKey.get(key) ?? []), f]);
  }
  return [...byKey.values()];
}

function headline(group: BisectFinding[], range: BisectSummary): string {
  const f = group[0];
  switch (f.outcome) {
    case 'first-bad':
      return `first bad commit ${short(f.firstBad!)} ${JSON.stringify(f.firstBad!.subject)}${f.confirmed ? '' : ' (the bad end, as given: not built)'}`;
    case 'candidates':
      return `first bad commit is one of ${f.candidates.length} (skipped commits leave it open): ${f.candidates.map(short).join(' ')}`;
    case 'never-bad':
      return `not broken in the range: good at the bad end ${short(range.bad)}`;
    case 'already-bad':
      return `already broken at the good end ${short(range.good)}: nothing in the range broke it`;
  }
}

function errorText(f: BisectFinding): string | null {
  if (f.status === null) return null;
  const detail = f.firstError ?? (f.reason !== '' ? f.reason : null);
  const root = f.rootCause !== null && f.status === 'dependency-failed' ? ` (root cause ${f.rootCause})` : '';
  return `${f.status}${root}${detail !== null ? `: ${clip(detail, 400)}` : ''}`;
}

export function renderBisectTerminal(s: BisectSummary, options: { colour?: boolean } = {}): string {
  const paint: Paint = painter(options.colour === true);
  const lines: string[] = [];
  lines.push(
    paint(
      'bold',
      `bisect ${s.tree}: ${short(s.good)} (good) .. ${short(s.bad)} (bad), ${s.commitCount} commit(s), ${s.packages.length} package(s)${s.interrupted ? ' — INTERRUPTED' : ''}`,
    ),
  );
  for (const group of groups(s)) {
    const f = group[0];
    const tone = f.outcome === 'first-bad' || f.outcome === 'candidates' ? 'bad' : f.outcome === 'never-bad' ? 'good' : 'warn';
    lines.push('');
    lines.push(`${paint(tone, group.map((g) => g.package).join(', '))}: ${headline(group, s)}`);
    for (const g of group) {
      const e = errorText(g);
      if (e !== null && (f.outcome === 'first-bad' || f.outcome === 'candidates'))
        lines.push(`  ${g.package}: ${e}${g.runId !== null ? ` (run #${g.runId}, ecocheck log ${g.package} --run ${g.runId})` : ''}`);
    }
  }
  lines.push('');
  lines.push(
    `steps: ${s.steps.length} run(s), ${s.compilerBuilds} compiler build(s) (⌈log2(${s.commitCount})⌉ = ${s.log2Bound}), ${seconds(s.wallMs)}`,
  );
  s.steps.forEach((st, i) => {
    lines.push(
      `  ${i + 1}. ${short(st.commit)} ${clip(st.commit.subject, 60)}${st.attempt > 1 ? ` (attempt ${st.attempt})` : ''}: ${verdictText(st.verdicts)} — run #${st.runId}, ${st.built} built, ${st.cacheHits} cached, ${seconds(st.wallMs)}`,
    );
  });
  return `${lines.join('\n')}\n`;
}

export function renderBisectMarkdown(s: BisectSummary): string {
  const lines: string[] = [BISECT_COMMENT_MARKER];
  lines.push(`### ecocheck bisect: ${mdCode(short(s.good))} (good) .. ${mdCode(short(s.bad))} (bad)`);
  lines.push('');
  lines.push(
    `${s.commitCount} commit(s), ${s.packages.length} package(s), ${s.compilerBuilds} compiler build(s) (⌈log2(${s.commitCount})⌉ = ${s.log2Bound})${s.interrupted ? ', **interrupted**' : ''}.`,
  );
  lines.push('');
  for (const group of groups(s)) {
    const f = group[0];
    const names = group.map((g) => mdCode(g.package)).join(', ');
    switch (f.outcome) {
      case 'first-bad':
        lines.push(
          `- ${names}: first bad commit ${mdCode(short(f.firstBad!))} ${mdText(f.firstBad!.subject)}${f.confirmed ? '' : ' (the bad end, as given: not built)'}`,
        );
        break;
      case 'candidates':
        lines.push(
          `- ${names}: first bad commit is one of ${f.candidates.map((c) => `${mdCode(short(c))} ${mdText(c.subject)}`).join('; ')} (skipped commits leave it open)`,
        );
        break;
      case 'never-bad':
        lines.push(`- ${names}: not broken in the range`);
        break;
      case 'already-bad':
        lines.push(`- ${names}: already broken at the good commit`);
        break;
    }
    if (f.outcome === 'first-bad' || f.outcome === 'candidates') {
      for (const g of group) {
        const e = errorText(g);
        if (e !== null) lines.push(`  - ${mdCode(g.package)}: ${mdCode(clip(e, 300))}`);
      }
    }
  }
  lines.push('');
  lines.push('<details>');
  lines.push(`<summary>${s.steps.length} step(s)</summary>`);
  lines.push('');
  lines.push('| # | commit | subject | verdicts | run |');
  lines.push('|---|---|---|---|---|');
  s.steps.forEach((st, i) => {
    lines.push(
      `| ${i + 1} | ${mdCode(short(st.commit))} | ${mdText(clip(st.commit.subject, 80))} | ${mdText(verdictText(st.verdicts))}${st.attempt > 1 ? ` (attempt ${st.attempt})` : ''} | #${st.runId} |`,
    );
  });
  lines.push('');
  lines.push('</details>');
  return `${lines.join('\n')}\n`;
}

export function bisectToJson(s: BisectSummary) {
  return {
    schema: BISECT_SCHEMA_ID,
    tree: s.tree,
    good: s.good,
    bad: s.bad,
    commitCount: s.commitCount,
    packages: s.packages,
    findings: s.findings,
    steps: s.steps,
    compilerBuilds: s.compilerBuilds,
    log2Bound: s.log2Bound,
    interrupted: s.interrupted,
    wallMs: s.wallMs,
  };
}

export const BISECT_FORMATS = ['terminal', 'markdown', 'json'] as const;
export type BisectFormat = (typeof BISECT_FORMATS)[number];

export function isBisectFormat(s: string): s is BisectFormat {
  return (BISECT_FORMATS as readonly string[]).includes(s);
}

export function renderBisectReport(s: BisectSummary, format: BisectFormat, options: { colour?: boolean } = {}): string {
  switch (format) {
    case 'terminal':
      return renderBisectTerminal(s, options);
    case 'markdown':
      return renderBisectMarkdown(s);
    case 'json':
      return `${JSON.stringify(bisectToJson(s), null, 2)}\n`;
  }
}
