import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess, sandboxAvailable, type ProcessRequest } from '../../src/builder/process-runner.js';
import { classifyFailure } from '../../src/builder/failure-evidence.js';
import { describeProcessLimit } from '../../src/builder/resource-limits.js';
import { processesWith } from '../support/processes.js';

const available = sandboxAvailable();
const skip = available.ok ? false : `bubblewrap unavailable: ${available.message}`;
const PATH = '/usr/local/bin:/usr/bin:/bin';
const MiB = 1024 * 1024;
const HOSTILE = fileURLToPath(new URL('../../../fixtures/hostile/', import.meta.url));

interface Layout {
  root: string;
  build: string;
  prefix: string;
  outside: string;
  home: string;
}

/** root/{build,prefix} are writable in the sandbox; root/outside (with a fake HOME) is not. */
function layout(): Layout {
  const root = mkdtempSync(join(tmpdir(), 'ecocheck-sandbox-'));
  const l = { root, build: join(root, 'build'), prefix: join(root, 'prefix'), outside: join(root, 'outside'), home: join(root, 'outside', 'home') };
  for (const d of [l.build, l.prefix, l.home]) mkdirSync(d, { recursive: true });
  writeFileSync(join(l.home, '.bashrc'), '# the real .bashrc\n');
  return l;
}

function hostileRequest(l: Layout, script: string, env: Record<string, string>, extra: Partial<ProcessRequest> = {}): ProcessRequest {
  return {
    argv: [join(HOSTILE, script)],
    cwd: l.build,
    env: { PATH, HOME: l.home, PREFIX: l.prefix, OUTSIDE: l.outside, ...env },
    logFile: join(l.root, 'logs', 'job.log'),
    sandbox: { writable: [l.build, l.prefix], readonly: [HOSTILE], network: false },
    ...extra,
  };
}

/** Every path under `dir` with its size and mtime, skipping the given subdirectories. */
function snapshot(dir: string, skipDirs: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (skipDirs.includes(p)) continue;
      const st = statSync(p);
      out.set(relative(dir, p), `${st.isDirectory() ? 'd' : st.size}:${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}


function uniqueMarker(): string {
  return String(700000 + Math.floor(Math.random() * 10000) * 10 + (process.pid % 10));
}

test('writes outside the build directory and prefix are contained', { skip }, async () => {
  const l = layout();
  const marker = `m${process.pid}${Date.now()}`;
  const hostTargets = [
    `/tmp/escape-marker-${marker}`,
    `/work/escape-marker-${marker}`,
    `/root/.escape-marker-${marker}`,
    `/var/tmp/escape-marker-${marker}`,
    join(l.outside, `escape-marker-${marker}`),
    join(l.root, `escape-marker-${marker}`),
  ];
  try {
    const before = snapshot(l.root, [l.build, l.prefix, join(l.root, 'logs')]);
    const r = await runProcess(hostileRequest(l, 'write-outside.sh', { MARKER: marker }));
    assert.equal(r.exitCode, 0, r.outputTail);
    // It ran, and could write where a build may write...
    assert.equal(readFileSync(join(l.build, 'built-marker'), 'utf8'), 'ok\n');
    assert.equal(readFileSync(join(l.prefix, 'installed-marker'), 'utf8'), 'ok\n');
    assert.equal(readFileSync(join(l.build, '.ecocheck-home', '.bashrc'), 'utf8'), 'echo pwned\n');
    assert.match(r.outputTail, new RegExp(`HOME=${l.build}/.ecocheck-home`));
    // ...but nowhere else: the read-only host refuses, and what the private /tmp took stays in the build.
    assert.match(r.outputTail, /^could not write \/work\/escape-marker/m);
    assert.match(r.outputTail, /^could not write \/root\/.escape-marker/m);
    assert.match(r.outputTail, new RegExp(`^could not write ${l.outside}/escape-marker`, 'm'));
    for (const t of hostTargets) assert.equal(existsSync(t), false, `${t} appeared on the host`);
    assert.equal(existsSync(join(l.build, '.ecocheck-tmp', `escape-marker-${marker}`)), true, 'the private /tmp is not the build one');
    assert.equal(readFileSync(join(l.home, '.bashrc'), 'utf8'), '# the real .bashrc\n');
    assert.deepEqual(snapshot(l.root, [l.build, l.prefix, join(l.root, 'logs')]), before);
  } finally {
    for (const t of hostTargets) rmSync(t, { force: true });
    rmSync(l.root, { recursive: true, force: true });
  }
});

test('HOME is kept when already private to the build, else replaced by one inside the build dir', { skip }, async () => {
  const l = layout();
  try {
    const own = join(l.build, 'my-home');
    const r = await runProcess({
      argv: ['sh', '-c', 'echo "$HOME"; touch "$HOME/.profile" && echo wrote-home'],
      cwd: l.build,
      env: { PATH, HOME: own },
      logFile: join(l.root, 'job.log'),
      sandbox: { writable: [l.build], readonly: [], network: false },
    });
    assert.equal(r.outputTail, `${own}\nwrote-home`);
    assert.equal(existsSync(join(own, '.profile')), true);
    const r2 = await runProcess({
      argv: ['sh', '-c', 'echo "$HOME"'],
      cwd: l.build,
      env: { PATH },
      logFile: join(l.root, 'job.log'),
      sandbox: { writable: [l.prefix, l.build], readonly: [], network: false },
    });
    assert.equal(r2.outputTail, join(l.build, '.ecocheck-home'));
  } finally {
    rmSync(l.root, { recursive: true, force: true });
  }
});

test('a read-only directory inside a writable one stays read-only', { skip }, async () => {
  const l = layout();
  try {
    const dep = join(l.build, 'dep-prefix');
    mkdirSync(dep);
    const r = await runProcess({
      argv: ['sh', '-c', `touch ${dep}/x || echo refused; touch ${l.build}/y && echo allowed`],
      cwd: l.build,
      env: { PATH },
      logFile: join(l.root, 'job.log'),
      sandbox: { writable: [l.build], readonly: [dep], network: false },
    });
    assert.equal(r.exitCode, 0);
    assert.match(r.outputTail, /Read-only file system\nrefused\nallowed$/);
    assert.equal(existsSync(join(dep, 'x')), false);
    assert.equal(existsSync(join(l.build, 'y')), true);
  } finally {
    rmSync(l.root, { recursive: true, force: true });
  }
});

async function withListener<T>(f: (port: number, connections: () => number) => Promise<T>): Promise<T> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await f((server.address() as AddressInfo).port, () => count);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

test('network access is denied and classified as such (and is allowed when asked for)', { skip }, async () => {
  const l = layout();
  try {
    await withListener(async (port, connections) => {
      const r = await runProcess(hostileRequest(l, 'network.sh', { PORT: String(port), MARKER: 'net' }, { timeoutMs: 20_000 }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(connections(), 0, 'the listener was reached from the sandbox');
      assert.notEqual(r.exitCode, 0);
      assert.doesNotMatch(r.outputTail, /^connected/m);
      assert.equal(r.networkDenied, true, JSON.stringify(r));
      assert.ok(r.evidence.some((e) => /Network is unreachable/.test(e)), JSON.stringify(r.evidence));
      const build = classifyFailure(r, 'build');
      assert.equal(build.status, 'build-failed');
      assert.match(build.reason, /after trying to access the network, which the build sandbox denies: output says: .*Network is unreachable/);
      assert.equal(classifyFailure(r, 'fetch').status, 'fetch-failed');

      // Control: the same script with network allowed does reach the listener.
      const open = await runProcess(
        hostileRequest(l, 'network.sh', { PORT: String(port), MARKER: 'net' }, {
          timeoutMs: 20_000,
          sandbox: { writable: [l.build, l.prefix], readonly: [HOSTILE], network: true },
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(open.exitCode, 0, open.outputTail);
      assert.equal(connections(), 1);
      assert.equal(open.networkDenied, false);
    });
  } finally {
    rmSync(l.root, { recursive: true, force: true });
  }
});

test('unbounded allocation is stopped by the memory limit and classified out-of-memory', { skip }, async () => {
  const l = layout();
  try {
    const r = await runProcess(hostileRequest(l, 'memory-hog.sh', {}, { memoryBytes: 200 * MiB, timeoutMs: 30_000 }));
    assert.equal(r.timedOut, false);
    assert.equal(r.outOfMemory, true, JSON.stringify(r));
    const c = classifyFailure(r, 'build');
    assert.equal(c.status, 'out-of-memory');
    assert.ok(c.evidence.length > 0);
  } finally {
    rmSync(l.root, { recursive: true, force: true });
  }
});

test('a command that sleeps forever is killed at its timeout, every process with it', { skip }, async () => {
  const l = layout();
  const marker = uniqueMarker();
  try {
    const t0 = Date.now();
    const r = await runProcess(hostileRequest(l, 'sleep-forever.sh', { MARKER: marker }, { timeoutMs: 1500 }));
    const elapsed = Date.now() - t0;
    assert.equal(r.timedOut, true);
    assert.ok(elapsed >= 1500 && elapsed < 6000, `took ${elapsed} ms`);
    assert.match(r.outputTail, /sleeping forever/);
    assert.equal(classifyFailure(r, 'build').status, 'timeout');
    assert.deepEqual(processesWith(marker), []);
  } finally {
    rmSync(l.root, { recursive: true, force: true });
  }
});

test('aborting a sandboxed command kills all of it', { skip }, async () => {
  const l = layout();
  const marker = uniqueMarker();
  try {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 400);
    const t0 = Date.now();
    const r = await runProcess(hostileRequest(l, 'sleep-forever.sh', { MARKER: marker }, { timeoutMs: 60_000, signal: ac.signal }));
    assert.equal(r.aborted, true);
    assert.equal(r.timedOut, false);
    assert.ok(Date.now() - t0 < 5000);
    assert.deepEqual(processesWith(marker), []);
  } finally {
    rmSync(l.root, { recursive: true, force: true });
  }
});

const pidsLimit = describeProcessLimit(64);
const bombSkip = skip || (pidsLimit.startsWith('no process limit') ? `not running a fork bomb: ${pidsLimit}` : false);

test('a fork bomb is held at the process limit and killed at the timeout', { skip: bombSkip }, async () => {
  const l = layout();
  const marker = uniqueMarker();
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, processesWith(marker).length);
  }, 50);
  try {
    const r = await runProcess(
      hostileRequest(l, 'fork-bomb.sh', { MARKER: marker, MAX_DEPTH: '9' }, { timeoutMs: 2000, maxProcesses: 64 }),
    );
    clearInterval(sampler);
    assert.equal(r.timedOut, true);
    assert.ok(peak > 8, `the bomb never got going (peak ${peak})`);
    assert.ok(peak <= 64, `peak of ${peak} processes above the limit of 64`);
    assert.ok(r.evidence.some((e) => /forks? (was|were) refused at the job's limit of 64 processes/.test(e)), JSON.stringify(r.evidence));
    assert.equal(classifyFailure(r, 'build').status, 'timeout');
    assert.deepEqual(processesWith(marker), []);
  } finally {
    clearInterval(sampler);
    rmSync(l.root, { recursive: true, force: true });
  }
});
