/** The figures that missed their target so far in this bench run (`bench.ts` lists them at the end). */
export const missedFigures: string[] = [];

/** Prints one benchmark figure with its target, marking (and keeping) a missed target. */
export function reportFigure(label: string, value: number, unit: string, target?: number): void {
  const shown = value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value.toPrecision(3);
  const missed = target !== undefined && value > target;
  const verdict = target === undefined ? '' : missed ? `  (target < ${target} ${unit}: MISSED)` : `  (target < ${target} ${unit}: met)`;
  if (missed) missedFigures.push(`${label}: ${shown} ${unit} (target < ${target} ${unit})`);
  process.stdout.write(`  ${label}: ${shown} ${unit}${verdict}\n`);
}
