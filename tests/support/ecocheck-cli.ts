/**
 * Running the ecocheck CLI from a test as a user would: `bin/ecocheck` in a child process, its exit code
 * and outputs. `runEcocheck` does not block the test's event loop (a test's own HTTP server keeps
 * answering); `asUser` runs it as another (unprivileged) uid through setpriv, when the test is root.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from './snapshot.js';
import { skipWithout } from './missing-setup.js';

export const ECOCHECK_BIN = join(projectRoot, 'bin', 'ecocheck');

export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this uid and gid (setpriv, groups cleared): the test must be root. */
  asUser?: number;
}

function commandLine(args: string[], options: CliOptions): [string, string[]] {
  const node = [process.execPath, ECOCHECK_BIN, ...args];
  if (options.asUser === undefined) return [node[0], node.slice(1)];
  const id = String(options.asUser);
  return ['setpriv', ['--reuid', id, '--regid', id, '--clear-groups', '--', ...node]];
}

export function runEcocheck(args: string[], options: CliOptions = {}): Promise<CliOutcome> {
  const [cmd, argv] = commandLine(args, options);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: options.cwd ?? projectRoot, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export function runEcocheckSync(args: string[], options: CliOptions = {}): CliOutcome {
  const [cmd, argv] = commandLine(args, options);
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8',
    cwd: options.cwd ?? projectRoot,
    env: options.env ?? process.env,
    maxBuffer: 64 << 20,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** An unprivileged uid to run ecocheck as (nobody), when the test is root. */
export const NOBODY = 65534;

/** Why ecocheck cannot be run as NOBODY here (not root, the checkout unreadable, no user namespaces), or false. */
export function unprivilegedRunSkip(): string | false {
  const root = skipWithout(
    'root',
    process.getuid?.() === 0 ? false : 'this process is not root: the other tests already run ecocheck unprivileged',
  );
  return root || skipWithout('unprivileged-run', unprivilegedRunMissing());
}

function unprivilegedRunMissing(): string | false {
  const as = ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--'];
  const readable = spawnSync('setpriv', [
    ...as,
    process.execPath,
    '-e',
    `require('fs').accessSync(${JSON.stringify(ECOCHECK_BIN)}, require('fs').constants.R_OK)`,
  ]);
  if (readable.status !== 0) return `uid ${NOBODY} cannot read this checkout (${projectRoot}) or run node`;
  const userns = spawnSync('setpriv', [...as, 'unshare', '--user', '--map-root-user', '--mount', 'true']);
  if (userns.status !== 0) return `uid ${NOBODY} cannot make a user namespace here (unprivileged user namespaces disabled?)`;
  return false;
}
