/** Building blocks for GitHub-flavoured Markdown that is safe to paste into a pull-request comment. */

/** Escapes text so that Markdown and inline HTML read it literally (also safe inside a table cell). */
export function mdText(s: string): string {
  return s.replace(/[\\`*_[\]<>|#~&]/g, (ch) => (ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch === '&' ? '&amp;' : `\\${ch}`));
}

/**
 * An inline code span holding `s` literally (one line): the fence is one backtick longer than the longest
 * backtick run inside; `|` is escaped so the span also works inside a table cell.
 */
export function mdCode(s: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  if (line === '') return '';
  let longest = 0;
  for (const m of line.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const fence = '`'.repeat(longest + 1);
  const pad = line.startsWith('`') || line.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${line.replace(/\|/g, '\\|')}${pad}${fence}`;
}

/** Cuts a one-line text to `max` characters, marking the cut. */
export function clip(s: string, max: number): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/**
 * A list of Markdown lines, folded into `<details>` when it has more than `foldAbove` items; at most
 * `limit` items are written, then one line says how many were left out.
 */
export function foldedList(items: string[], summary: string, foldAbove: number, limit: number): string[] {
  const shown = items.slice(0, limit);
  if (items.length > limit) shown.push(`- … and ${items.length - limit} more`);
  if (items.length <= foldAbove) return shown;
  return ['<details>', `<summary>${summary}</summary>`, '', ...shown, '', '</details>'];
}
