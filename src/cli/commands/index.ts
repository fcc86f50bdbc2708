import type { Command } from 'commander';
import { registerRuns } from './runs.js';
import { registerLog } from './log.js';
import { registerPlan } from './plan.js';
import { registerCheck } from './check.js';
import { registerRepoStats } from './repo-stats.js';
import { registerShow } from './show.js';
import { registerReport } from './report.js';
import { registerCompilers } from './compilers.js';
import { registerRerun } from './rerun.js';
import { registerInstallable } from './installable.js';
import { registerSolve } from './solve.js';
import { registerCache } from './cache.js';

/** A CLI verb registers itself on the program; `setExitCode` raises the process exit code. */
export type RegisterCommand = (program: Command, setExitCode: (code: number) => void) => void;

export const commandModules: RegisterCommand[] = [registerRuns, registerLog, registerPlan, registerCheck, registerRepoStats, registerShow, registerReport, registerCompilers, registerRerun, registerInstallable, registerSolve, registerCache];
