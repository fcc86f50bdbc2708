/** Prints one benchmark figure with its target, marking a missed target. */
export function reportFigure(label: string, value: number, unit: string, target?: number): void {
  const shown = value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value.toPrecision(3);
  const verdict =
    target === undefined ? '' : value <= target ? `  (target < ${target} ${unit}: met)` : `  (target < ${target} ${unit}: MISSED)`;
  process.stdout.write(`  ${label}: ${shown} ${unit}${verdict}\n`);
}
