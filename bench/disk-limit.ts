/**
 * What the per-job disk accounting and the log cap cost (src/builder/disk-limit.ts, build-log.ts):
 * - one walk of a tree shaped like the OCaml compiler's build folder (about 10,000 files in 100
 *   folders), as the watcher walks it (returning to the event loop every 2,000 entries) and in one go;
 * - a short command (`true`) run through the process runner without and with a watcher running over
 *   that tree (what the limit adds to a job's commands);
 * - the CPU the watcher takes while a command runs for 3 s over that tree (its adaptive interval);
 * - a command printing 100 MB: written straight into a file (how the runner wrote output before) and
 *   through ecocheck's pipe into the capped log (now).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BenchSection } from './bench-section.js';
import { reportFigure } from './report-figure.js';
import { DiskWatcher, measureDiskUsage, watchInterval } from '../src/builder/disk-limit.js';
import { BuildLog } from '../src/builder/build-log.js';
import { runProcess } from '../src/builder/process-runner.js';
import { removeTree } from '../src/builder/layer-store.js';

const FOLDERS = 100;
const FILES_PER_FOLDER = 100;
const LIMITS = { diskBytes: 20 * 1024 ** 3, inodes: 1_000_000 };
const ENV = { PATH: '/usr/bin:/bin' };

function makeTree(root: string): number {
  let n = 0;
  for (let d = 0; d < FOLDERS; d++) {
    const dir = join(root, 'src', `dir${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < FILES_PER_FOLDER; f++) {
      writeFileSync(join(dir, `m${f}.ml`), `let x${f} = ${f}\n`.repeat(1 + (f % 20)));
      n++;
    }
  }
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timeRuns(rounds: number, f: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** CPU time (user + system, ms) this process spends while `f` runs. */
async function cpuDuring(f: () => Promise<void>): Promise<number> {
  const before = process.cpuUsage();
  await f();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

export const diskLimitSection: BenchSection = {
  name: 'disk-limit',
  run: async () => {
    const root = mkdtempSync(join(tmpdir(), 'ecocheck-bench-disk-'));
    try {
      const tree = join(root, 'tree');
      const files = makeTree(tree);
      const usage = await measureDiskUsage([tree], { yieldEvery: 0 });
      process.stdout.write(`  tree: ${files} files, ${usage.inodes} inodes, ${(usage.bytes / 1024 / 1024).toFixed(1)} MiB\n`);

      const walkYielding = await timeRuns(7, async () => void (await measureDiskUsage([tree], { stopAbove: LIMITS })));
      const walkOneGo = await timeRuns(7, async () => void (await measureDiskUsage([tree], { stopAbove: LIMITS, yieldEvery: 0 })));
      reportFigure('one walk of the tree, as the watcher walks it', walkYielding, 'ms', 100);
      reportFigure('one walk of the tree, in one go', walkOneGo, 'ms');
      reportFigure("  the watcher's interval for this tree: max(500 ms, 20 × walk), at most 15 s", watchInterval(walkYielding), 'ms');

      const work = join(root, 'work');
      mkdirSync(work);
      const logFile = join(root, 'logs', 'true.log');
      const runTrue = async () => void (await runProcess({ argv: ['true'], cwd: work, env: ENV, logFile }));
      const bare = await timeRuns(20, runTrue);
      const watcher = new DiskWatcher([tree], LIMITS);
      watcher.start();
      let watched: number;
      try {
        watched = await timeRuns(20, runTrue);
      } finally {
        await watcher.stop();
      }
      reportFigure('`true` through the runner, no watcher (before)', bare, 'ms');
      reportFigure('`true` through the runner, a watcher over the tree (after)', watched, 'ms');

      const runSleep = async () => void (await runProcess({ argv: ['sleep', '3'], cwd: work, env: ENV, logFile }));
      const cpuBare = await cpuDuring(runSleep);
      const watching = new DiskWatcher([tree], LIMITS);
      watching.start();
      let cpuWatched: number;
      try {
        cpuWatched = await cpuDuring(runSleep);
      } finally {
        await watching.stop();
      }
      reportFigure('ecocheck CPU during a 3 s command, no watcher (before)', cpuBare, 'ms');
      reportFigure(`ecocheck CPU during a 3 s command, watching the tree (after; ${watching.walks} walks)`, cpuWatched, 'ms');
      reportFigure("  the watcher's share of one core", ((cpuWatched - cpuBare) / 3000) * 100, '%', 5);

      // 100 MB of output: straight into a file (before), through the pipe into the capped log (after).
      const print = ['sh', '-c', 'yes "a line of build output, printed again and again" | head -c 100000000'];
      const direct = await timeRuns(3, async () => {
        const fd = openSync(join(root, 'direct.log'), 'w');
        try {
          await new Promise<void>((resolve, reject) => {
            const child = spawn(print[0], print.slice(1), { stdio: ['ignore', fd, fd], env: ENV });
            child.on('error', reject);
            child.on('exit', () => resolve());
          });
        } finally {
          closeSync(fd);
        }
      });
      const capped = await timeRuns(3, async () => {
        const log = new BuildLog(join(root, 'capped.log'));
        try {
          await runProcess({ argv: print, cwd: work, env: ENV, logFile: log.path, log });
        } finally {
          log.close();
        }
      });
      reportFigure('100 MB of output straight into the log file (before; the file keeps 100 MB)', direct, 'ms');
      reportFigure('100 MB of output through ecocheck into the capped log (after; it keeps 20 MiB)', capped, 'ms');
    } finally {
      removeTree(root);
    }
  },
};
