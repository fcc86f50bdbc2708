/**
 * Build commands started by the spawn helper (remote-spawn.ts): the process is the one a direct spawn
 * would start (argv, environment, working directory, its own process group), its output, standard
 * input and exit come back, a missing program is an error, and the helper keeps nobody alive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProcess, type StartedProcess } from '../../src/builder/remote-spawn.js';

function collect(p: StartedProcess): Promise<{ out: string; code: number | null; signal: string | null; error: Error | null }> {
  return new Promise((resolve) => {
    let out = '';
    let exit: { code: number | null; signal: string | null } | null = null;
    let closed = false;
    let error: Error | null = null;
    const done = () => {
      if (closed && (exit !== null || error !== null)) resolve({ out, code: exit?.code ?? null, signal: exit?.signal ?? null, error });
    };
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stdout.once('close', () => {
      closed = true;
      done();
    });
    p.once('exit', (code, signal) => {
      exit = { code, signal };
      done();
    });
    p.once('error', (e) => {
      error = e;
      done();
    });
  });
}

test('a process started by the helper: its argv, environment, directory, own process group, output and exit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-remote-spawn-'));
  try {
    const { process: p, started } = startProcess({
      file: '/bin/sh',
      args: ['-c', 'echo "$0|$X|$(pwd)|$(ps -o pgid= -p $$ | tr -d " ")|$$"; read line; echo "got $line"; exit 7', 'arg0'],
      cwd: dir,
      env: { PATH: '/usr/bin:/bin', X: 'the env' },
      stdin: true,
    });
    const result = collect(p);
    await started;
    assert.ok(p.pid !== undefined && p.pid > 0);
    p.stdin!.write('a line\n');
    const r = await result;
    const [first, second] = r.out.trim().split('\n');
    const [arg0, x, cwd, pgid, pid] = first.split('|');
    assert.equal(arg0, 'arg0');
    assert.equal(x, 'the env');
    assert.equal(cwd, dir);
    assert.equal(pgid, pid, 'its own process group (detached)');
    assert.equal(Number(pid), p.pid);
    assert.equal(second, 'got a line');
    assert.equal(r.code, 7);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a program that does not exist is an error; standard input is /dev/null unless asked for', async () => {
  const missing = startProcess({ file: '/no/such/program', args: [], cwd: tmpdir(), env: {}, stdin: false });
  const r = await collect(missing.process);
  assert.ok(r.error !== null, 'an error event');
  assert.match(r.error.message, /ENOENT/);
  const cat = startProcess({ file: '/bin/cat', args: [], cwd: tmpdir(), env: {}, stdin: false });
  const c = await collect(cat.process);
  assert.equal(c.code, 0);
  assert.equal(c.out, '');
});

test('the helper keeps no process alive once its commands are done', () => {
  const module = new URL('../../src/builder/remote-spawn.js', import.meta.url).href;
  const script = `import { startProcess } from ${JSON.stringify(module)};
    const { process: p } = startProcess({ file: '/bin/echo', args: ['hi'], cwd: '/', env: {}, stdin: false });
    p.stdout.on('data', (d) => process.stdout.write(d));`;
  const t0 = performance.now();
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(out, 'hi\n');
  assert.ok(performance.now() - t0 < 20_000);
});
