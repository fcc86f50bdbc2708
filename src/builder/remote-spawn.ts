/**
 * Starting build commands without forking ecocheck itself: through a small helper process
 * (spawn-helper.ts), started once, which forks them and relays their output, exit and standard input.
 * Node's spawn() forks the calling process, and the fork's cost grows with its memory: with a plan of a
 * few hundred jobs in memory (~1 GiB), each start blocked ecocheck's event loop for ~36 ms, during which
 * no other running build was served. The process started is the same, with the same argv, environment,
 * working directory, its own session (detached) and its standard error unused, as a direct spawn().
 *
 * `startProcess` returns what the runners use of a ChildProcess: the pid (once known), standard output
 * as a stream, standard input, and the `exit` and `error` events. Where the helper cannot be started,
 * it falls back to a direct spawn().
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { HelperReply, HelperRequest } from './spawn-helper.js';

export interface StartedProcess {
  /** The process id (its process group's too: it is started detached). */
  readonly pid: number | undefined;
  readonly stdout: Readable;
  /** Present when asked for (`stdin: true`). */
  readonly stdin: { write(data: string): void; end(): void } | null;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
}

export interface StartRequest {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** A pipe to its standard input (else /dev/null). */
  stdin: boolean;
}

/** One process started by the helper: its replies become this object's events. */
class RemoteProcess extends EventEmitter implements StartedProcess {
  pid: number | undefined = undefined;
  readonly stdout = new PassThrough();
  readonly stdin: { write(data: string): void; end(): void } | null;
  exited = false;
  closed = false;
  failed = false;
  /** Not started, or gone: 'error' (once, to whoever listens), and 'started' so that nobody waits for a pid. */
  fail(error: Error): void {
    this.failed = true;
    this.emit('started');
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
  constructor(
    readonly id: number,
    wantStdin: boolean,
    private readonly helper: Helper,
  ) {
    super();
    this.stdin = wantStdin
      ? { write: (data: string) => helper.send({ t: 'stdin', id, data }), end: () => helper.send({ t: 'end', id }) }
      : null;
    // destroy() of the output: the helper stops reading it too.
    this.stdout.on('close', () => {
      if (!this.closed) helper.send({ t: 'destroy', id });
    });
  }
}

class Helper {
  private readonly child: ChildProcess;
  private readonly running = new Map<number, RemoteProcess>();
  private nextId = 1;
  dead = false;

  constructor(program: string) {
    this.child = fork(program, [], {
      execArgv: [],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, ECOCHECK_SPAWN_HELPER: '1' },
    });
    this.child.on('message', (r: HelperReply) => this.receive(r));
    const gone = () => {
      if (this.dead) return;
      this.dead = true;
      for (const p of this.running.values()) {
        p.fail(new Error('the spawn helper exited'));
        if (!p.closed) p.stdout.end();
      }
      this.running.clear();
    };
    this.child.once('exit', gone);
    this.child.once('error', gone);
    this.idle();
  }

  /** The helper keeps ecocheck alive only while it runs something for it. */
  private idle(): void {
    if (this.running.size === 0) {
      this.child.unref();
      this.child.channel?.unref();
    }
  }

  send(m: HelperRequest): void {
    if (!this.dead && this.child.connected) this.child.send(m);
  }

  start(req: StartRequest): RemoteProcess {
    const id = this.nextId++;
    const p = new RemoteProcess(id, req.stdin, this);
    this.running.set(id, p);
    this.child.ref();
    this.child.channel?.ref();
    this.send({ t: 'spawn', id, ...req });
    return p;
  }

  private receive(r: HelperReply): void {
    const p = this.running.get(r.id);
    if (p === undefined) return;
    if (r.t === 'pid') {
      p.pid = r.pid;
      p.emit('started');
    } else if (r.t === 'data') p.stdout.write(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength));
    else if (r.t === 'close') {
      p.closed = true;
      p.stdout.end();
    } else if (r.t === 'exit') {
      p.exited = true;
      p.emit('exit', r.code, r.signal);
    } else if (r.t === 'error') p.fail(new Error(r.message));
    if (p.closed && (p.exited || p.failed)) {
      this.running.delete(r.id);
      this.idle();
    }
  }
}

let helper: Helper | null | undefined;

function theHelper(): Helper | null {
  if (helper === undefined || helper?.dead === true) {
    const program = fileURLToPath(new URL('./spawn-helper.js', import.meta.url));
    try {
      helper = process.env.ECOCHECK_SPAWN_HELPER === 'off' || !existsSync(program) ? null : new Helper(program);
    } catch {
      helper = null;
    }
  }
  return helper;
}

/**
 * Starts a process as spawn(file, args, { cwd, env, detached: true, stdio: [stdin ? 'pipe' : 'ignore',
 * 'pipe', 'ignore'] }) would, through the helper. The pid is known once the helper has started it:
 * await `started` before killing its process group.
 */
export function startProcess(req: StartRequest): { process: StartedProcess; started: Promise<void> } {
  const h = theHelper();
  if (h === null) {
    const child = spawn(req.file, req.args, {
      cwd: req.cwd,
      env: req.env,
      stdio: [req.stdin ? 'pipe' : 'ignore', 'pipe', 'ignore'],
      detached: true,
    });
    child.stdin?.on('error', () => {});
    return { process: child as unknown as StartedProcess, started: Promise.resolve() };
  }
  const p = h.start(req);
  const started = new Promise<void>((resolve) => p.once('started', () => resolve()));
  return { process: p, started };
}
