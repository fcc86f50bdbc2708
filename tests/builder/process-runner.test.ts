import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeLimits, runProcess, type ProcessRequest } from '../../src/builder/process-runner.js';
import { classifyFailure, scanOutputEvidence } from '../../src/builder/failure-evidence.js';
import { processesWith } from '../support/processes.js';

const PATH = '/usr/local/bin:/usr/bin:/bin';
const MiB = 1024 * 1024;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ecocheck-runner-'));
}

function request(dir: string, argv: string[], extra: Partial<ProcessRequest> = {}): ProcessRequest {
  return { argv, cwd: dir, env: { PATH }, logFile: join(dir, 'job.log'), ...extra };
}

/** A number unlikely to appear in any other process's command line (used as a sleep duration). */
function uniqueMarker(): string {
  return String(800000 + Math.floor(Math.random() * 100000) * 10 + (process.pid % 10));
}

test('output goes to the log interleaved in order, between a command header and an exit footer', async () => {
  const dir = tempDir();
  try {
    const r = await runProcess(request(dir, ['sh', '-c', 'echo one; echo two >&2; echo three; echo four >&2; exit 3']));
    assert.equal(r.exitCode, 3);
    assert.equal(r.signal, null);
    assert.equal(r.timedOut, false);
    assert.equal(r.outputTail, 'one\ntwo\nthree\nfour');
    const log = readFileSync(join(dir, 'job.log'), 'utf8').split('\n');
    assert.match(log[0], /^\$ sh -c 'echo one; echo two >&2; echo three; echo four >&2; exit 3'/);
    const body = log.filter((l) => !l.startsWith('#'));
    assert.deepEqual(body.slice(1, 5), ['one', 'two', 'three', 'four']);
    assert.match(body[5], /^\[exit code 3 after \d+(\.\d)? m?s\]$/);
    // A second command appends to the same log.
    const r2 = await runProcess(request(dir, ['true']));
    assert.equal(r2.exitCode, 0);
    const log2 = readFileSync(join(dir, 'job.log'), 'utf8');
    assert.ok(log2.startsWith(log.join('\n')));
    assert.match(log2, /\n\$ true {4}# cwd: .*\n(#.*\n)?\[exit code 0 after/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the environment is exactly the one given, and argv[0] is found through its PATH', async () => {
  const dir = tempDir();
  try {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'my-tool'), '#!/bin/sh\necho "tool says $GREETING, LEAK=${ECOCHECK_LEAK_TEST:-unset}"\n');
    chmodSync(join(bin, 'my-tool'), 0o755);
    process.env.ECOCHECK_LEAK_TEST = 'leaked';
    const r = await runProcess(request(dir, ['my-tool'], { env: { PATH: `${bin}:${PATH}`, GREETING: 'hello' } }));
    delete process.env.ECOCHECK_LEAK_TEST;
    assert.equal(r.exitCode, 0);
    assert.equal(r.outputTail, 'tool says hello, LEAK=unset');

    const missing = await runProcess(request(dir, ['my-tool'], { env: { PATH } }));
    assert.equal(missing.exitCode, 127);
    assert.match(missing.evidence[0], /^command not found: my-tool/);
    const c = classifyFailure(missing, 'build');
    assert.equal(c.status, 'build-failed');
    assert.match(c.reason, /command not found: my-tool/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('outputTail keeps the last 60 lines', async () => {
  const dir = tempDir();
  try {
    const r = await runProcess(request(dir, ['sh', '-c', 'i=1; while [ $i -le 100 ]; do echo line $i; i=$((i+1)); done']));
    const lines = r.outputTail.split('\n');
    assert.equal(lines.length, 60);
    assert.equal(lines[0], 'line 41');
    assert.equal(lines[59], 'line 100');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('background processes left by a successful command are killed before runProcess returns', async () => {
  const dir = tempDir();
  const marker = uniqueMarker();
  try {
    const r = await runProcess(
      request(dir, ['sh', '-c', `sleep ${marker} & (sleep ${marker} &) & setsid sleep ${marker} & sleep 0.2; echo done`]),
    );
    assert.equal(r.exitCode, 0);
    assert.equal(r.outputTail, 'done');
    assert.deepEqual(processesWith(marker), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a timeout kills the whole process tree and is classified as timeout', async () => {
  const dir = tempDir();
  const marker = uniqueMarker();
  try {
    const t0 = Date.now();
    const r = await runProcess(
      request(dir, ['sh', '-c', `sleep ${marker} & (sleep ${marker} &); echo started; sleep ${marker}`], { timeoutMs: 500 }),
    );
    const elapsed = Date.now() - t0;
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(elapsed >= 500 && elapsed < 5000, `took ${elapsed} ms`);
    assert.equal(r.outputTail, 'started');
    assert.deepEqual(processesWith(marker), []);
    const c = classifyFailure(r, 'build');
    assert.equal(c.status, 'timeout');
    assert.match(c.reason, /timed out.*timeout/);
    assert.match(readFileSync(join(dir, 'job.log'), 'utf8'), /\[signal SIGKILL after .*; timed out\]\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('aborting kills the process group at once', async () => {
  const dir = tempDir();
  const marker = uniqueMarker();
  try {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const t0 = Date.now();
    const r = await runProcess(request(dir, ['sh', '-c', `sleep ${marker} & sleep ${marker}`], { signal: ac.signal, timeoutMs: 60_000 }));
    assert.equal(r.aborted, true);
    assert.equal(r.timedOut, false);
    assert.ok(Date.now() - t0 < 3000);
    assert.deepEqual(processesWith(marker), []);
    assert.equal(classifyFailure(r, 'build').status, 'internal-error');

    const already = new AbortController();
    already.abort();
    const r2 = await runProcess(request(dir, ['sh', '-c', 'echo should-not-run'], { signal: already.signal }));
    assert.equal(r2.aborted, true);
    assert.equal(r2.exitCode, null);
    assert.doesNotMatch(readFileSync(join(dir, 'job.log'), 'utf8'), /^should-not-run$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a process exceeding its memory limit is reported out of memory, with evidence', async () => {
  const dir = tempDir();
  try {
    const r = await runProcess(
      request(dir, ['python3', '-c', 'a = []\nwhile True: a.append(bytearray(8 * 1024 * 1024))'], {
        env: { PATH: '/usr/bin:/bin' },
        memoryBytes: 200 * MiB,
        timeoutMs: 20_000,
      }),
    );
    assert.equal(r.timedOut, false);
    assert.equal(r.outOfMemory, true, JSON.stringify(r));
    assert.ok(r.evidence.length > 0);
    const c = classifyFailure(r, 'build');
    assert.equal(c.status, 'out-of-memory');
    assert.match(c.reason, /memory/i);
    assert.match(readFileSync(join(dir, 'job.log'), 'utf8'), /^# memory limit 200 MiB via (cgroup v1|RLIMIT_AS)/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a process within its memory limit runs normally', async () => {
  const dir = tempDir();
  try {
    const r = await runProcess(
      request(dir, ['python3', '-c', 'a = bytearray(50 * 1024 * 1024); print(len(a))'], {
        env: { PATH: '/usr/bin:/bin' },
        memoryBytes: 200 * MiB,
      }),
    );
    assert.equal(r.exitCode, 0, r.outputTail);
    assert.equal(r.outOfMemory, false);
    assert.equal(r.outputTail, String(50 * MiB));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('describeLimits says which mechanism enforces the memory limit', () => {
  assert.match(describeLimits(4 * 1024 * MiB), /^memory limit 4 GiB via (cgroup v1|RLIMIT_AS)/);
});

test('the RLIMIT_AS fallback limits memory too (ECOCHECK_MEMORY_LIMIT=rlimit)', () => {
  const dir = tempDir();
  try {
    const runner = fileURLToPath(new URL('../../src/builder/process-runner.js', import.meta.url));
    const script = `
      import { runProcess, describeLimits } from ${JSON.stringify(runner)};
      const r = await runProcess({ argv: ['python3', '-c', 'a = []\\nwhile True: a.append(bytearray(8 * 1024 * 1024))'],
        cwd: ${JSON.stringify(dir)}, env: { PATH: '/usr/bin:/bin' }, logFile: ${JSON.stringify(join(dir, 'job.log'))},
        memoryBytes: 300 * 1024 * 1024, timeoutMs: 20000 });
      console.log(JSON.stringify({ d: describeLimits(300 * 1024 * 1024), r }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ECOCHECK_MEMORY_LIMIT: 'rlimit' },
      encoding: 'utf8',
    });
    const { d, r } = JSON.parse(out);
    assert.match(d, /^memory limit 300 MiB via RLIMIT_AS/);
    assert.equal(r.outOfMemory, true, JSON.stringify(r));
    assert.ok(
      r.evidence.some((e: string) => /MemoryError|allocate/.test(e)),
      JSON.stringify(r.evidence),
    );
    assert.equal(classifyFailure(r, 'build').status, 'out-of-memory');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('output evidence: memory, disk and network messages are recognised, ordinary errors are not', () => {
  assert.equal(scanOutputEvidence('foo\nFatal error: out of memory.\n').outOfMemory, true);
  assert.equal(scanOutputEvidence('ld: write: Cannot allocate memory').outOfMemory, true);
  assert.equal(scanOutputEvidence('cp: error writing x: No space left on device').diskFull, true);
  const net = scanOutputEvidence('curl: (6) Could not resolve host: example.com');
  assert.equal(net.networkDenied, true);
  assert.deepEqual(net.evidence, ['output says: curl: (6) Could not resolve host: example.com']);
  const plain = scanOutputEvidence('File "a.ml", line 1, characters 0-3:\nError: Unbound value foo\n');
  assert.deepEqual(plain, { outOfMemory: false, diskFull: false, networkDenied: false, evidence: [] });
});

test('classification by phase, and disk full as internal-error', () => {
  const base = {
    exitCode: 2,
    signal: null,
    durationMs: 10,
    timedOut: false,
    aborted: false,
    outOfMemory: false,
    diskFull: false,
    networkDenied: false,
    outputTail: 'Error: Unbound value foo',
    evidence: [],
  };
  assert.equal(classifyFailure(base, 'build').status, 'build-failed');
  assert.equal(classifyFailure(base, 'install').status, 'install-failed');
  assert.equal(classifyFailure(base, 'fetch').status, 'fetch-failed');
  assert.equal(classifyFailure({ ...base, exitCode: 0 }, 'build').status, 'ok');
  const disk = classifyFailure({ ...base, diskFull: true, evidence: ['output says: No space left on device'] }, 'install');
  assert.equal(disk.status, 'internal-error');
  assert.match(disk.reason, /^disk full during install: output says: No space left on device/);
  const net = { ...base, networkDenied: true, evidence: ['output says: curl: (6) Could not resolve host: x.org'] };
  assert.equal(classifyFailure(net, 'build').status, 'build-failed');
  assert.match(classifyFailure(net, 'build').reason, /network, which the build sandbox denies/);
  assert.equal(classifyFailure(net, 'fetch').status, 'fetch-failed');
  const killed = classifyFailure({ ...base, exitCode: 139 }, 'build');
  assert.match(killed.reason, /exit code 139 \(killed by signal 11\)/);
});
