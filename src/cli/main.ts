import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { OpamFormatError } from '../opam/parse-error.js';
import { UsageError } from '../errors/usage-error.js';
import { commandModules } from './commands/index.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the CLI; resolves to the process exit code (0 ok, 1 regressions / failures found, 2 usage or internal error). */
export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  let exitCode = 0;
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
  for (const register of commandModules) register(program, setExitCode);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed help, version, or the usage mistake.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UsageError || err instanceof OpamFormatError) {
      process.stderr.write(`ecocheck: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  return exitCode;
}
