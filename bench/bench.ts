/**
 * `npm run bench`: prints the figures behind the speed and memory targets. Each section is one file of
 * bench/; a section prints its own lines and never fails the run for a missed target (it says so, and
 * the run lists every missed figure at its end). With `--strict` (or ECOCHECK_BENCH_STRICT=1) a missed
 * target fails the run (exit 1): a guard, e.g. of the whole synthetic repository's peak memory.
 */
import { benchSections } from './sections.js';
import { missedFigures } from './report-figure.js';

// Section names; `--compiler VERSION` goes to the sections that take one (versus-opam).
const strict = process.argv.includes('--strict') || process.env.ECOCHECK_BENCH_STRICT === '1';
const only = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--compiler');
for (const section of benchSections) {
  if (only.length > 0 && !only.includes(section.name)) continue;
  process.stdout.write(`\n== ${section.name}\n`);
  const t0 = performance.now();
  try {
    await section.run();
  } catch (err) {
    process.stdout.write(`  FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
  process.stdout.write(`  (section took ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
}
if (missedFigures.length > 0) {
  process.stdout.write(`\nMISSED TARGETS (${missedFigures.length}):\n${missedFigures.map((m) => `  ${m}\n`).join('')}`);
  if (strict) process.exitCode = 1;
}
