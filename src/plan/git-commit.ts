/**
 * The commit a ref names in a local git checkout (`git+file://DIR#REF`), for the job key of a source
 * without a checksum: `git rev-parse`, without the network, so moving a branch or committing makes a
 * new job. Only folders the local-source policy allowed are asked; git is told to trust the folder
 * (it may belong to another user) and to read no system or user configuration.
 */
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';

/** Limit for one `git rev-parse` (a local lookup; a hung git must not hang planning). */
const GIT_TIMEOUT_MS = 10_000;

/** The full commit hash `ref` (HEAD when null) resolves to in `dir`, or null when it names none. */
export function resolveGitCommit(dir: string, ref: string | null): string | null {
  const rev = ref === null || ref === '' ? 'HEAD' : ref;
  // A ref is never read as an option; the lookup never climbs above `dir` to an enclosing repository.
  if (rev.startsWith('-')) return null;
  try {
    const out = execFileSync(
      'git',
      ['-c', 'safe.directory=*', '-c', 'core.fsmonitor=false', 'rev-parse', '--verify', '--quiet', `${rev}^{commit}`],
      {
        cwd: dir,
        encoding: 'utf8',
        timeout: GIT_TIMEOUT_MS,
        stdio: ['ignore', 'pipe', 'ignore'],
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_CONFIG_GLOBAL: '/dev/null',
          GIT_TERMINAL_PROMPT: '0',
          GIT_CEILING_DIRECTORIES: dirname(dir),
        },
      },
    ).trim();
    return /^[0-9a-f]{40,64}$/.test(out) ? out : null;
  } catch {
    return null;
  }
}
