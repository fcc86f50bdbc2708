/**
 * The pull-request comment for a comparison: a hidden marker line first (the workflow finds and updates
 * its own comment by it), the counts, a link to the full HTML report, the regressions by root cause and
 * by error cluster, then the other categories worth a look, every list collapsed in `<details>`.
 *
 * GitHub refuses a comment body over 65,536 characters. When the whole comment would be longer, details
 * are dropped least important first: the lists of the other categories, then the packages failing
 * because of each root cause, then the packages of each error cluster, then whole root causes and
 * clusters (the smallest last in the list go first). Every cut list ends with what it left out
 * (`… and 2,345 more regressions: see the full report`), and a note under the counts sums it all up.
 * Sizes are measured in UTF-8 bytes, which is never less than the characters GitHub counts.
 */
import type { Comparison, PackageComparison, RootCause } from '../compare/comparison.js';
import type { ComparisonCategory } from '../results/taxonomy.js';
import { CATEGORY_DESCRIPTIONS, CATEGORY_ORDER, CATEGORY_TITLES } from './category-style.js';
import { packageLine, versionText } from './markdown-report.js';
import { clip, foldedList, mdCode, mdText } from './markdown-text.js';

/** GitHub's limit on a comment body. */
export const GITHUB_COMMENT_LIMIT = 65_536;

/** The hidden line the workflow looks for to update its own comment instead of adding one. */
export const PR_COMMENT_MARKER = '<!-- ecocheck-report -->';

export interface PrCommentOptions {
  /** The full report (the HTML artifact, or a page): linked at the top and from every cut list. */
  reportUrl?: string;
  /** The CI run that made the comment, linked beside the report. */
  runUrl?: string;
  /** The longest body, in UTF-8 bytes (default: GitHub's limit less a margin for the workflow's own lines, 65,000). */
  maxLength?: number;
  /** Longest error text on one line (default 160 characters). */
  errorWidth?: number;
  /** Lists of more items than this are collapsed (default 3). */
  foldAbove?: number;
}

/** How much is shown; each field is an upper bound (Infinity: everything). */
interface Detail {
  /** Packages listed per other category. */
  other: number;
  /** Dependents listed per root cause. */
  dependents: number;
  /** Packages listed per error cluster. */
  clusterPackages: number;
  /** Root causes, and error clusters, shown. */
  sections: number;
}

const ALL: Detail = { other: Infinity, dependents: Infinity, clusterPackages: Infinity, sections: Infinity };

/** Less and less detail, the least important first; each step keeps the previous steps' cuts. */
const STEPS: Partial<Detail>[] = [
  { other: 50 },
  { other: 10 },
  { other: 0 },
  { dependents: 50 },
  { dependents: 10 },
  { dependents: 0 },
  { clusterPackages: 50 },
  { clusterPackages: 10 },
  { clusterPackages: 3 },
  { sections: 50 },
  { sections: 20 },
  { sections: 10 },
  { sections: 5 },
  { sections: 1 },
];

const OTHER_CATEGORIES: ComparisonCategory[] = ['newly-not-installable', 'spurious', 'fixed', 'newly-installable', 'still-failing'];

function n(x: number): string {
  return x.toLocaleString('en-US');
}

/** `1 package`, `2,345 packages`. */
function counted(k: number, one: string, many = `${one}s`): string {
  return `${n(k)} ${k === 1 ? one : many}`;
}

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** What a rendering left out, to say so. */
class Omitted {
  readonly regressions = new Set<string>();
  readonly dependencyRegressions = new Set<string>();
  rootCauses = 0;
  clusters = 0;
  readonly other = new Map<ComparisonCategory, number>();

  get any(): boolean {
    return (
      this.regressions.size +
        this.dependencyRegressions.size +
        this.rootCauses +
        this.clusters +
        [...this.other.values()].reduce((s, x) => s + x, 0) >
      0
    );
  }

  parts(): string[] {
    const out: string[] = [];
    if (this.regressions.size > 0) out.push(counted(this.regressions.size, 'regression'));
    if (this.dependencyRegressions.size > 0) out.push(counted(this.dependencyRegressions.size, 'dependency regression'));
    if (this.rootCauses > 0) out.push(counted(this.rootCauses, 'root cause'));
    if (this.clusters > 0) out.push(counted(this.clusters, 'error cluster'));
    for (const cat of OTHER_CATEGORIES) {
      const k = this.other.get(cat) ?? 0;
      if (k > 0) out.push(`${n(k)} ${CATEGORY_TITLES[cat].toLowerCase()}`);
    }
    return out;
  }
}

function render(
  c: Comparison,
  d: Detail,
  o: Required<Pick<PrCommentOptions, 'errorWidth' | 'foldAbove'>> & PrCommentOptions,
  omitted: Omitted,
): string {
  const see = o.reportUrl !== undefined ? `[the full report](${o.reportUrl})` : 'the full report';
  // Only the lines shown are rendered: a comparison of thousands renders fast at every detail level.
  const list = <T>(all: readonly T[], line: (x: T) => string, limit: number, what: string, summary: string): string[] => {
    const shown = all.slice(0, limit).map(line);
    const left = all.length - shown.length;
    if (left > 0) shown.push(shown.length > 0 ? `- _… and ${n(left)} more ${what}: see ${see}_` : `- _${n(left)} ${what}: see ${see}_`);
    return foldedList(shown, summary, o.foldAbove, Infinity);
  };
  const byKey = new Map(c.packages.map((e) => [e.key, e]));
  const total = c.packages.length;
  const regressions = c.counts.regressed + c.counts['dependency-regressed'];

  const head: string[] = [PR_COMMENT_MARKER, `## ecocheck: ${mdText(c.candidate.label)} compared with ${mdText(c.baseline.label)}`, ''];
  const headline =
    regressions === 0
      ? `**No regressions** among ${n(total)} packages`
      : `**${n(c.counts.regressed)} regressed, ${n(c.counts['dependency-regressed'])} dependency regressed** among ${n(total)} packages`;
  head.push(`${headline} (candidate ${mdCode(c.candidate.compiler)}, baseline ${mdCode(c.baseline.compiler)}).`, '');
  const links = [
    o.reportUrl !== undefined ? `**[Full report](${o.reportUrl})**` : null,
    o.runUrl !== undefined ? `[CI run](${o.runUrl})` : null,
  ].filter((x) => x !== null);
  if (links.length > 0) head.push(links.join(' · '), '');
  head.push('| Category | Packages |', '|:--|--:|');
  for (const cat of CATEGORY_ORDER) head.push(`| ${CATEGORY_TITLES[cat]} | ${n(c.counts[cat])} |`);
  head.push(`| **Total** | **${n(total)}** |`, '');

  const body: string[] = [];
  // Root causes: the roots that make other packages fail, most dependents first.
  const roots = c.rootCauses.filter((rc) => rc.dependents.length > 0);
  if (roots.length > 0) {
    body.push(`### Root causes (${n(roots.length)})`, '');
    const shownRoots = roots.slice(0, d.sections);
    for (const rc of shownRoots) body.push(...rootSection(rc, byKey, d, o, list, omitted));
    for (const rc of roots.slice(d.sections)) {
      omitted.rootCauses++;
      for (const k of rc.dependents) omitted.dependencyRegressions.add(k);
    }
    if (roots.length > shownRoots.length) body.push(`_… and ${n(roots.length - shownRoots.length)} more root causes: see ${see}._`, '');
  }
  // Regressions (own failures) by error cluster, largest first.
  if (c.regressionClusters.length > 0) {
    body.push(`### Regressions by error (${n(c.regressionClusters.length)})`, '');
    const dependentsOf = new Map(c.rootCauses.map((rc) => [rc.key, rc.dependents.length]));
    const shown = c.regressionClusters.slice(0, d.sections);
    for (const cluster of shown) {
      body.push(`#### ${mdCode(clip(cluster.signature, o.errorWidth))} — ${counted(cluster.packages.length, 'package')}`, '');
      const line = (k: string) => {
        const e = byKey.get(k)!;
        const deps = dependentsOf.get(k) ?? 0;
        return packageLine(e, e.detail, o.errorWidth, deps > 0 ? ` · ${n(deps)} more fail because of it` : '');
      };
      for (const k of cluster.packages.slice(d.clusterPackages)) omitted.regressions.add(k);
      body.push(...list(cluster.packages, line, d.clusterPackages, 'regressions', `${n(cluster.packages.length)} regressed packages`), '');
    }
    for (const cluster of c.regressionClusters.slice(d.sections)) {
      omitted.clusters++;
      for (const k of cluster.packages) omitted.regressions.add(k);
    }
    if (c.regressionClusters.length > shown.length)
      body.push(`_… and ${n(c.regressionClusters.length - shown.length)} more errors: see ${see}._`, '');
  }
  // The other categories worth a look, each collapsed.
  for (const cat of OTHER_CATEGORIES) {
    const entries = c.packages.filter((e) => e.category === cat);
    if (entries.length === 0) continue;
    body.push(`### ${CATEGORY_TITLES[cat]} (${n(entries.length)})`, '', `_${CATEGORY_DESCRIPTIONS[cat]}_`, '');
    if (entries.length > d.other) omitted.other.set(cat, entries.length - Math.min(entries.length, d.other));
    body.push(...list(entries, (e) => packageLine(e, e.detail, o.errorWidth), d.other, 'packages', `${n(entries.length)} packages`), '');
  }
  const note = omitted.any ? [`> Shortened to fit a GitHub comment: left out ${omitted.parts().join(', ')}; see ${see}.`, ''] : [];
  return `${[...head, ...note, ...body]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function rootSection(
  rc: RootCause,
  byKey: Map<string, PackageComparison>,
  d: Detail,
  o: { errorWidth: number },
  list: (all: readonly string[], line: (k: string) => string, limit: number, what: string, summary: string) => string[],
  omitted: Omitted,
): string[] {
  const state =
    rc.category === 'regressed'
      ? 'regressed'
      : rc.category === null
        ? 'not checked in these runs'
        : CATEGORY_TITLES[rc.category].toLowerCase();
  const error = rc.firstError !== '' ? ` — ${mdCode(clip(rc.firstError, o.errorWidth))}` : '';
  const count = rc.dependents.length;
  const out = [
    `**${mdText(rc.key)}** (${state}): ${n(count)} ${count === 1 ? 'package fails' : 'packages fail'} because of it${error}`,
    '',
  ];
  const line = (k: string) => {
    const e = byKey.get(k);
    return e !== undefined ? `- ${mdText(k)} ${mdText(versionText(e))}` : `- ${mdText(k)}`;
  };
  for (const k of rc.dependents.slice(d.dependents)) omitted.dependencyRegressions.add(k);
  out.push(
    ...list(rc.dependents, line, d.dependents, 'dependency regressions', `${n(count)} packages failing because of ${mdText(rc.key)}`),
    '',
  );
  return out;
}

/** The most a detail bound can show in this comparison: beyond it, a bound changes nothing. */
function largest(c: Comparison, field: keyof Detail): number {
  switch (field) {
    case 'other':
      return Math.max(0, ...OTHER_CATEGORIES.map((cat) => c.counts[cat]));
    case 'dependents':
      return Math.max(0, ...c.rootCauses.map((rc) => rc.dependents.length));
    case 'clusterPackages':
      return Math.max(0, ...c.regressionClusters.map((k) => k.packages.length));
    case 'sections':
      return Math.max(c.rootCauses.length, c.regressionClusters.length);
  }
}

export interface PrComment {
  body: string;
  /** Whether details were left out to fit, and what, in words (empty when nothing was). */
  shortened: boolean;
  leftOut: string[];
}

/** The comment body for the comparison, within `maxLength` bytes (see the module comment). */
export function renderPrComment(c: Comparison, options: PrCommentOptions = {}): PrComment {
  const o = { ...options, errorWidth: options.errorWidth ?? 160, foldAbove: options.foldAbove ?? 3 };
  const maxLength = options.maxLength ?? 65_000;
  const attempt = (d: Detail) => {
    const omitted = new Omitted();
    const body = render(c, d, o, omitted);
    return { body, omitted, fits: bytes(body) <= maxLength };
  };
  let detail: Detail = { ...ALL };
  let best = attempt(detail);
  for (const step of STEPS) {
    if (best.fits) break;
    const previous = detail;
    detail = { ...detail, ...step };
    best = attempt(detail);
    if (!best.fits) continue;
    // The step fits: keep as much as fits between its bound and the previous one (a binary search).
    const field = Object.keys(step)[0] as keyof Detail;
    let lo = detail[field];
    let hi = Math.min(previous[field], largest(c, field) + 1);
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const tried = attempt({ ...detail, [field]: mid });
      if (tried.fits) {
        lo = mid;
        best = tried;
      } else hi = mid;
    }
    detail = { ...detail, [field]: lo };
  }
  const { body, omitted } = best;
  if (bytes(body) > maxLength) {
    // Still too long (labels or a single section beyond any sense): cut at a line, closing an open <details>.
    const see = o.reportUrl !== undefined ? `[the full report](${o.reportUrl})` : 'the full report';
    const tail = `\n\n_… cut here to fit a GitHub comment: see ${see}._\n`;
    let cut = body;
    while (bytes(cut) > maxLength - bytes(tail) - 20) cut = cut.slice(0, Math.max(0, Math.floor(cut.length * 0.9)));
    cut = cut.slice(0, Math.max(0, cut.lastIndexOf('\n')));
    if (cut.split('<details>').length > cut.split('</details>').length) cut += '\n\n</details>';
    return { body: `${cut}${tail}`, shortened: true, leftOut: [...omitted.parts(), 'the rest of the comment'] };
  }
  return { body, shortened: omitted.any, leftOut: omitted.parts() };
}
