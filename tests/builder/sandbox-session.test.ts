/**
 * A job's commands in one sandbox launch (sandbox-session.ts): each command's output, exit code and
 * evidence are its own, as in a launch of its own; what a command leaves running is gone before the
 * next starts; a command not found, a timeout, a forged end line, arguments with quotes and newlines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess, sandboxAvailable } from '../../src/builder/process-runner.js';
import { createSandboxSession, sessionSupported, type SessionRequest } from '../../src/builder/sandbox-session.js';
import { bubblewrap } from '../../src/builder/bubblewrap.js';
import { BuildLog } from '../../src/builder/build-log.js';
import { classifyFailure } from '../../src/builder/failure-evidence.js';
import { sandboxIds } from '../../src/builder/build-user.js';
import { skipWithout } from '../support/missing-setup.js';

const available = sandboxAvailable();
const skip = skipWithout(
  'bubblewrap',
  available.ok
    ? sessionSupported(bubblewrap)
      ? false
      : 'bubblewrap has no PID namespace here'
    : `bubblewrap unavailable: ${available.message}`,
);
const PATH = '/usr/local/bin:/usr/bin:/bin';

function setup(): { root: string; log: BuildLog; logFile: string; request: SessionRequest } {
  const root = mkdtempSync(join(tmpdir(), 'ecocheck-session-'));
  const build = join(root, 'build');
  mkdirSync(build);
  const logFile = join(root, 'job.log');
  const log = new BuildLog(logFile);
  const request: SessionRequest = {
    cwd: build,
    env: { PATH, LANG: 'C' },
    logFile,
    log,
    memoryBytes: 1024 ** 3,
    fileSizeBytes: 1024 ** 3,
    sandbox: { writable: [build], readonly: [], network: false, user: { ...sandboxIds(), name: 'opam', home: join(build, 'home') } },
    sandboxImplementation: bubblewrap,
  };
  return { root, log, logFile, request };
}

test('commands share one launch: each its own output, exit code and end line, in order', { skip }, async () => {
  const { root, log, logFile, request } = setup();
  try {
    const session = createSandboxSession(request);
    const a = await session.run(['sh', '-c', 'echo first; echo $$ > pid; echo warn >&2'], 10_000);
    const b = await session.run(['sh', '-c', 'echo second; cat pid; exit 3'], 10_000);
    const c = await session.run(['printf', '%s|', "it's", 'two\nlines', '$HOME', '*'], 10_000);
    await session.close();
    log.close();
    assert.equal(a.exitCode, 0);
    assert.match(a.outputTail, /first\nwarn/);
    assert.doesNotMatch(a.outputTail, /second|ECOCHECK/);
    assert.equal(b.exitCode, 3);
    assert.match(b.outputTail, /^second\n\d+$/);
    assert.equal(classifyFailure(b, 'build').status, 'build-failed');
    // Arguments reach the command as given: quotes, newlines, no expansion.
    assert.equal(c.exitCode, 0);
    assert.equal(c.outputTail, `it's|two\nlines|$HOME|*|`);
    const text = readFileSync(logFile, 'utf8');
    assert.doesNotMatch(text, /ECOCHECK-SESSION/, 'the end lines are taken out of the log');
    assert.match(text, /\$ sh -c 'echo first[^\n]*\n# sandbox: [^\n]*\n(# [^\n]*\n)?first\nwarn\n\[exit code 0 after/);
    assert.match(text, /second\n\d+\n\[exit code 3 after/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('what a command leaves running is killed before the next command starts', { skip }, async () => {
  const { root, log, request } = setup();
  try {
    const session = createSandboxSession(request);
    const a = await session.run(['sh', '-c', 'sleep 300 & setsid sleep 301 & echo started'], 10_000);
    assert.equal(a.exitCode, 0);
    const b = await session.run(['sh', '-c', 'for p in /proc/[0-9]*; do cat $p/cmdline 2>/dev/null | tr "\\0" " "; echo; done'], 10_000);
    await session.close();
    log.close();
    assert.equal(b.exitCode, 0);
    assert.doesNotMatch(b.outputTail, /sleep 30[01]/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a command not found is exit code 127 with its evidence; a shell builtin is not run as one', { skip }, async () => {
  const { root, log, request } = setup();
  try {
    const session = createSandboxSession(request);
    const a = await session.run(['no-such-command-here', 'x'], 10_000);
    const b = await session.run(['cd', '/'], 10_000);
    const c = await session.run(['true'], 10_000);
    await session.close();
    log.close();
    assert.equal(a.exitCode, 127);
    assert.ok(
      a.evidence.some((e) => e.startsWith('command not found: no-such-command-here')),
      a.evidence.join('; '),
    );
    assert.equal(b.exitCode, 127, 'execvp finds no `cd` program');
    assert.equal(c.exitCode, 0, 'the session goes on after a failed command when asked to');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an end line with another nonce is output; a timeout ends the command and the session', { skip }, async () => {
  const { root, log, request } = setup();
  try {
    const session = createSandboxSession(request);
    const a = await session.run(['sh', '-c', `printf '\\036ECOCHECK-SESSION-00 0\\n'; echo after`], 10_000);
    assert.equal(a.exitCode, 0);
    assert.match(a.outputTail, /ECOCHECK-SESSION-00 0\nafter/);
    const t0 = performance.now();
    const b = await session.run(['sleep', '60'], 500);
    assert.ok(performance.now() - t0 < 15_000);
    assert.equal(b.timedOut, true);
    assert.equal(classifyFailure(b, 'build').status, 'timeout');
    await session.close();
    log.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a command's environment is the one a launch of its own gives it: nothing of the driver's shell added", { skip }, async () => {
  const { root, log, request } = setup();
  try {
    const session = createSandboxSession(request);
    const inSession = await session.run(['env'], 10_000);
    const withNul = await session.run(['printf', 'a\0b'], 10_000);
    await session.close();
    const alone = await runProcess({ ...request, argv: ['env'], timeoutMs: 10_000 });
    log.close();
    const vars = (out: string) =>
      out
        .split('\n')
        .filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l))
        .sort();
    assert.equal(inSession.exitCode, 0);
    assert.deepEqual(vars(inSession.outputTail), vars(alone.outputTail));
    // bubblewrap sets PWD to the directory it starts the command in; the driver's shell passes it on as is.
    assert.ok(vars(inSession.outputTail).includes(`PWD=${request.cwd}`));
    assert.equal(withNul.exitCode, null);
    assert.equal(classifyFailure(withNul, 'build').status, 'internal-error');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
