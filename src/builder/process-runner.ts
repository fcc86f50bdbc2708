/**
 * Runs one build command as its own process group (its own session), with a wall-clock timeout,
 * abort, a per-job memory limit, a file size limit, an optional sandbox (sandbox.ts), and its output
 * (standard output and error through one pipe, in the order printed) written to the job's log
 * through ecocheck, which caps it (build-log.ts). Whatever the command leaves running is killed
 * before `runProcess` returns: nothing it started outlives the call.
 */
import { startProcess, type StartedProcess } from './remote-spawn.js';
import { accessSync, constants as fsConstants, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { prepareLimits, type PreparedLimits } from './resource-limits.js';
import { describeSandboxSpec, type Sandbox, type SandboxSpec, type WrappedCommand } from './sandbox.js';
import { bubblewrap } from './bubblewrap.js';
import { scanOutputEvidence } from './failure-evidence.js';
import { processResultSince, type ProcessResult } from './process-result.js';
import { BuildLog } from './build-log.js';
import { formatBytes } from '../units/byte-size.js';

export type { ProcessResult };

export { describeLimits } from './resource-limits.js';
/** Whether the default sandbox (bubblewrap) works here. */
export const sandboxAvailable = () => bubblewrap.detect();

export interface ProcessRequest {
  /** argv[0] is resolved through env.PATH. */
  argv: string[];
  cwd: string;
  /** The complete environment (nothing is inherited implicitly). */
  env: Record<string, string>;
  /** Appended to: a header line with the command, the interleaved stdout+stderr, then exit code and duration. */
  logFile: string;
  /**
   * The job's open log (its path `logFile`), shared by its commands so that its cap holds for the job;
   * without it the runner opens `logFile` for this command alone.
   */
  log?: BuildLog;
  /** RLIMIT_FSIZE: the largest file the command may write (the job's disk limit). */
  fileSizeBytes?: number;
  /** Wall clock; on expiry the whole process tree is killed. */
  timeoutMs?: number;
  /** Per-job memory limit. */
  memoryBytes?: number;
  /**
   * Maximum number of processes/threads the job may have at once (cgroup pids controller, when the
   * machine offers it; otherwise not enforced). Defaults to DEFAULT_MAX_PROCESSES.
   */
  maxProcesses?: number;
  /** null/undefined = no sandbox. */
  sandbox?: SandboxSpec | null;
  /** The sandbox implementation running `sandbox` (default: bubblewrap). */
  sandboxImplementation?: Sandbox;
  /**
   * Prepended to the sandbox's command line (after the resource limits' wrapper): e.g. the mount of
   * the job's switch (switch-mount.ts), which the sandbox then binds at its fixed path.
   */
  wrapperArgv?: string[];
  /** Abort = kill the process group now. */
  signal?: AbortSignal;
}

export const DEFAULT_MAX_PROCESSES = 1024;
const TAIL_LINES = 60;
/** How much of a command's output is scanned for evidence (its last bytes). */
const SCAN_BYTES = 4 * 1024 * 1024;
/** How long to wait for killed processes to disappear before giving up (and saying so). */
export const REAP_WAIT_MS = 10_000;
/** How long the output pipe may stay open once the job's processes are gone (a process that escaped holds it). */
export const OUTPUT_DRAIN_MS = 2_000;
/** What the output says when a write hit RLIMIT_FSIZE: the shell's report of SIGXFSZ, or EFBIG's message. */
const FILE_SIZE_LIMIT = [/File size limit exceeded/, /File too large/];
/** The signal a write past RLIMIT_FSIZE gets (Linux). */
const SIGXFSZ = 25;

/** Quotes one argument for the log's command line, so it can be pasted into a shell. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Resolves a command name through PATH the way execvp does; null when not found. */
export function resolveCommand(command: string, envPath: string | undefined, cwd: string): string | null {
  const isExecutableFile = (p: string): boolean => {
    try {
      accessSync(p, fsConstants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes('/')) {
    const p = path.resolve(cwd, command);
    return isExecutableFile(p) ? p : null;
  }
  for (const dir of (envPath ?? '').split(':')) {
    const p = path.resolve(cwd, dir === '' ? '.' : dir, command);
    if (isExecutableFile(p)) return p;
  }
  return null;
}

/**
 * Whether the process group still has a living (not zombie) member. Zombies are dead already; their
 * new parent reaps them when it gets round to it (on some machines only every second or so).
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The last `maxBytes` of the log from `from` on (the command's own output). */
function readOutput(log: BuildLog, from: number, maxBytes: number): string {
  let text = log.readBack(from, maxBytes);
  if (log.position - from > maxBytes) text = text.slice(text.indexOf('\n') + 1); // drop a partial first line
  return text;
}

/** How a command ended, as its runner saw it. */
export interface CommandExit {
  code: number | null;
  signal: string | null;
  error?: Error;
}

/**
 * A finished command's result, from its output in the log (from `outputStart`) and how it ended: the
 * evidence (limits, output, not found, file size, memory), and the log's closing line for it.
 */
export async function commandResult(c: {
  req: Pick<ProcessRequest, 'argv' | 'env' | 'sandbox' | 'timeoutMs' | 'fileSizeBytes' | 'memoryBytes' | 'signal'>;
  log: BuildLog;
  /** The sandbox's reading of a command it could not find (Sandbox.commandNotFound). */
  commandNotFound: Sandbox['commandNotFound'];
  outputStart: number;
  exit: CommandExit;
  timedOut: boolean;
  aborted: boolean;
  limitFacts: { oomKilled: boolean; evidence: string[] };
  limitText: string;
  evidence: string[];
  durationMs: number;
  result: (partial: Partial<ProcessResult>) => ProcessResult;
}): Promise<ProcessResult> {
  const { req, log, exit, timedOut, aborted, limitFacts, evidence, durationMs } = c;
  const write = (s: string) => log.write(s);
  if (exit.error) {
    const msg = `could not start ${req.argv[0]}: ${exit.error.message}`;
    evidence.push(msg);
    await write(`${msg}\n`);
  }
  const output = readOutput(log, c.outputStart, SCAN_BYTES);
  const scanned = scanOutputEvidence(output);
  evidence.push(...limitFacts.evidence, ...scanned.evidence);

  const { signal } = exit;
  let exitCode = exit.code;
  // The sandbox says when it could not find the command (in its own words and exit code).
  const notFound = req.sandbox ? c.commandNotFound(output, exitCode) : null;
  if (notFound !== null) {
    exitCode = 127;
    evidence.push(`command not found: ${notFound} (PATH=${req.env.PATH ?? ''})`);
  }
  if (timedOut) evidence.unshift(`killed after the ${formatDuration(req.timeoutMs ?? 0)} timeout`);
  if (aborted) {
    // The abort's reason when it gives one (the disk watcher's: the job over its limit), else the run's interruption.
    const reason = req.signal?.reason;
    evidence.unshift(`killed: ${reason instanceof Error && reason.name !== 'AbortError' ? reason.message : 'the run was aborted'}`);
  }
  let fileSizeExceeded = false;
  if (req.fileSizeBytes !== undefined) {
    const said = output.split('\n').find((l) => FILE_SIZE_LIMIT.some((p) => p.test(l)));
    // In a sandbox the writer's SIGXFSZ comes back as the sandbox's exit code 128 + 25 (bwrap's, as a shell's), with nothing printed.
    if (signal === 'SIGXFSZ' || exitCode === 128 + SIGXFSZ || said !== undefined) {
      fileSizeExceeded = true;
      const shown =
        said !== undefined
          ? `output says: ${said.trim().slice(0, 200)}`
          : signal === 'SIGXFSZ'
            ? 'killed by SIGXFSZ'
            : `exit code ${exitCode} (killed by SIGXFSZ)`;
      evidence.unshift(
        `a file of the job reached its file size limit of ${formatBytes(req.fileSizeBytes)} (RLIMIT_FSIZE, the --disk limit): ${shown}`,
      );
    }
  }
  const killedBySigkill = signal === 'SIGKILL' || exitCode === 137;
  let outOfMemory = limitFacts.oomKilled || scanned.outOfMemory;
  if (!outOfMemory && killedBySigkill && !timedOut && !aborted && req.memoryBytes !== undefined) {
    outOfMemory = true;
    evidence.push(`killed by SIGKILL under a memory limit of ${c.limitText}`);
  }

  const status = exit.error !== undefined ? 'not started' : signal !== null ? `signal ${signal}` : `exit code ${exitCode}`;
  const flags = [timedOut ? 'timed out' : '', aborted ? 'aborted' : '', outOfMemory ? 'out of memory' : ''].filter(Boolean).join(', ');
  await write(
    `${output.endsWith('\n') || output === '' ? '' : '\n'}[${status} after ${formatDuration(durationMs)}${flags ? `; ${flags}` : ''}]\n`,
  );
  return c.result({
    exitCode,
    signal,
    durationMs,
    timedOut,
    aborted,
    outOfMemory,
    diskFull: scanned.diskFull,
    fileSizeExceeded,
    networkDenied: req.sandbox ? !req.sandbox.network && scanned.networkDenied : false,
    outputTail: lastLines(output, TAIL_LINES),
  });
}

function lastLines(text: string, n: number): string {
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.slice(-n).join('\n');
}

export async function runProcess(req: ProcessRequest): Promise<ProcessResult> {
  if (req.argv.length === 0 || req.argv[0] === '') throw new Error('runProcess: empty argv');
  const started = performance.now();
  const evidence: string[] = [];
  const result = (partial: Partial<ProcessResult>): ProcessResult => processResultSince(started, evidence, partial);

  const ownLog = req.log === undefined;
  const log = req.log ?? new BuildLog(req.logFile, { append: true });
  let limits: PreparedLimits | null = null;
  try {
    const write = (s: string) => log.write(s);
    await write(`$ ${req.argv.map(shellQuote).join(' ')}    # cwd: ${req.sandbox?.cwd ?? req.cwd}\n`);

    if (req.signal?.aborted) {
      evidence.push('aborted before the command started');
      await write(`[not started: aborted]\n`);
      return result({ aborted: true });
    }

    // In a sandbox the command is looked up there (its PATH names the switch's bin, which only exists
    // inside); the sandbox's report that it could not find it is turned into exit code 127 below.
    const resolved = req.sandbox ? req.argv[0] : resolveCommand(req.argv[0], req.env.PATH, req.cwd);
    if (resolved === null) {
      const msg = `command not found: ${req.argv[0]} (PATH=${req.env.PATH ?? ''})`;
      evidence.push(msg);
      await write(`${msg}\n[exit code 127 after 0 ms]\n`);
      return result({ exitCode: 127, outputTail: msg });
    }

    let wrapped = [resolved, ...req.argv.slice(1)];
    let env = req.env;
    const sandbox = req.sandboxImplementation ?? bubblewrap;
    if (req.sandbox) {
      const avail = sandbox.detect();
      if (!avail.ok) {
        evidence.push(avail.message);
        await write(`${avail.message}\n`);
        return result({ outputTail: avail.message });
      }
      let sb: WrappedCommand;
      try {
        sb = sandbox.wrap(req.sandbox, req.cwd, req.env);
      } catch (e) {
        const msg = `cannot set up the sandbox: ${(e as Error).message}`;
        evidence.push(msg);
        await write(`${msg}\n`);
        return result({ outputTail: msg });
      }
      wrapped = [...(req.wrapperArgv ?? []), ...sb.argv, ...wrapped];
      env = sb.env;
      await write(`# sandbox: ${sandbox.identity}, ${describeSandboxSpec(req.sandbox, env.HOME)}\n`);
    }
    let prepared: PreparedLimits;
    try {
      prepared = await prepareLimits({
        memoryBytes: req.memoryBytes,
        maxProcesses: req.maxProcesses ?? DEFAULT_MAX_PROCESSES,
        fileSizeBytes: req.fileSizeBytes,
      });
    } catch (e) {
      const msg = (e as Error).message;
      evidence.push(msg);
      await write(`${msg}\n`);
      return result({ outputTail: msg });
    }
    limits = prepared;
    wrapped = [...prepared.wrapperArgv, ...wrapped];
    if (prepared.description) await write(`# ${prepared.description}\n`);

    const outputStart = log.position;
    let outputDone: Promise<void> = Promise.resolve();
    let closeOutput = () => {};
    let timedOut = false;
    let aborted = false;
    let pgid = 0;
    const killAll = () => {
      if (pgid) killGroup(pgid);
      prepared.killAll();
    };

    const exit = await new Promise<{ code: number | null; signal: string | null; error?: Error }>((resolve) => {
      let child: StartedProcess;
      try {
        // Its own session and process group (setsid), no controlling terminal, standard input /dev/null,
        // one pipe: the limits wrapper sends standard error to it too (resource-limits.ts). Started by
        // the spawn helper, so that ecocheck's own memory does not make it slow (remote-spawn.ts).
        const started = startProcess({ file: wrapped[0], args: wrapped.slice(1), cwd: req.cwd, env, stdin: false });
        child = started.process;
        void started.started.then(() => {
          pgid = child.pid ?? 0;
          if (timedOut || aborted) killAll();
        });
      } catch (e) {
        resolve({ code: null, signal: null, error: e as Error });
        return;
      }
      const out = child.stdout;
      if (out) {
        out.on('data', (chunk: Buffer) => log.write(chunk));
        outputDone = new Promise<void>((done) => {
          out.once('close', () => done());
          out.once('error', () => done());
        });
        closeOutput = () => out.destroy();
      }
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        aborted = true;
        killAll();
      };
      if (req.timeoutMs !== undefined && req.timeoutMs > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          killAll();
        }, req.timeoutMs);
      }
      req.signal?.addEventListener('abort', onAbort, { once: true });
      let settled = false;
      const finish = (v: { code: number | null; signal: string | null; error?: Error }) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      child.once('error', (error) => finish({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => finish({ code, signal }));
    });

    // Whatever the command left behind (background jobs, daemons) goes now.
    if (pgid) {
      killGroup(pgid);
      limits.killAll();
      const deadline = performance.now() + REAP_WAIT_MS;
      while ((groupAlive(pgid) || !limits.isEmpty()) && performance.now() < deadline) {
        killGroup(pgid);
        limits.killAll();
        await sleep(20);
      }
      if (groupAlive(pgid) || !limits.isEmpty()) {
        evidence.push(`some processes of the job were still present ${REAP_WAIT_MS / 1000} s after being killed`);
      }
    }
    // The output the pipe still holds; a process that escaped the kill keeps it open: it is closed.
    if ((await Promise.race([outputDone.then(() => true), sleep(OUTPUT_DRAIN_MS).then(() => false)])) === false) closeOutput();
    const durationMs = Math.round(performance.now() - started);

    return await commandResult({
      req,
      log,
      commandNotFound: (output, code) => sandbox.commandNotFound(output, code),
      outputStart,
      exit,
      timedOut,
      aborted,
      limitFacts: limits.collect(),
      limitText: limits.limitText,
      evidence,
      durationMs,
      result,
    });
  } finally {
    if (limits) {
      limits.killAll();
      limits.cleanup();
    }
    if (ownLog) log.close();
  }
}
