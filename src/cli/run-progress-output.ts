/** What a building verb says on stderr as it goes: notices, and each run's counts when it ends. */
import { formatSeconds } from '../units/duration.js';
import { JOB_STATUSES } from '../results/taxonomy.js';
import type { RunDone } from '../session/run-execution.js';
import type { SessionOutput } from '../session/session-output.js';

export const stderrOutput: SessionOutput = {
  notice: (line) => process.stderr.write(`ecocheck: ${line}\n`),
  progress: process.stderr,
};

/** Counts of a run just finished, on stderr (the report itself goes to stdout or --output). */
export function printRunCounts(done: RunDone, compiler: string): void {
  const order: string[] = [...JOB_STATUSES, 'unfinished'];
  const parts = Object.entries(done.targetCounts)
    .sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]))
    .map(([s, n]) => `${s} ${n}`);
  const total = Object.values(done.targetCounts).reduce((a, b) => a + b, 0);
  process.stderr.write(
    `run #${done.runId} (compiler ${compiler})${done.interrupted ? ' INTERRUPTED' : ''}: ${total} targets: ${parts.join(', ')}\n`,
  );
  process.stderr.write(`jobs: ${done.built} built, ${done.cacheHits} cached, ${formatSeconds(Math.round(done.wallMs / 1000))}\n`);
}
