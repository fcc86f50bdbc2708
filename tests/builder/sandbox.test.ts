import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess, sandboxAvailable, type ProcessRequest } from '../../src/builder/process-runner.js';
import { classifyFailure } from '../../src/builder/failure-evidence.js';
import { describeProcessLimit } from '../../src/builder/resource-limits.js';
import { processesWith } from '../support/processes.js';
import { sandboxIds } from '../../src/builder/build-user.js';
import { prepareSwitchMount, removeSwitchMount, switchMountSupport } from '../../src/builder/switch-mount.js';
import { completeLayer } from '../../src/builder/layer-store.js';
import { bubblewrap } from '../../src/builder/bubblewrap.js';
import { skipWithout } from '../support/missing-setup.js';

const available = sandboxAvailable();
const skip = skipWithout('bubblewrap', available.ok ? false : `bubblewrap unavailable: ${available.message}`);
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
  const l = {
    root,
    build: join(root, 'build'),
    prefix: join(root, 'prefix'),
    outside: join(root, 'outside'),
    home: join(root, 'outside', 'home'),
  };
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
      assert.ok(
        r.evidence.some((e) => /Network is unreachable/.test(e)),
        JSON.stringify(r.evidence),
      );
      const build = classifyFailure(r, 'build');
      assert.equal(build.status, 'build-failed');
      assert.match(
        build.reason,
        /after trying to access the network, which the build sandbox denies: output says: .*Network is unreachable/,
      );
      assert.equal(classifyFailure(r, 'fetch').status, 'fetch-failed');

      // Control: the same script with network allowed does reach the listener.
      const open = await runProcess(
        hostileRequest(
          l,
          'network.sh',
          { PORT: String(port), MARKER: 'net' },
          {
            timeoutMs: 20_000,
            sandbox: { writable: [l.build, l.prefix], readonly: [HOSTILE], network: true },
          },
        ),
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
const bombSkip =
  skip || skipWithout('process-limit', pidsLimit.startsWith('no process limit') ? `not running a fork bomb: ${pidsLimit}` : false);

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
    assert.ok(
      r.evidence.some((e) => /forks? (was|were) refused at the job's limit of 64 processes/.test(e)),
      JSON.stringify(r.evidence),
    );
    assert.equal(classifyFailure(r, 'build').status, 'timeout');
    assert.deepEqual(processesWith(marker), []);
  } finally {
    clearInterval(sampler);
    rmSync(l.root, { recursive: true, force: true });
  }
});

// When ecocheck is root, builds drop to the build user (build-user.ts); otherwise they run as the
// invoking user in a user namespace (tested as such in tests/e2e/cli/hostile.test.ts).
const asRoot = process.getuid?.() === 0;
const rootSkip = skip || skipWithout('root', asRoot ? false : 'not root: commands run as the invoking user in a user namespace');

/** `key: value` lines of a command's output. */
function fields(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
  );
}

test(
  'as root, a sandboxed command runs as the build user: no capability, no root-only file, what it makes is its own on the host',
  { skip: rootSkip },
  async () => {
    const l = layout();
    // A root-only file, shown read-only at its own path: bwrap (root) binds it, the command may not read it.
    const secretDir = mkdtempSync(join(tmpdir(), 'ecocheck-secret-'));
    const secret = `secret-${process.pid}-${Date.now()}`;
    try {
      writeFileSync(join(secretDir, 'secret'), `${secret}\n`, { mode: 0o600 });
      const { uid, gid } = sandboxIds();
      const r = await runProcess({
        argv: [
          'sh',
          '-c',
          [
            'echo "uid: $(id -u)"; echo "gid: $(id -g)"; echo "groups: $(id -G)"',
            "grep -E '^(Uid|Gid|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/self/status",
            `if cat ${join(secretDir, 'secret')}; then echo "secret: read"; else echo "secret: denied"; fi`,
            'if cat /etc/shadow; then echo "shadow: read"; else echo "shadow: denied"; fi',
            'touch made-here && mkdir made-dir && echo "wrote: yes"',
          ].join('\n'),
        ],
        cwd: l.build,
        env: { PATH },
        logFile: join(l.root, 'logs', 'job.log'),
        sandbox: { writable: [l.build], readonly: [secretDir], network: false },
      });
      assert.equal(r.exitCode, 0, r.outputTail);
      const f = fields(r.outputTail);
      assert.notEqual(uid, 0);
      assert.equal(f.get('uid'), String(uid));
      assert.equal(f.get('gid'), String(gid));
      assert.equal(f.get('groups'), String(gid), "no supplementary group (root's dropped)");
      assert.equal(f.get('Uid'), `${uid}\t${uid}\t${uid}\t${uid}`, 'real, effective, saved and filesystem uid');
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(f.get(set), '0000000000000000', `${set} is empty`);
      assert.equal(f.get('NoNewPrivs'), '1');
      assert.equal(f.get('secret'), 'denied');
      assert.equal(f.get('shadow'), 'denied');
      assert.match(r.outputTail, /Permission denied/);
      assert.equal(f.get('wrote'), 'yes');
      assert.ok(!readFileSync(join(l.root, 'logs', 'job.log'), 'utf8').includes(secret), 'the secret is not in the log');
      // On the host, what it made is the build user's, not root's.
      for (const made of ['made-here', 'made-dir']) {
        assert.equal(lstatSync(join(l.build, made)).uid, uid, made);
        assert.equal(lstatSync(join(l.build, made)).gid, gid, made);
      }
    } finally {
      rmSync(secretDir, { recursive: true, force: true });
      rmSync(l.root, { recursive: true, force: true });
    }
  },
);

test(
  'as root, a setuid-root program in a writable directory gives no privilege; a missing command is exit 127 (setpriv says so)',
  { skip: rootSkip },
  async () => {
    const l = layout();
    try {
      // Made by root on the host, as a build could never make it: owned by root, setuid and setgid.
      for (const name of ['suid-id', 'suid-sh']) {
        copyFileSync(name === 'suid-id' ? '/usr/bin/id' : '/bin/sh', join(l.build, name));
        chownSync(join(l.build, name), 0, 0);
        chmodSync(join(l.build, name), 0o6755);
      }
      const { uid, gid } = sandboxIds();
      const r = await runProcess({
        argv: ['sh', '-c', 'echo "euid: $(./suid-id -u)"; echo "egid: $(./suid-id -g)"; echo "sh-euid: $(./suid-sh -p -c "id -u")"'],
        cwd: l.build,
        env: { PATH },
        logFile: join(l.root, 'job.log'),
        sandbox: { writable: [l.build], readonly: [], network: false },
      });
      assert.equal(r.exitCode, 0, r.outputTail);
      const f = fields(r.outputTail);
      assert.equal(f.get('euid'), String(uid));
      assert.equal(f.get('egid'), String(gid));
      assert.equal(f.get('sh-euid'), String(uid));

      const missing = await runProcess({
        argv: ['no-such-tool-here'],
        cwd: l.build,
        env: { PATH },
        logFile: join(l.root, 'job.log'),
        sandbox: { writable: [l.build], readonly: [], network: false },
      });
      assert.equal(missing.exitCode, 127);
      assert.match(missing.outputTail, /^setpriv: failed to execute no-such-tool-here: No such file or directory$/m);
      assert.ok(
        missing.evidence.some((e) => /^command not found: no-such-tool-here/.test(e)),
        JSON.stringify(missing.evidence),
      );
      assert.equal(classifyFailure(missing, 'build').status, 'build-failed');
    } finally {
      rmSync(l.root, { recursive: true, force: true });
    }
  },
);

const switchSkip = rootSkip || skipWithout('switch-mount', switchMountSupport().ok ? false : 'overlayfs switches cannot be mounted here');

test(
  'in a switch: a setuid-root program of a lower layer gives no privilege (nosuid, no_new_privs), and sealing strips setuid and setgid bits and hands the layer to the build user',
  { skip: switchSkip },
  async () => {
    const l = layout();
    const prefix = '/home/opam/.opam/default';
    const { uid, gid } = sandboxIds();
    try {
      // A lower layer holding a setuid-root copy of id (as an old store's could).
      const lower = join(l.root, 'lower-layer');
      mkdirSync(join(lower, 'bin'), { recursive: true });
      chmodSync(lower, 0o777);
      chmodSync(join(lower, 'bin'), 0o777);
      copyFileSync('/usr/bin/id', join(lower, 'bin', 'suid-id'));
      chmodSync(join(lower, 'bin', 'suid-id'), 0o6755);
      const store = join(l.root, 'store');
      mkdirSync(join(store, '.incoming'), { recursive: true });
      const mount = prepareSwitchMount(join(l.root, 'switch'), [lower], mkdtempSync(join(store, '.incoming', 'job-')), { uid, gid });
      try {
        const r = await runProcess({
          argv: [
            'sh',
            '-c',
            [
              `echo "euid: $(${prefix}/bin/suid-id -u)"`,
              `echo "options: $(awk '$5 == "${prefix}" { print $6 }' /proc/self/mountinfo)"`,
              `cp /bin/sh ${prefix}/bin/my-suid && chmod 4755 ${prefix}/bin/my-suid`,
              `cp /bin/sh ${prefix}/bin/my-sgid && chmod 2755 ${prefix}/bin/my-sgid`,
              `mkdir -p ${prefix}/lib/sgid-dir && chmod 2775 ${prefix}/lib/sgid-dir && touch ${prefix}/lib/sgid-dir/f`,
              `ls -l ${prefix}/bin/my-suid ${prefix}/bin/my-sgid`,
            ].join('\n'),
          ],
          cwd: l.build,
          env: { PATH },
          logFile: join(l.root, 'job.log'),
          sandbox: {
            writable: [],
            readonly: [],
            network: false,
            tmp: join(l.root, 'tmp'),
            mounts: [{ source: mount.mountPoint, target: prefix, writable: true }],
            cwd: prefix,
          },
          wrapperArgv: mount.wrapperArgv,
        });
        assert.equal(r.exitCode, 0, r.outputTail);
        const f = fields(r.outputTail);
        assert.equal(f.get('euid'), String(uid));
        assert.match(f.get('options') ?? '', /(^|,)nosuid(,|$)/);
        assert.match(f.get('options') ?? '', /(^|,)nodev(,|$)/);
        assert.match(r.outputTail, /^-rwsr-xr-x .* \/home\/opam\/\.opam\/default\/bin\/my-suid$/m, 'the bit was set in the switch');
        // A file root writes into the upper (as NAME.install processing does) becomes the build user's too.
        writeFileSync(join(mount.upper, 'from-root'), 'x', { mode: 0o4755 });
        const layer = completeLayer(
          store,
          mount.upper,
          { id: 'probe', key: 'probe-key', builder: 'test', finishedAt: '', durationMs: 0, logPath: null },
          { uid, gid },
        );
        for (const rel of ['bin/my-suid', 'bin/my-sgid', 'lib/sgid-dir', 'lib/sgid-dir/f', 'from-root', 'bin', 'lib', '.']) {
          const st = lstatSync(join(layer, rel));
          assert.equal(st.mode & 0o6000, 0, `${rel} keeps no setuid/setgid bit (mode ${st.mode.toString(8)})`);
          assert.equal(st.uid, uid, `${rel} is the build user's`);
          assert.equal(st.gid, gid, `${rel} is the build group's`);
        }
        assert.equal(lstatSync(join(layer, 'bin/my-suid')).mode & 0o777, 0o755);
        assert.equal(lstatSync(join(layer, 'lib/sgid-dir')).mode & 0o777, 0o775);
      } finally {
        removeSwitchMount(mount);
      }
    } finally {
      rmSync(l.root, { recursive: true, force: true });
    }
  },
);

test("bubblewrap reads its own and setpriv's report of a missing command (with their exit codes), nothing else", () => {
  assert.equal(bubblewrap.commandNotFound('bwrap: execvp foo: No such file or directory\n', 1), 'foo');
  assert.equal(bubblewrap.commandNotFound('x\nsetpriv: failed to execute bar: No such file or directory\n', 127), 'bar');
  // Another exit code: the command ran, and printed that line itself.
  assert.equal(bubblewrap.commandNotFound('bwrap: execvp foo: No such file or directory\n', 2), null);
  assert.equal(bubblewrap.commandNotFound('make: foo: No such file or directory\n', 127), null);
  assert.match(bubblewrap.identity, /^bubblewrap\/\d+\+(?:setpriv|userns)$/);
});
