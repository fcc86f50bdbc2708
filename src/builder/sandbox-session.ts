/**
 * The commands of one job in one sandbox launch. Launching a sandboxed command costs far more than a
 * trivial command runs: the job's cgroups, a mount namespace with the switch's overlay, bubblewrap's
 * namespaces and binds, setpriv; about 70 ms on a 2-core machine, three times per job of three
 * commands. A session launches that chain once per job, with a small driver (POSIX sh) as its
 * command, and the job's `build:`, `run-test:` and `install:` commands go to the driver one at a time.
 *
 * What each command sees is what it saw in a launch of its own (process-runner.ts): the same sandbox
 * spec, environment, build directory, limits and log lines; opam's own order: the next command is sent
 * only once the builder has read the previous one's result (a failure stops the job, as a command
 * printing "out of memory" with exit code 0 does). The driver runs each command as execvp would (a
 * subshell's `exec`: no shell builtin, the PATH searched), standard input /dev/null, its output into the
 * job's log; when it ends, the driver kills every other process of the sandbox (`kill -KILL -1`, which
 * in the sandbox's own PID namespace reaches only the job's processes) and waits for them to go, so
 * nothing a command left running outlives it, as before. The cgroups count from the command's start
 * (LimitCounters): one command's OOM kill or refused forks are not another's. Differences from one
 * launch per command, which no build can tell from its files: `/var/tmp` and `/dev/shm` (empty tmpfs)
 * last for the job rather than for one command, and the limits hold the job's commands together.
 *
 * The driver reports each command's end on the output pipe, after everything the command printed: a
 * line `\x1eECOCHECK-SESSION-<nonce> <status>` that the builder takes out of the log. A build could
 * print that line itself (it can read the nonce): it would only end its own command early in the
 * builder's eyes, which exiting does too. Used only where the sandbox gives commands a PID namespace
 * of their own (`Sandbox.isolatesProcesses`): elsewhere `kill -1` would reach the build user's other
 * processes, and each command keeps a launch of its own.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { BuildLog } from './build-log.js';
import { startProcess, type StartedProcess } from './remote-spawn.js';
import { processResultSince, type ProcessResult } from './process-result.js';
import {
  commandResult,
  DEFAULT_MAX_PROCESSES,
  groupAlive,
  killGroup,
  OUTPUT_DRAIN_MS,
  REAP_WAIT_MS,
  shellQuote,
  sleep,
  type CommandExit,
  type ProcessRequest,
} from './process-runner.js';
import { prepareLimits, type LimitCounters, type PreparedLimits } from './resource-limits.js';
import { describeSandboxSpec, type Sandbox, type SandboxSpec } from './sandbox.js';

/** What stays the same for every command of the session (a ProcessRequest without its argv and timeout). */
export interface SessionRequest extends Omit<ProcessRequest, 'argv' | 'timeoutMs' | 'sandbox' | 'sandboxImplementation'> {
  sandbox: SandboxSpec;
  sandboxImplementation: Sandbox;
  log: BuildLog;
}

export interface SandboxSession {
  /** Runs one command in the session (launched at the first), as runProcess runs one in a launch of its own. */
  run(argv: string[], timeoutMs: number): Promise<ProcessResult>;
  /** Ends the session: the driver, and anything left, killed; the cgroups removed. */
  close(): Promise<void>;
}

/** Whether a job's commands may share one launch of `sandbox` here. */
export function sessionSupported(sandbox: Sandbox): boolean {
  return sandbox.isolatesProcesses?.() === true;
}

/** The driver's name ($0): dash's own messages start with it (`ecocheck-session: 1: exec: NAME: not found`). */
const DRIVER_NAME = 'ecocheck-session';

/**
 * The driver: reads one command a line (its words single-quoted, a newline as `"$NL"`), runs it as
 * execvp would, kills what it left (every process of the namespace but the driver and its init), and
 * prints the end line with the exit status. The shell's own "Killed" notes go to /dev/null (fd 3 is the
 * output for the command).
 */
const DRIVER = [
  `NL='\n'`,
  'nonce=$1',
  'while IFS= read -r line; do',
  '  eval "set -- $line"',
  '  { ( exec "$@" ) 2>&3 3>&- </dev/null; st=$?; } 3>&2 2>/dev/null',
  '  kill -KILL -1 2>/dev/null',
  '  i=0; while kill -0 -1 2>/dev/null && [ $i -lt 100000 ]; do kill -KILL -1 2>/dev/null; i=$((i+1)); done',
  `  printf '\\036ECOCHECK-SESSION-%s %s\\n' "$nonce" "$st" >&2`,
  'done',
].join('\n');

/** One argument as the driver reads it back (`eval "set -- …"`): single-quoted, newlines spelled "$NL". */
function driverWord(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`).replace(/\n/g, `'"$NL"'`)}'`;
}

function notFoundInSession(output: string, exitCode: number | null): string | null {
  if (exitCode !== 127) return null;
  return new RegExp(`^${DRIVER_NAME}: \\d+: exec: (.*): not found$`, 'm').exec(output)?.[1] ?? null;
}

interface Pending {
  resolve: (status: number | null) => void;
}

export function createSandboxSession(req: SessionRequest): SandboxSession {
  const log = req.log;
  const sandbox = req.sandboxImplementation;
  const nonce = randomBytes(12).toString('hex');
  const marker = Buffer.from(`\x1eECOCHECK-SESSION-`, 'latin1');
  let child: StartedProcess | null = null;
  let limits: PreparedLimits | null = null;
  let launchFailure: string | null = null;
  let exited: CommandExit | null = null;
  let exitedPromise: Promise<CommandExit> = Promise.resolve({ code: null, signal: null });
  let outputDone: Promise<void> = Promise.resolve();
  let pending: Pending | null = null;
  let carry: Buffer = Buffer.alloc(0);
  let pgid = 0;
  let describedSandbox = '';

  const killAll = () => {
    if (pgid) killGroup(pgid);
    limits?.killAll();
  };

  /** Output of the session: into the log, the end lines taken out (one may be split between chunks). */
  const onData = (chunk: Buffer) => {
    let buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    carry = Buffer.alloc(0);
    for (;;) {
      const at = buf.indexOf(marker);
      if (at === -1) {
        // Keep back a tail that could begin the marker.
        let keep = Math.min(marker.length - 1, buf.length);
        while (keep > 0 && !marker.subarray(0, keep).equals(buf.subarray(buf.length - keep))) keep--;
        log.write(buf.subarray(0, buf.length - keep));
        carry = Buffer.from(buf.subarray(buf.length - keep));
        return;
      }
      const nl = buf.indexOf(0x0a, at + marker.length);
      if (nl === -1 && buf.length - at < 256) {
        log.write(buf.subarray(0, at));
        carry = Buffer.from(buf.subarray(at));
        return;
      }
      const line = nl === -1 ? '' : buf.subarray(at + marker.length, nl).toString('latin1');
      const m = /^([0-9a-f]+) (\d+)$/.exec(line);
      if (m === null || m[1] !== nonce) {
        // Not the driver's line: output like any other.
        log.write(buf.subarray(0, at + marker.length));
        buf = buf.subarray(at + marker.length);
        continue;
      }
      log.write(buf.subarray(0, at));
      buf = buf.subarray(nl + 1);
      const p = pending;
      pending = null;
      p?.resolve(Number(m[2]));
    }
  };

  const launch = async (): Promise<void> => {
    const avail = sandbox.detect();
    if (!avail.ok) {
      launchFailure = avail.message;
      return;
    }
    let wrapped: string[];
    let env: Record<string, string>;
    try {
      const sb = sandbox.wrap(req.sandbox, req.cwd, req.env);
      wrapped = [...(req.wrapperArgv ?? []), ...sb.argv, '/bin/sh', '-c', DRIVER, DRIVER_NAME, nonce];
      env = sb.env;
      describedSandbox = `# sandbox: ${sandbox.identity}, ${describeSandboxSpec(req.sandbox, env.HOME)}\n`;
    } catch (e) {
      launchFailure = `cannot set up the sandbox: ${(e as Error).message}`;
      return;
    }
    try {
      limits = await prepareLimits({
        memoryBytes: req.memoryBytes,
        maxProcesses: req.maxProcesses ?? DEFAULT_MAX_PROCESSES,
        fileSizeBytes: req.fileSizeBytes,
      });
    } catch (e) {
      launchFailure = (e as Error).message;
      return;
    }
    if (limits.description) describedSandbox += `# ${limits.description}\n`;
    wrapped = [...limits.wrapperArgv, ...wrapped];
    exitedPromise = new Promise<CommandExit>((resolve) => {
      const done = (e: CommandExit) => {
        if (exited !== null) return;
        exited = e;
        const p = pending;
        pending = null;
        p?.resolve(null);
        resolve(e);
      };
      let started: Promise<void>;
      try {
        // Started by the spawn helper, so that ecocheck's own memory does not make it slow (remote-spawn.ts).
        ({ process: child, started } = startProcess({ file: wrapped[0], args: wrapped.slice(1), cwd: req.cwd, env, stdin: true }));
      } catch (e) {
        done({ code: null, signal: null, error: e as Error });
        return;
      }
      const c = child;
      void started.then(() => {
        pgid = c.pid ?? 0;
      });
      const out = child.stdout!;
      out.on('data', onData);
      outputDone = new Promise<void>((d) => {
        out.once('close', () => d());
        out.once('error', () => d());
      });
      child.once('error', (error) => done({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => done({ code, signal }));
    });
  };

  let launched: Promise<void> | null = null;

  const run = async (argv: string[], timeoutMs: number): Promise<ProcessResult> => {
    if (argv.length === 0 || argv[0] === '') throw new Error('session: empty argv');
    // What spawn() refuses (an argument with a NUL byte) is refused here too, as a command that could not start.
    const nul = argv.findIndex((a) => a.includes('\0'));
    const started = performance.now();
    const evidence: string[] = [];
    const result = (partial: Partial<ProcessResult>): ProcessResult => processResultSince(started, evidence, partial);
    const write = (s: string) => log.write(s);
    write(`$ ${argv.map(shellQuote).join(' ')}    # cwd: ${req.sandbox.cwd ?? req.cwd}\n`);
    if (req.signal?.aborted) {
      evidence.push('aborted before the command started');
      write(`[not started: aborted]\n`);
      return result({ aborted: true });
    }
    if (nul !== -1) {
      const msg = `could not start ${argv[0]}: argument ${nul} holds a NUL byte`;
      evidence.push(msg);
      write(`${msg}\n`);
      return result({ outputTail: msg });
    }
    launched ??= launch();
    await launched;
    if (launchFailure !== null) {
      evidence.push(launchFailure);
      write(`${launchFailure}\n`);
      return result({ outputTail: launchFailure });
    }
    write(describedSandbox);
    const outputStart = log.position;
    const before: LimitCounters = limits!.counters();
    let timedOut = false;
    let aborted = false;
    let status: number | null;
    if (exited !== null) status = null;
    else {
      const ended = new Promise<number | null>((resolve) => {
        pending = { resolve };
      });
      child!.stdin!.write(`${argv.map(driverWord).join(' ')}\n`);
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        aborted = true;
        killAll();
      };
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          killAll();
        }, timeoutMs);
      }
      req.signal?.addEventListener('abort', onAbort, { once: true });
      status = await ended;
      if (timer) clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
    }
    let exit: CommandExit;
    if (status !== null) exit = { code: status, signal: null };
    else {
      // The session ended during the command (killed on timeout or abort, or the driver itself died):
      // what is left goes, and the output the pipe still holds is read.
      exit = await exitedPromise;
      await reap();
      if ((await Promise.race([outputDone.then(() => true), sleep(OUTPUT_DRAIN_MS).then(() => false)])) === false) child?.stdout?.destroy();
      if (carry.length > 0) {
        log.write(carry);
        carry = Buffer.alloc(0);
      }
    }
    return await commandResult({
      req: {
        argv,
        env: req.env,
        sandbox: req.sandbox,
        timeoutMs,
        fileSizeBytes: req.fileSizeBytes,
        memoryBytes: req.memoryBytes,
        signal: req.signal,
      },
      log,
      commandNotFound: notFoundInSession,
      outputStart,
      exit,
      timedOut,
      aborted,
      limitFacts: limits!.collect(before),
      limitText: limits!.limitText,
      evidence,
      durationMs: Math.round(performance.now() - started),
      result,
    });
  };

  /** Kills what is left of the session and waits until it is gone (as runProcess does after a command). */
  const reap = async (): Promise<void> => {
    if (!pgid) return;
    killAll();
    const deadline = performance.now() + REAP_WAIT_MS;
    // Polled from 1 ms up: the sandbox's last processes are usually gone within a few milliseconds.
    for (let wait = 1; (!(limits?.isEmpty() ?? true) || groupAlive(pgid)) && performance.now() < deadline; wait = Math.min(20, wait * 2)) {
      killAll();
      await sleep(wait);
    }
  };

  return {
    run,
    async close() {
      if (launched === null) return;
      await launched;
      if (child !== null && exited === null) {
        // No more commands: the driver's read ends and it exits; anything else is killed below.
        (child as StartedProcess).stdin!.end();
        await Promise.race([exitedPromise, sleep(1000)]);
      }
      await reap();
      if (limits !== null) {
        (limits as PreparedLimits).killAll();
        (limits as PreparedLimits).cleanup();
      }
    },
  };
}
