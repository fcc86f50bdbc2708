/**
 * The spawn helper's program (remote-spawn.ts starts it): a small Node process that starts the build
 * commands for ecocheck and relays their output, exit and standard input over its IPC channel.
 *
 * Why: Node starts a process with fork(), whose cost grows with the parent's memory, and ecocheck holds
 * a whole plan (about 1 GiB at a few hundred jobs); measured on a 2-core machine, each start blocked
 * ecocheck's event loop for ~36 ms, a third of a trivial job's cost. Forked from this small process, a
 * start costs a few milliseconds. It exits when ecocheck does (its channel closes).
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** From ecocheck. */
export type HelperRequest =
  | { t: 'spawn'; id: number; file: string; args: string[]; cwd: string; env: Record<string, string>; stdin: boolean }
  | { t: 'stdin'; id: number; data: string }
  | { t: 'end'; id: number }
  | { t: 'destroy'; id: number };

/** To ecocheck. */
export type HelperReply =
  | { t: 'pid'; id: number; pid: number }
  | { t: 'data'; id: number; data: Uint8Array }
  | { t: 'close'; id: number }
  | { t: 'exit'; id: number; code: number | null; signal: string | null }
  | { t: 'error'; id: number; message: string };

function serve(): void {
  const children = new Map<number, ChildProcess>();
  const send = (r: HelperReply) => {
    if (process.connected) process.send?.(r);
  };
  process.on('message', (m: HelperRequest) => {
    if (m.t === 'spawn') {
      let child: ChildProcess;
      try {
        child = spawn(m.file, m.args, {
          cwd: m.cwd,
          env: m.env,
          stdio: [m.stdin ? 'pipe' : 'ignore', 'pipe', 'ignore'],
          detached: true,
        });
      } catch (e) {
        send({ t: 'error', id: m.id, message: (e as Error).message });
        send({ t: 'close', id: m.id });
        return;
      }
      children.set(m.id, child);
      if (child.pid !== undefined) send({ t: 'pid', id: m.id, pid: child.pid });
      child.stdin?.on('error', () => {});
      child.stdout!.on('data', (data: Buffer) => send({ t: 'data', id: m.id, data }));
      let closed = false;
      let exited = false;
      const forget = () => {
        if (closed && exited) children.delete(m.id);
      };
      child.stdout!.once('close', () => {
        closed = true;
        send({ t: 'close', id: m.id });
        forget();
      });
      child.once('error', (e) => send({ t: 'error', id: m.id, message: e.message }));
      child.once('exit', (code, signal) => {
        exited = true;
        send({ t: 'exit', id: m.id, code, signal });
        forget();
      });
    } else if (m.t === 'stdin') children.get(m.id)?.stdin?.write(m.data);
    else if (m.t === 'end') children.get(m.id)?.stdin?.end();
    else if (m.t === 'destroy') children.get(m.id)?.stdout?.destroy();
  });
  // ecocheck gone: nothing more to start (what was started is killed by ecocheck's own cleanup or the sandbox).
  process.on('disconnect', () => process.exit(0));
}

if (process.send !== undefined && process.env.ECOCHECK_SPAWN_HELPER === '1') serve();
