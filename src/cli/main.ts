/** The CLI: parses the arguments, runs the verb, and ends with the exit code of src/cli/exit-codes.ts. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { RegisterCommand } from './command.js';
import { errorLine, EXIT, exitCodeOfError } from './exit-codes.js';
import { registerBisect } from './commands/bisect.js';
import { registerCache } from './commands/cache.js';
import { registerCheck } from './commands/check.js';
import { registerCompilers } from './commands/compilers.js';
import { registerDurations } from './commands/durations.js';
import { registerExport } from './commands/export.js';
import { registerGc } from './commands/gc.js';
import { registerInstallable } from './commands/installable.js';
import { registerLog } from './commands/log.js';
import { registerMerge } from './commands/merge.js';
import { registerPlan } from './commands/plan.js';
import { registerRepoStats } from './commands/repo-stats.js';
import { registerReport } from './commands/report.js';
import { registerRerun } from './commands/rerun.js';
import { registerRuns } from './commands/runs.js';
import { registerShow } from './commands/show.js';
import { registerSolve } from './commands/solve.js';
import { registerStatus } from './commands/status.js';
import { registerSynthesize } from './commands/synthesize.js';

const COMMANDS: RegisterCommand[] = [
  registerRuns,
  registerLog,
  registerPlan,
  registerCheck,
  registerRepoStats,
  registerShow,
  registerReport,
  registerCompilers,
  registerRerun,
  registerInstallable,
  registerSolve,
  registerCache,
  registerExport,
  registerDurations,
  registerMerge,
  registerGc,
  registerStatus,
  registerSynthesize,
  registerBisect,
];

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the CLI; resolves to the process exit code. An error is one line on stderr, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  let exitCode: number = EXIT.ok;
  program
    .name('ecocheck')
    .description('Which packages of an opam repository break with a compiler change, and why.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) })
    .showHelpAfterError('(run with --help for usage)');
  const setExitCode = (code: number) => {
    exitCode = Math.max(exitCode, code);
  };
  for (const register of COMMANDS) register(program, setExitCode);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // commander already printed help, the version, or the usage mistake.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.input;
    process.stderr.write(`ecocheck: ${errorLine(err)}\n`);
    if (exitCodeOfError(err) === EXIT.internal && process.env.ECOCHECK_DEBUG === '1' && err instanceof Error)
      process.stderr.write(`${err.stack}\n`);
    return exitCodeOfError(err);
  }
  return exitCode;
}
