/**
 * Markdown fit for a pull-request comment: counts first, then the regressions grouped by root cause and
 * by error cluster, then the other categories that need a look; lists longer than ten are folded.
 */
import type { Comparison, PackageComparison } from '../compare/comparison.js';
import type { RunSummary } from '../compare/run-summary.js';
import { resultFirstError } from '../compare/error-clusters.js';
import { OWN_FAILURE_STATUSES, type ComparisonCategory, type PackageRunResult } from '../results/taxonomy.js';
import { CATEGORY_DESCRIPTIONS, CATEGORY_ORDER, CATEGORY_TITLES, STATUS_ORDER } from './category-style.js';
import { clip, foldedList, mdCode, mdText } from './markdown-text.js';

export interface MarkdownOptions {
  /** Lists longer than this are folded in `<details>` (default 10). */
  foldAbove?: number;
  /** At most this many items per list (default 200), so a huge run still fits a comment. */
  listLimit?: number;
  /** Longest error text shown on one line (default 160 characters). */
  errorWidth?: number;
  /** At most this many root causes and error clusters (default 100). */
  sectionLimit?: number;
  /**
   * The longest report (default 60 000 characters, under GitHub's 65 536 limit for a comment): when the
   * report is longer, lists and sections are cut down step by step, with a note saying so.
   */
  maxLength?: number;
}

interface Settings {
  foldAbove: number;
  listLimit: number;
  errorWidth: number;
  sectionLimit: number;
}

/** Smaller and smaller (list, section) limits tried until the report fits `maxLength`. */
const SHRINK_STEPS: [number, number][] = [
  [50, 40],
  [20, 20],
  [10, 10],
  [5, 5],
  [0, 3],
];

const SHORTENED_NOTE = '> Shortened to fit a comment: long lists are cut. The HTML and JSON reports have every package.';

function fitted(render: (s: Settings) => string, o: MarkdownOptions): string {
  const first: Settings = {
    foldAbove: o.foldAbove ?? 10,
    listLimit: o.listLimit ?? 200,
    errorWidth: o.errorWidth ?? 160,
    sectionLimit: o.sectionLimit ?? 100,
  };
  const maxLength = o.maxLength ?? 60_000;
  let md = render(first);
  if (md.length <= maxLength) return md;
  for (const [listLimit, sectionLimit] of SHRINK_STEPS) {
    md = render({ ...first, listLimit: Math.min(listLimit, first.listLimit), sectionLimit: Math.min(sectionLimit, first.sectionLimit) });
    if (md.length + SHORTENED_NOTE.length + 2 <= maxLength) break;
  }
  const [title, ...rest] = md.split('\n');
  md = [title, '', SHORTENED_NOTE, ...rest].join('\n');
  if (md.length <= maxLength) return md;
  // Still too long (huge counts of sections): cut at a line boundary, closing an open <details>.
  let cut = md.slice(0, maxLength - 200);
  cut = cut.slice(0, cut.lastIndexOf('\n'));
  if (cut.split('<details>').length > cut.split('</details>').length) cut += '\n\n</details>';
  return `${cut}\n\n_… cut here._\n`;
}

function moreLine(n: number, what: string): string[] {
  return n > 0 ? [`_… and ${n} more ${what}._`, ''] : [];
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A package's version, or `BASE → CANDIDATE` when the two runs checked different versions. */
export function versionText(e: PackageComparison): string {
  const b = e.baseline?.version;
  const c = e.candidate?.version;
  if (b !== undefined && c !== undefined && b !== c) return `${b} → ${c}`;
  return c ?? b ?? '';
}

/** One list line for a package: key, version, its first error as code, a note. */
export function packageLine(e: PackageComparison, detail: string, errorWidth: number, extra = ''): string {
  const version = versionText(e);
  const shownDetail = detail !== '' ? ` — ${mdCode(clip(detail, errorWidth))}` : '';
  const note = e.note !== null ? ` _(${mdText(e.note)})_` : '';
  return `- **${mdText(e.key)}** ${mdText(version)}${shownDetail}${note}${extra}`;
}

export function renderComparisonMarkdown(c: Comparison, options: MarkdownOptions = {}): string {
  return fitted((s) => comparisonMarkdown(c, s), options);
}

function comparisonMarkdown(c: Comparison, { foldAbove, listLimit, errorWidth, sectionLimit }: Settings): string {
  const total = c.packages.length;
  const out: string[] = [];
  out.push(`## ecocheck: ${mdText(c.candidate.label)} compared with ${mdText(c.baseline.label)}`, '');
  const regressions = c.counts.regressed + c.counts['dependency-regressed'];
  const headline =
    regressions === 0
      ? `**No regressions** among ${plural(total, 'package')}`
      : `**${c.counts.regressed} regressed, ${c.counts['dependency-regressed']} dependency regressed** among ${plural(total, 'package')}`;
  out.push(
    `${headline} (candidate ${mdCode(c.candidate.compiler)}, run ${mdText(String(c.candidate.runId))}; ` +
      `baseline ${mdCode(c.baseline.compiler)}, run ${mdText(String(c.baseline.runId))}).`,
    '',
  );
  out.push('| Category | Packages | Meaning |', '|:--|--:|:--|');
  for (const cat of CATEGORY_ORDER) out.push(`| ${CATEGORY_TITLES[cat]} | ${c.counts[cat]} | ${CATEGORY_DESCRIPTIONS[cat]} |`);
  out.push(`| **Total** | **${total}** | |`, '');

  const byKey = new Map(c.packages.map((e) => [e.key, e]));
  const dependentsOf = new Map(c.rootCauses.map((rc) => [rc.key, rc.dependents.length]));

  // Regressions by root cause: the roots that make other packages fail.
  const roots = c.rootCauses.filter((rc) => rc.dependents.length > 0);
  if (regressions > 0) {
    out.push('### Regressions by root cause', '');
    if (roots.length === 0) out.push('No package fails because of a dependency that regressed.', '');
    for (const rc of roots.slice(0, sectionLimit)) {
      const state =
        rc.category === 'regressed'
          ? 'regressed'
          : rc.category === null
            ? 'not checked in these runs'
            : CATEGORY_TITLES[rc.category].toLowerCase();
      const error = rc.firstError !== '' ? ` — ${mdCode(clip(rc.firstError, errorWidth))}` : '';
      out.push(
        `**${mdText(rc.key)}** (${state}): ${plural(rc.dependents.length, 'package fails', 'packages fail')} because of it${error}`,
        '',
      );
      const items = rc.dependents.map((k) => {
        const e = byKey.get(k);
        return e !== undefined ? `- ${mdText(k)} ${mdText(versionText(e))}` : `- ${mdText(k)}`;
      });
      out.push(
        ...foldedList(items, `${plural(rc.dependents.length, 'package')} failing because of ${mdText(rc.key)}`, foldAbove, listLimit),
        '',
      );
    }
    out.push(...moreLine(roots.length - sectionLimit, 'root causes'));
  }

  // Regressions by error cluster.
  if (c.regressionClusters.length > 0) {
    out.push('### Regressions by error', '');
    for (const cluster of c.regressionClusters.slice(0, sectionLimit)) {
      out.push(`#### ${mdCode(clip(cluster.signature, errorWidth))} — ${plural(cluster.packages.length, 'package')}`, '');
      const items = cluster.packages.map((k) => {
        const e = byKey.get(k)!;
        const n = dependentsOf.get(k) ?? 0;
        const extra = n > 0 ? ` · ${plural(n, 'more package fails', 'more packages fail')} because of it` : '';
        return packageLine(e, e.detail, errorWidth, extra);
      });
      out.push(...foldedList(items, plural(cluster.packages.length, 'package'), foldAbove, listLimit), '');
    }
    out.push(...moreLine(c.regressionClusters.length - sectionLimit, 'errors'));
  }

  // The other categories worth a look; still-ok is only counted.
  const listed: ComparisonCategory[] = ['newly-not-installable', 'spurious', 'fixed', 'newly-installable', 'still-failing'];
  for (const cat of listed) {
    const entries = c.packages.filter((e) => e.category === cat);
    if (entries.length === 0) continue;
    out.push(`### ${CATEGORY_TITLES[cat]} (${entries.length})`, '', `_${CATEGORY_DESCRIPTIONS[cat]}_`, '');
    const items = entries.map((e) => packageLine(e, e.detail, errorWidth));
    out.push(...foldedList(items, plural(entries.length, 'package'), foldAbove, listLimit), '');
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function resultLine(r: PackageRunResult, detail: string, errorWidth: number): string {
  const shown = detail !== '' ? ` — ${mdCode(clip(detail, errorWidth))}` : '';
  return `- **${mdText(r.name)}** ${mdText(r.version)}${shown}`;
}

export function renderRunMarkdown(s: RunSummary, options: MarkdownOptions = {}): string {
  return fitted((settings) => runMarkdown(s, settings), options);
}

function runMarkdown(s: RunSummary, { foldAbove, listLimit, errorWidth, sectionLimit }: Settings): string {
  const out: string[] = [];
  const total = s.results.length;
  out.push(`## ecocheck: run ${mdText(String(s.run.runId))} (${mdText(s.run.label)})`, '');
  const own = s.results.filter((r) => OWN_FAILURE_STATUSES.has(r.status)).length;
  out.push(
    `${plural(total, 'package')} checked with ${mdCode(s.run.compiler)}: **${s.counts.ok} ok, ${own} failed, ` +
      `${s.counts['dependency-failed']} failed because of a dependency**.`,
    '',
  );
  out.push('| Status | Packages |', '|:--|--:|');
  for (const st of STATUS_ORDER) out.push(`| ${st} | ${s.counts[st]} |`);
  out.push(`| **Total** | **${total}** |`, '');

  const byId = new Map(s.results.map((r) => [r.id, r]));
  if (s.clusters.length > 0) {
    out.push('### Failures by error', '');
    for (const cluster of s.clusters.slice(0, sectionLimit)) {
      out.push(`#### ${mdCode(clip(cluster.signature, errorWidth))} — ${plural(cluster.packages.length, 'package')}`, '');
      const items = cluster.packages.map((id) => resultLine(byId.get(id)!, resultFirstError(byId.get(id)!), errorWidth));
      out.push(...foldedList(items, plural(cluster.packages.length, 'package'), foldAbove, listLimit), '');
    }
    out.push(...moreLine(s.clusters.length - sectionLimit, 'errors'));
  }
  if (s.rootCauses.length > 0) {
    out.push('### Dependency failures by root cause', '');
    for (const rc of s.rootCauses.slice(0, sectionLimit)) {
      const state = rc.status ?? 'not checked in this run';
      const error = rc.firstError !== '' ? ` — ${mdCode(clip(rc.firstError, errorWidth))}` : '';
      out.push(
        `**${mdText(rc.id)}** (${state}): ${plural(rc.dependents.length, 'package fails', 'packages fail')} because of it${error}`,
        '',
      );
      out.push(
        ...foldedList(
          rc.dependents.map((d) => `- ${mdText(d)}`),
          plural(rc.dependents.length, 'package'),
          foldAbove,
          listLimit,
        ),
        '',
      );
    }
    out.push(...moreLine(s.rootCauses.length - sectionLimit, 'root causes'));
  }
  const others = s.results.filter((r) => r.status !== 'ok' && r.status !== 'dependency-failed' && !OWN_FAILURE_STATUSES.has(r.status));
  for (const st of STATUS_ORDER) {
    const rs = others.filter((r) => r.status === st);
    if (rs.length === 0) continue;
    out.push(`### ${st} (${rs.length})`, '');
    out.push(
      ...foldedList(
        rs.map((r) => resultLine(r, r.reason !== '' ? r.reason : resultFirstError(r), errorWidth)),
        plural(rs.length, 'package'),
        foldAbove,
        listLimit,
      ),
      '',
    );
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
