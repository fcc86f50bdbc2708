/**
 * Repository loading on the real snapshot: `loadRepositories` wall time (target < 2000 ms) and CPU
 * time, first load in the process (JIT cold) and the best of two more.
 */
import type { BenchSection } from './sections.js';
import { reportFigure } from './report-figure.js';
import { snapshotAvailable, snapshotRepo } from '../tests/support/snapshot.js';
import { loadRepositories, versionCount } from '../src/opam/repository.js';

export const loadSection: BenchSection = {
  name: 'load',
  async run() {
    if (!snapshotAvailable()) {
      process.stdout.write('  skipped: the snapshot tarball is not available\n');
      return;
    }
    const repo = snapshotRepo();
    const times: number[] = [];
    const cpus: number[] = [];
    let summary = '';
    for (let i = 0; i < 3; i++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const load = loadRepositories([repo]);
      times.push(performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      cpus.push((cpu.user + cpu.system) / 1000);
      summary = `${load.packages.size} names, ${versionCount(load)} versions, ${load.fileCount} files, ${load.errors.length} errors, ${load.warnings.length} warnings`;
    }
    process.stdout.write(`  snapshot: ${summary}\n`);
    reportFigure('first load (wall)', times[0]!, 'ms', 2000);
    reportFigure('first load (CPU, all threads)', cpus[0]!, 'ms');
    reportFigure('warm load, best of 2 (wall)', Math.min(times[1]!, times[2]!), 'ms', 2000);
  },
};
