/** The CLI: parses the arguments, runs the verb, and ends with the exit code of src/cli/exit-codes.ts. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { RegisterCommand } from './command.js';
import { errorLine, EXIT, exitCodeOfError } from './exit-codes.js';
import { boundHeapGrowth } from './heap-growth.js';

/**
 * Every verb, in the order `--help` lists them, with the module defining it. A command line naming one
 * verb loads that verb's definition only (each module costs its load at every start; a one-package
 * solve is a fraction of a second); anything else (`--help`, `help VERB`, an unknown verb, no verb)
 * loads them all, so commander lists and suggests every verb as before.
 */
const COMMANDS: [verb: string, load: () => Promise<RegisterCommand>][] = [
  ['runs', async () => (await import('./commands/runs.js')).registerRuns],
  ['log', async () => (await import('./commands/log.js')).registerLog],
  ['plan', async () => (await import('./commands/plan.js')).registerPlan],
  ['check', async () => (await import('./commands/check.js')).registerCheck],
  ['repo', async () => (await import('./commands/repo-stats.js')).registerRepoStats],
  ['show', async () => (await import('./commands/show.js')).registerShow],
  ['report', async () => (await import('./commands/report.js')).registerReport],
  ['compilers', async () => (await import('./commands/compilers.js')).registerCompilers],
  ['rerun', async () => (await import('./commands/rerun.js')).registerRerun],
  ['installable', async () => (await import('./commands/installable.js')).registerInstallable],
  ['solve', async () => (await import('./commands/solve.js')).registerSolve],
  ['cache', async () => (await import('./commands/cache.js')).registerCache],
  ['export', async () => (await import('./commands/export.js')).registerExport],
  ['durations', async () => (await import('./commands/durations.js')).registerDurations],
  ['merge', async () => (await import('./commands/merge.js')).registerMerge],
  ['gc', async () => (await import('./commands/gc.js')).registerGc],
  ['status', async () => (await import('./commands/status.js')).registerStatus],
  ['synthesize', async () => (await import('./commands/synthesize.js')).registerSynthesize],
  ['bisect', async () => (await import('./commands/bisect.js')).registerBisect],
];

/** The definitions a command line needs: its verb's alone when its first word is a verb, else every verb's. */
export function commandsFor(argv: readonly string[]): Promise<RegisterCommand[]> {
  // An option before the verb (only --help and --version exist there) reads the whole program.
  const verb = argv[2];
  const one = COMMANDS.find(([name]) => name === verb);
  return Promise.all((one === undefined ? COMMANDS : [one]).map(([, load]) => load()));
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the CLI; resolves to the process exit code. An error is one line on stderr, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  boundHeapGrowth(argv);
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
  for (const register of await commandsFor(argv)) register(program, setExitCode);
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
