/**
 * Repository loading on the real snapshot: `loadRepositories` wall time (target < 2000 ms) and CPU
 * time, first load in the process (JIT cold) and the best of two more. With the scan records and the
 * cache warm, the load is answered from them and checks each name when it is read: the figures show
 * that part (what a one-package query pays before its first answer) and the whole repository
 * checked (every name, the errors and warnings: what `installable` or a whole check pays).
 */
import { readFileSync } from 'node:fs';
import type { BenchSection } from './bench-section.js';
import { reportFigure } from './report-figure.js';
import { snapshotForBench } from './snapshot-for-bench.js';
import { OnDemandPackages, loadRepositories, versionCount } from '../src/opam/repository.js';

/**
 * CPU time of the main thread alone (Linux), in ms: what the wall time would be on an idle machine,
 * give or take I/O waits. Null elsewhere.
 */
function mainThreadCpuMs(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

export const loadSection: BenchSection = {
  name: 'load',
  async run() {
    const repo = snapshotForBench();
    if (repo === null) return;
    const times: number[] = [];
    const wholes: number[] = [];
    const cpus: number[] = [];
    const mainCpus: number[] = [];
    let summary = '';
    let kind = '';
    for (let i = 0; i < 3; i++) {
      const cpu0 = process.cpuUsage();
      const main0 = mainThreadCpuMs();
      const t0 = performance.now();
      const load = loadRepositories([repo]);
      times.push(performance.now() - t0);
      kind =
        load.packages instanceof OnDemandPackages ? 'answered from the scan records, each name checked when read' : 'every file looked at';
      summary = `${load.packages.size} names, ${versionCount(load)} versions, ${load.fileCount} files, ${load.errors.length} errors, ${load.warnings.length} warnings`;
      wholes.push(performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      cpus.push((cpu.user + cpu.system) / 1000);
      const main1 = mainThreadCpuMs();
      if (main0 !== null && main1 !== null) mainCpus.push(main1 - main0);
    }
    process.stdout.write(`  snapshot: ${summary}; last load ${kind}\n`);
    reportFigure('first load (wall)', times[0]!, 'ms', 2000);
    reportFigure('first load, every name checked (CPU, all threads)', cpus[0]!, 'ms');
    if (mainCpus.length > 0)
      reportFigure('first load, every name checked (CPU, main thread: the idle-machine wall time)', mainCpus[0]!, 'ms', 2000);
    reportFigure('warm load, best of 2 (wall)', Math.min(times[1]!, times[2]!), 'ms', 2000);
    reportFigure('first load, every name checked, errors and warnings (wall)', wholes[0]!, 'ms', 2000);
    reportFigure('warm load, every name checked, best of 2 (wall)', Math.min(wholes[1]!, wholes[2]!), 'ms', 2000);
  },
};
