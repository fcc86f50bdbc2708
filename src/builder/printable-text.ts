/**
 * What a build printed, made safe to print again. A job's reason, first error and log tail are quoted
 * by every report (the terminal's tables, the progress lines, a pull-request comment): a package's
 * build could otherwise put terminal control sequences there (ESC [2J clears the screen, cursor moves
 * overwrite the counts, OSC sequences set the title or write to the clipboard) and make the report
 * show what it likes. Control characters (C0 but the newline and tab a tail may keep, DEL, C1) are
 * written as visible `\xHH` escapes instead.
 */

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const CONTROL_OR_LINE = /[\u0000-\u001f\u007f-\u009f]/g;

function escaped(c: string): string {
  return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** `text` with every control character but newlines and tabs escaped. */
export function printableText(text: string): string {
  return text.replace(CONTROL, escaped);
}

/** One line of `text` (a reason, a first error): every control character escaped, newlines and tabs too. */
export function printableLine(text: string): string {
  return text.replace(CONTROL_OR_LINE, escaped);
}
