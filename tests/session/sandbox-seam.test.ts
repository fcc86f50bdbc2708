/**
 * The sandbox seam: a check runs through another `Sandbox` implementation than bubblewrap, given to
 * the session — the scheduler, the opam builder and the process runner ask it (and only it) to detect,
 * wrap and read its own failures, and its identity names the builder of every job key. The stub here
 * runs each command in a private mount namespace (util-linux's unshare and mount, as root: no bwrap),
 * with the spec's mounts bound at their targets; it confines nothing else (no user change, no network
 * or filesystem limit), which is all a test of the seam needs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { instantiateEcosystem } from '../support/fixture-ecosystem.js';
import { runProcess } from '../../src/builder/process-runner.js';
import { switchMountSupport } from '../../src/builder/switch-mount.js';
import { SWITCH_PREFIX } from '../../src/builder/switch-layout.js';
import { sandboxHome, type Sandbox, type SandboxSpec } from '../../src/builder/sandbox.js';
import { OPAM_BUILDER_VERSION } from '../../src/builder/builder-version.js';
import { loadRunResults } from '../../src/store/run-records.js';
import { runCheck } from '../../src/session/check.js';
import { openCommandContext } from '../../src/session/command-context.js';
import { resolveStatePaths } from '../../src/session/state-paths.js';
import { skipWithout } from '../support/missing-setup.js';

const STUB_IDENTITY = 'stub-mount-namespace/1';

/** A single-quoted shell word. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The stub: what it was asked, and a wrap that binds the spec's directory mounts in a private mount namespace. */
function stubSandbox(): Sandbox & { specs: SandboxSpec[]; detected: number } {
  const stub = {
    identity: STUB_IDENTITY,
    specs: [] as SandboxSpec[],
    detected: 0,
    detect() {
      stub.detected++;
      return { ok: true } as const;
    },
    wrap(spec: SandboxSpec, cwd: string, env: Record<string, string>) {
      stub.specs.push(structuredClone(spec));
      for (const w of spec.writable) mkdirSync(w, { recursive: true });
      const lines = ['set -e'];
      const dirs = (spec.mounts ?? []).filter((m) => lstatSync(m.source, { throwIfNoEntry: false })?.isDirectory());
      // The job's HOME and switch live under /home: a private /home, as bubblewrap gives.
      if (dirs.some((m) => m.target.startsWith('/home/'))) lines.push('mount -t tmpfs stub-home /home');
      for (const m of dirs) lines.push(`mkdir -p ${q(m.target)}`, `mount --bind ${q(m.source)} ${q(m.target)}`);
      lines.push(`cd ${q(spec.cwd ?? cwd)}`, 'exec "$@"');
      const home = spec.user?.home ?? env.HOME ?? sandboxHome(spec, cwd);
      return {
        argv: ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', lines.join('\n'), 'stub-sandbox'],
        env: { ...env, HOME: home, ...(spec.tmp !== undefined ? { TMPDIR: spec.tmp } : {}) },
      };
    },
    // dash's words for an exec of a missing command, as `$0` (stub-sandbox) says them.
    commandNotFound(output: string, exitCode: number | null) {
      return exitCode === 127 ? (/^stub-sandbox: \d+: exec: (.*): not found$/m.exec(output)?.[1] ?? null) : null;
    },
  };
  return stub;
}

const mountSupport = switchMountSupport();
const skip =
  skipWithout('root', process.getuid?.() !== 0 ? 'the stub sandbox mounts as root' : false) ||
  skipWithout('switch-mount', mountSupport.ok ? false : mountSupport.message);

test('the process runner wraps through the sandbox it is given, logs its identity and reads its own failures', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-seam-runner-'));
  try {
    const stub = stubSandbox();
    const build = join(dir, 'build');
    mkdirSync(build);
    const spec: SandboxSpec = {
      writable: [build],
      readonly: [],
      network: false,
      mounts: [{ source: build, target: '/home/seam', writable: true }],
      cwd: '/home/seam',
    };
    const logFile = join(dir, 'job.log');
    const ok = await runProcess({
      argv: ['sh', '-c', 'pwd; echo made > here.txt'],
      cwd: build,
      env: { PATH: '/usr/bin:/bin' },
      logFile,
      sandbox: spec,
      sandboxImplementation: stub,
      timeoutMs: 30_000,
    });
    assert.equal(ok.exitCode, 0, ok.outputTail);
    assert.match(ok.outputTail, /^\/home\/seam$/m, "the command ran at the spec's cwd, a mount of the build folder");
    assert.equal(readFileSync(join(build, 'here.txt'), 'utf8'), 'made\n');
    const missing = await runProcess({
      argv: ['no-such-command-anywhere'],
      cwd: build,
      env: { PATH: '/usr/bin:/bin' },
      logFile,
      sandbox: spec,
      sandboxImplementation: stub,
      timeoutMs: 30_000,
    });
    assert.equal(missing.exitCode, 127);
    assert.ok(
      missing.evidence.some((e) => e.startsWith('command not found: no-such-command-anywhere')),
      missing.evidence.join('; '),
    );
    const log = readFileSync(logFile, 'utf8');
    assert.match(
      log,
      new RegExp(`^# sandbox: ${STUB_IDENTITY}, no network, system directories read-only, writable: ${build} /home/seam, HOME=`, 'm'),
    );
    assert.doesNotMatch(log, /bwrap|bubblewrap/);
    assert.equal(stub.specs.length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'a check runs through a stub sandbox: the session and scheduler build the ecosystem with it, bubblewrap never involved',
  { skip },
  async () => {
    const eco = instantiateEcosystem();
    const state = mkdtempSync(join(tmpdir(), 'ecocheck-seam-state-'));
    const stub = stubSandbox();
    const notices: string[] = [];
    const ctx = await openCommandContext({ paths: resolveStatePaths({ stateDir: state }), repositories: [eco.root], database: 'write' });
    const db = ctx.db;
    try {
      const outcome = await runCheck(ctx, {
        plan: { targets: ['chain-c', 'installer', 'broken-install'], compiler: '1.0', env: [], withTest: false },
        settings: {
          archiveMirrors: [],
          jobs: 2,
          maxProcesses: 1024,
          sandboxMode: 'confined',
          sandbox: stub,
          timeoutMs: 120_000,
          memoryBytes: 2 * 1024 ** 3,
          diskBytes: 1024 ** 3,
          inodes: 100_000,
          env: [],
          withTest: false,
        },
        baseline: true,
        against: null,
        retries: 0,
        revdeps: null,
        output: { notice: (l) => notices.push(l), progress: new Writable({ write: (_c, _e, done) => done() }) },
      });
      assert.ok(outcome.run !== null && !outcome.interrupted);
      const results = new Map(loadRunResults(db, outcome.run.id).map((r) => [r.id, r]));
      const statuses = Object.fromEntries([...results].map(([id, r]) => [id, r.status]).sort());
      // As with bubblewrap (the compiler, stdext and the chain built first, through the stub too).
      assert.deepEqual(
        statuses,
        { 'broken-install.1.0': 'install-failed', 'chain-c.1.0': 'ok', 'installer.1.0': 'ok' },
        [...results.values()].map((r) => `${r.id}: ${r.reason}`).join('\n'),
      );
      // The sandbox chosen was asked: detected before the run, its identity in the builder's (every job key's).
      assert.ok(stub.detected > 0);
      assert.equal(outcome.run.options.sandboxMode, 'confined');
      assert.match(outcome.run.options.builderVersion, new RegExp(`^${OPAM_BUILDER_VERSION}\\+${STUB_IDENTITY}\\+confined$`));
      assert.ok(
        notices.some((n) => n.includes(`sandboxed (${STUB_IDENTITY})`)),
        notices.join('\n'),
      );
      // Every command of every job went through it: fetching (the network) and building (the switch at its path).
      assert.ok(
        stub.specs.some((s) => s.network && (s.mounts ?? []).every((m) => m.target !== SWITCH_PREFIX)),
        'a fetch',
      );
      assert.ok(
        stub.specs.some((s) => !s.network && (s.mounts ?? []).some((m) => m.target === SWITCH_PREFIX)),
        'a build command in the switch',
      );
      const logDir = join(state, 'logs');
      assert.ok(existsSync(logDir));
      let commands = 0;
      for (const name of readdirSync(logDir)) {
        const log = readFileSync(join(logDir, name), 'utf8');
        assert.doesNotMatch(log, /bwrap|bubblewrap/, name);
        const starts = log.split('\n').filter((l) => l.startsWith('$ ')).length;
        const wrapped = log.split('\n').filter((l) => l.startsWith(`# sandbox: ${STUB_IDENTITY}, `)).length;
        assert.equal(wrapped, starts, `${name}: every command wrapped by the stub`);
        commands += starts;
      }
      assert.equal(stub.specs.length, commands);
    } finally {
      ctx.close();
      rmSync(state, { recursive: true, force: true });
      eco.dispose();
    }
  },
);
