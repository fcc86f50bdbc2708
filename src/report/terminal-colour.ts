/** ANSI colours for terminal reports: only on a TTY, never when NO_COLOR is set (https://no-color.org). */
import type { Tone } from './category-style.js';

/** Whether to colour output written to `stream`, given the environment. */
export function shouldUseColour(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  const noColor = env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  return stream.isTTY === true;
}

const CODES: Record<Tone | 'bold' | 'dim', [number, number]> = {
  bad: [31, 39],
  warn: [33, 39],
  good: [32, 39],
  new: [36, 39],
  neutral: [39, 39],
  bold: [1, 22],
  dim: [2, 22],
};

export type Paint = (style: Tone | 'bold' | 'dim', text: string) => string;

export function painter(colour: boolean): Paint {
  if (!colour) return (_style, text) => text;
  return (style, text) => {
    const [on, off] = CODES[style];
    return on === 39 ? text : `\u001b[${on}m${text}\u001b[${off}m`;
  };
}
