/**
 * The opam builder on the shell fixture ecosystem: jobs are made by hand from the fixture's packages
 * (closures written out in the tests) and built for real with sh and make into a temp store.
 *
 * The model under test is opam's: every job builds in one switch at SWITCH_PREFIX, composed of the
 * empty switch and its closure's layers; what it adds or changes is its own layer, `storeDir/<key>`,
 * holding files relative to the switch prefix (overlayfs whiteouts for removed ones).
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
  accessSync,
  constants,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOpamBuilder, OPAM_BUILDER_VERSION, type OpamBuilderOptions } from '../../src/builder/opam-builder.js';
import { sandboxAvailable } from '../../src/builder/process-runner.js';
import { bubblewrap } from '../../src/builder/bubblewrap.js';
import { SYSTEM_PATH } from '../../src/builder/build-environment.js';
import { EMPTY_SWITCH_DIRS, SANDBOX_HOME, SWITCH_PREFIX, switchBuildDir } from '../../src/builder/switch-layout.js';
import { buildOwner, sandboxIds } from '../../src/builder/build-user.js';
import type { Builder, BuildOutcome } from '../../src/builder/builder.js';
import type { Job } from '../../src/plan/job.js';
import type { Command, OpamPackage } from '../../src/opam/package-model.js';
import {
  ecosystemFixture,
  instantiateEcosystem,
  loadEcosystem,
  readEcosystemPackage,
  type EcosystemCopy,
} from '../support/fixture-ecosystem.js';
import { skipWithout } from '../support/missing-setup.js';

const PLATFORM = { os: 'linux', arch: 'x86_64', 'os-family': 'debian', 'os-distribution': 'debian' };

let eco: EcosystemCopy;
let work: string;

before(() => {
  eco = instantiateEcosystem();
  work = mkdtempSync(join(tmpdir(), 'ecocheck-builder-test-'));
});

after(() => {
  eco.dispose();
  // Builds may leave read-only files in their layers (layers keep the modes builds give them).
  execFileSync('chmod', ['-R', 'u+w', work]);
  rmSync(work, { recursive: true, force: true });
});

function options(name: string, overrides: Partial<OpamBuilderOptions> = {}): OpamBuilderOptions {
  const dir = join(work, name);
  return {
    storeDir: join(dir, 'store'),
    buildRoot: join(dir, 'build'),
    downloadCache: join(dir, 'cache'),
    logDir: join(dir, 'logs'),
    cores: 2,
    platformVariables: PLATFORM,
    sandboxMode: 'host',
    timeoutMs: 60_000,
    memoryBytes: 2 * 1024 ** 3,
    localSourceRoots: [eco.root],
    ...overrides,
  };
}

/** Jobs made by hand: key over the package content and dependency keys, closure in build order. */
class Stack {
  readonly jobs = new Map<string, Job>();
  /** The layer of each job built ok (what the builder returned as its `prefix`). */
  readonly layers = new Map<string, string>();
  constructor(
    readonly builder: Builder,
    readonly root = eco.root,
  ) {}

  job(pkgOrId: string | OpamPackage, deps: Job[] = []): Job {
    const pkg = typeof pkgOrId === 'string' ? readEcosystemPackage(this.root, pkgOrId) : pkgOrId;
    const closure: string[] = [];
    for (const d of deps) for (const k of [...d.closure, d.key]) if (!closure.includes(k)) closure.push(k);
    const key = createHash('sha256')
      .update(
        JSON.stringify([
          pkg.contentHash,
          pkg.name,
          pkg.version,
          JSON.stringify(pkg.build),
          JSON.stringify(pkg.install),
          deps.map((d) => d.key),
        ]),
      )
      .digest('hex');
    const job: Job = { key, id: `${pkg.name}.${pkg.version}`, package: pkg, dependencies: deps.map((d) => d.key), closure };
    this.jobs.set(key, job);
    return job;
  }

  async build(job: Job, signal: AbortSignal = new AbortController().signal): Promise<BuildOutcome> {
    const closure = job.closure.map((k) => {
      const layer = this.layers.get(k);
      assert.ok(layer, `dependency ${this.jobs.get(k)?.id} of ${job.id} was not built`);
      return { job: this.jobs.get(k)!, layer };
    });
    const outcome = await this.builder.build(job, closure, signal);
    if (outcome.status === 'ok' && outcome.prefix) this.layers.set(job.key, outcome.prefix);
    return outcome;
  }

  async ok(job: Job): Promise<BuildOutcome> {
    const outcome = await this.build(job);
    assert.equal(outcome.status, 'ok', `${job.id}: ${outcome.reason}\n${outcome.logTail}`);
    return outcome;
  }

  /** The compiler, `ocaml` and (optionally) stdext for compiler `version`, built. */
  async compiler(version: string): Promise<{ obc: Job; ocaml: Job }> {
    const obc = this.job(`ocaml-base-compiler.${version}`);
    const ocaml = this.job(`ocaml.${version}`, [obc]);
    await this.ok(obc);
    await this.ok(ocaml);
    return { obc, ocaml };
  }
}

/** `sh -c SCRIPT` as an opam command (the script is interpolated like any string argument). */
function sh(script: string): Command {
  return { args: ['sh', '-c', script].map((value) => ({ kind: 'string' as const, value })) };
}

/** A variant of fixture package `id` with its own commands and no extra-files. */
function variant(id: string, tag: string, commands: { build?: Command[]; install?: Command[] }): OpamPackage {
  const pkg = readEcosystemPackage(eco.root, id);
  pkg.extraFiles = [];
  pkg.build = commands.build ?? [];
  pkg.install = commands.install ?? [];
  pkg.contentHash = `${tag}-variant`;
  return pkg;
}

/**
 * Everything of a tree that a write could change: each entry's type, mode, size, mtime and content
 * (a file's sha256, a link's target, a device's numbers), in a stable order.
 */
function treeSnapshot(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    const p = rel === '' ? root : join(root, rel);
    const st = lstatSync(p);
    const kind = st.isDirectory()
      ? 'dir'
      : st.isSymbolicLink()
        ? 'link'
        : st.isCharacterDevice()
          ? 'chardev'
          : st.isFile()
            ? 'file'
            : 'other';
    const content =
      kind === 'file'
        ? createHash('sha256').update(readFileSync(p)).digest('hex')
        : kind === 'link'
          ? readlinkSync(p)
          : kind === 'chardev'
            ? `rdev=${st.rdev}`
            : '';
    out.push(
      `${kind} ${rel || '.'} mode=${(st.mode & 0o7777).toString(8)} size=${kind === 'dir' ? '-' : st.size} mtime=${st.mtimeMs} ${content}`,
    );
    if (kind === 'dir') for (const e of readdirSync(p).sort()) visit(rel === '' ? e : join(rel, e));
  };
  visit('');
  return out;
}

/** An overlayfs whiteout: a character device 0/0 recording that a lower layer's file was removed. */
function isWhiteout(path: string): boolean {
  const st = lstatSync(path, { throwIfNoEntry: false });
  return st !== undefined && st.isCharacterDevice() && st.rdev === 0;
}

/** Every file (not directory) of a tree, relative to it. */
function filesOf(root: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const e of readdirSync(rel === '' ? root : join(root, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : join(rel, e.name);
      if (e.isDirectory()) visit(r);
      else out.push(r);
    }
  };
  visit('');
  return out.sort();
}

/** `KEY=VALUE` lines (as the probes and installer's env.txt write them) as a record. */
function keyValues(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('the fixture ecosystem loads cleanly: 16 package versions, no errors or warnings, the placeholder replaced', () => {
  const load = loadEcosystem(eco.root);
  assert.deepEqual(load.errors, []);
  assert.deepEqual(load.warnings, []);
  assert.deepEqual(load.lint, []);
  let n = 0;
  for (const list of load.packages.values()) n += list.length;
  assert.equal(n, 16);
  const compilers = [...load.packages.values()].flat().filter((p) => p.flags.includes('compiler'));
  assert.deepEqual(compilers.map((p) => `${p.name}.${p.version}`).sort(), ['ocaml-base-compiler.1.0', 'ocaml-base-compiler.2.0']);
  assert.equal(readEcosystemPackage(eco.root, 'stdext.1.0').url?.src, `file://${eco.root}/distfiles/stdext-1.0.tar.gz`);
  assert.ok(
    readFileSync(join(ecosystemFixture, 'packages', 'stdext', 'stdext.1.0', 'opam'), 'utf8').includes('@ECOSYSTEM@'),
    'the fixture itself is untouched',
  );
});

function read(path: string): string {
  return readFileSync(path, 'utf8');
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('compiler 1.0 stack', () => {
  let stack: Stack;
  let obc: Job;
  let ocaml: Job;
  let opts: OpamBuilderOptions;

  before(async () => {
    opts = options('stack-1.0');
    stack = new Stack(createOpamBuilder(opts));
    ({ obc, ocaml } = await stack.compiler('1.0'));
  });

  test('the compiler installs into its own layer, with the switch paths baked in (valid in every switch above it)', () => {
    const layer = stack.layers.get(obc.key)!;
    assert.equal(layer, join(opts.storeDir, obc.key));
    // The layer holds the compiler's files relative to the switch prefix, and nothing of the build.
    assert.deepEqual(filesOf(layer), ['bin/compiler', 'lib/ocaml/stdlib.fmo']);
    const compiler = join(layer, 'bin', 'compiler');
    assert.equal(execFileSync(compiler, ['-version'], { encoding: 'utf8' }).trim(), '1.0');
    // What it bakes is the switch's path, never the host path of the layer or of its build.
    assert.equal(execFileSync(compiler, ['-where'], { encoding: 'utf8' }).trim(), `${SWITCH_PREFIX}/lib/ocaml`);
    const script = read(compiler);
    assert.match(script, new RegExp(`^STDLIB="${escapeRegExp(SWITCH_PREFIX)}/lib/ocaml"$`, 'm'));
    assert.match(script, new RegExp(`^SWITCH_LIB="${escapeRegExp(SWITCH_PREFIX)}/lib"$`, 'm'));
    for (const hostPath of [opts.storeDir, opts.buildRoot, work]) assert.ok(!script.includes(hostPath), `no ${hostPath} baked in`);
    // A package above it finds the standard library at that path: ocaml's gen-config.sh checks it.
    // And ocaml's own layer holds only what ocaml added, not a copy of the compiler's files.
    assert.deepEqual(filesOf(stack.layers.get(ocaml.key)!), ['.opam-switch/config/ocaml.config']);
  });

  test('the layer is recorded complete, and a later build cannot modify it', async () => {
    const layer = stack.layers.get(obc.key)!;
    const record = JSON.parse(read(join(opts.storeDir, `${obc.key}.done`)));
    assert.equal(record.id, 'ocaml-base-compiler.1.0');
    assert.equal(record.key, obc.key);
    assert.equal(record.builder, OPAM_BUILDER_VERSION);
    const before = treeSnapshot(layer);
    const compilerBefore = readFileSync(join(layer, 'bin', 'compiler'));

    // A dependent overwrites, deletes and chmods files of the compiler's layer, and adds one.
    const tamper = stack.job(
      variant('legacy-lib.1.0', 'tamper', {
        install: [
          sh('echo tampered > "%{bin}%/compiler" && chmod 600 "%{bin}%/compiler"'),
          sh('rm "%{lib}%/ocaml/stdlib.fmo" && test ! -e "%{lib}%/ocaml/stdlib.fmo"'),
          sh('echo added > "%{bin}%/added"'),
          sh('test "$(cat "%{bin}%/compiler")" = tampered'),
        ],
      }),
      [ocaml],
    );
    const tampered = (await stack.ok(tamper)).prefix!;

    assert.deepEqual(treeSnapshot(layer), before, "the compiler's stored layer is byte-identical");
    assert.deepEqual(readFileSync(join(layer, 'bin', 'compiler')), compilerBefore);
    // The changes landed in the dependent's own layer: a copy-up, a whiteout, a new file.
    assert.equal(read(join(tampered, 'bin', 'compiler')), 'tampered\n');
    assert.equal(mode(join(tampered, 'bin', 'compiler')), 0o600);
    assert.ok(isWhiteout(join(tampered, 'lib', 'ocaml', 'stdlib.fmo')), 'the removal is a whiteout in its layer');
    assert.equal(read(join(tampered, 'bin', 'added')), 'added\n');
    assert.ok(!existsSync(join(layer, 'bin', 'added')));

    // A package built afterwards on the compiler (without the tamperer) sees the compiler intact.
    const legacy = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
    legacy.contentHash = 'after-tamper-variant';
    const after = await stack.ok(stack.job(legacy, [ocaml]));
    assert.match(read(join(after.prefix!, 'lib', 'legacy-lib', 'legacy-lib.fmo')), /^fakeml-object 1\.0\n/);
  });

  test("the empty switch has opam's directories, so installs like `mkdir %{lib}%/x` work", async () => {
    await emptySwitchProbe(stack);
  });

  test("the build's PATH is the switch's bin and the system's, nothing of the invoking process's PATH", async () => {
    const marker = '/tmp/user-bin-marker';
    mkdirSync(marker, { recursive: true });
    writeFileSync(join(marker, 'marker-tool'), '#!/bin/sh\necho leaked\n');
    chmodSync(join(marker, 'marker-tool'), 0o755);
    const saved = process.env.PATH;
    process.env.PATH = `${marker}:${saved ?? ''}`;
    try {
      const probe = stack.job(
        variant('legacy-lib.1.0', 'path-probe', {
          build: [
            sh(
              'echo "PATH=$PATH" > path.txt; if command -v marker-tool; then echo "LEAKED=yes" >> path.txt; else echo "LEAKED=no" >> path.txt; fi',
            ),
          ],
          install: [sh('mkdir "%{doc}%/path-probe" && cp path.txt "%{doc}%/path-probe/"')],
        }),
        [ocaml],
      );
      const outcome = await stack.ok(probe);
      const seen = keyValues(read(join(outcome.prefix!, 'doc', 'path-probe', 'path.txt')));
      assert.equal(seen.PATH, `${SWITCH_PREFIX}/bin:${SYSTEM_PATH}`);
      assert.ok(!seen.PATH.includes(marker));
      assert.equal(seen.LEAKED, 'no', 'a tool of the invoking PATH is not found');
    } finally {
      process.env.PATH = saved;
      rmSync(marker, { recursive: true, force: true });
    }
  });

  test("HOME is the job's private home at the sandbox's home directory, also without the sandbox", async () => {
    const probe = stack.job(
      variant('legacy-lib.1.0', 'home-probe', {
        build: [sh('echo "home=$HOME" > home.txt && touch "$HOME/written" && echo "writable=yes" >> home.txt')],
        install: [sh('mkdir "%{doc}%/home-probe" && cp home.txt "%{doc}%/home-probe/"')],
      }),
      [ocaml],
    );
    const outcome = await stack.ok(probe);
    const seen = keyValues(read(join(outcome.prefix!, 'doc', 'home-probe', 'home.txt')));
    assert.equal(seen.writable, 'yes');
    assert.equal(seen.home, SANDBOX_HOME, "the HOME the builder composes (and mounts the job's home at)");
  });

  test('a NAME.config written by the build is kept in its layer and its variables reach later packages', () => {
    const layer = stack.layers.get(ocaml.key)!;
    const config = read(join(layer, '.opam-switch', 'config', 'ocaml.config'));
    assert.match(config, /compiler-version: "1.0"/);
    assert.match(config, new RegExp(`stdlib-dir: "${escapeRegExp(SWITCH_PREFIX)}/lib/ocaml"`));
  });

  test('a job whose layer is complete is reused without building', async () => {
    const log = join(opts.logDir, readLogName(opts, obc));
    const before = statSync(log).mtimeMs;
    const again = await stack.build(obc);
    assert.equal(again.status, 'ok');
    assert.equal(again.prefix, stack.layers.get(obc.key));
    assert.equal(statSync(log).mtimeMs, before, 'the log was not rewritten');
    assert.ok(again.durationMs < 1000);
  });

  test('a local tarball source is fetched, checked against every checksum, unpacked and cached', async () => {
    const stdext = stack.job('stdext.1.0', [ocaml]);
    const outcome = await stack.ok(stdext);
    const layer = outcome.prefix!;
    assert.match(read(join(layer, 'lib', 'stdext', 'stdext.fmo')), /^fakeml-object 1\.0\n/);
    assert.ok(existsSync(join(layer, 'lib', 'stdext', 'META')));
    assert.ok(existsSync(join(layer, 'doc', 'stdext', 'README')));
    const sha = stdext.package.url!.checksums.find((c) => c.algorithm === 'sha256')!.hex;
    const md5 = stdext.package.url!.checksums.find((c) => c.algorithm === 'md5')!.hex;
    assert.ok(existsSync(join(opts.downloadCache, 'sha256', sha.slice(0, 2), sha)));
    assert.ok(existsSync(join(opts.downloadCache, 'md5', md5.slice(0, 2), md5)));
    assert.match(read(outcome.logPath!), /source: fetching file:\/\/.*stdext-1\.0\.tar\.gz/);
  });

  test('a checksum mismatch is fetch-failed and leaves no layer', async () => {
    const job = stack.job('bad-checksum.1.0', [ocaml]);
    const outcome = await stack.build(job);
    assert.equal(outcome.status, 'fetch-failed');
    assert.match(outcome.reason, /checksum mismatch .*stdext-1\.0\.tar\.gz: expected sha256=0000/);
    assert.ok(!outcome.reason.includes('\n'));
    assert.equal(outcome.prefix, null);
    assert.ok(!existsSync(join(opts.storeDir, job.key)));
    assert.ok(!existsSync(join(opts.storeDir, `${job.key}.done`)));
  });

  test('a package using a construct removed in 2.0 builds with 1.0', async () => {
    const outcome = await stack.ok(stack.job('legacy-lib.1.0', [ocaml]));
    assert.ok(existsSync(join(outcome.prefix!, 'lib', 'legacy-lib', 'legacy-lib.fmo')));
    assert.match(read(outcome.logPath!), /Warning: old_syntax is deprecated/);
  });

  test("a dependency chain builds, finding each library in the switch's %{lib}% (opam sets no OCAMLPATH), and its executable runs", async () => {
    const stdext = stack.job('stdext.1.0', [ocaml]);
    await stack.ok(stdext); // reused
    const a = stack.job('chain-a.1.0', [ocaml, stdext]);
    const b = stack.job('chain-b.1.0', [ocaml, a]);
    const c = stack.job('chain-c.1.0', [ocaml, b]);
    const outA = await stack.ok(a);
    const outB = await stack.ok(b);
    const outcome = await stack.ok(c);
    // Each layer holds its own package's files only; the libraries below came from the switch.
    assert.deepEqual(filesOf(outA.prefix!), ['lib/chain-a/chain-a.fmo']);
    assert.deepEqual(filesOf(outB.prefix!), ['lib/chain-b/chain-b.fmo']);
    assert.deepEqual(filesOf(outcome.prefix!), ['bin/chain-c']);
    const exe = join(outcome.prefix!, 'bin', 'chain-c');
    assert.equal(mode(exe), 0o755, 'installed 755 from bin:, and the layer keeps the mode');
    assert.equal(execFileSync(exe, { encoding: 'utf8' }), 'chain-c works\n');
  });

  test('a missing library is a build failure naming the command and the first error line', async () => {
    // chain-b without chain-a in its closure: chain-a's layer (built above) is not in its switch.
    const b = stack.job('chain-b.1.0', [ocaml]);
    const outcome = await stack.build(b);
    assert.equal(outcome.status, 'build-failed');
    assert.equal(outcome.exitCode, 2);
    assert.match(outcome.reason, /build failed: exit code 2 at `compiler -o chain-b\.fmo chain_b\.fml`: .*Error: unbound library chain-a/);
    // The outcome carries the first error as data (the report's clusters read it), the same as the reason's.
    assert.ok(outcome.firstError !== null && /Error: unbound library chain-a/.test(outcome.firstError), String(outcome.firstError));
    assert.ok(outcome.reason.endsWith(`: ${outcome.firstError}`), `${outcome.reason} / ${outcome.firstError}`);
    assert.deepEqual(outcome.missingSystemPackages, []);
    // The log says it too, for people reading it.
    const note = /^# first error: (.*)$/m.exec(outcome.logTail);
    assert.ok(note !== null, outcome.logTail);
    assert.equal(note[1], outcome.firstError);
  });

  test('depopts: filtered commands and arguments, and the setenv of an optional dependency', async () => {
    const without = await stack.ok(stack.job('depopt-user.1.0', [ocaml]));
    assert.equal(
      read(join(without.prefix!, 'share', 'depopt-user', 'configuration.txt')),
      'args: feature=disable --without-feature\nmode: none\n',
    );
    assert.doesNotMatch(read(without.logPath!), /feature-was-present/);

    const feature = stack.job('optional-feature.1.0', [ocaml]);
    await stack.ok(feature);
    const withIt = await stack.ok(stack.job('depopt-user.1.0', [ocaml, feature]));
    assert.equal(
      read(join(withIt.prefix!, 'share', 'depopt-user', 'configuration.txt')),
      'args: feature=enable --with-feature\nmode: fancy from optional-feature 1.0\n',
    );
    assert.match(read(withIt.logPath!), /\$ touch feature-was-present/);
  });

  test('patches from files/: the unconditional one applies, the one filtered on ocaml:version >= 2.0 does not', async () => {
    const outcome = await stack.ok(stack.job('patched.1.0', [ocaml]));
    assert.equal(read(join(outcome.prefix!, 'doc', 'patched', 'version.txt')), 'patched 1.0\n');
    assert.match(read(join(outcome.prefix!, 'lib', 'patched', 'patched.fmo')), /old_syntax 1/);
    const log = read(outcome.logPath!);
    assert.match(log, /applying patch version-file\.patch/);
    assert.doesNotMatch(log, /applying patch port-to-2\.0\.patch/);
  });

  describe('installer (substs, build-env, filters, every .install section)', () => {
    let layer: string;
    let outcome: BuildOutcome;
    before(async () => {
      outcome = await stack.ok(stack.job('installer.1.0', [ocaml]));
      layer = outcome.prefix!;
    });

    test('.install sections land in their directories of the layer, with modes, renames and optional files', () => {
      const expected: [string, number][] = [
        ['bin/installer-tool', 0o755],
        ['sbin/installer-daemon', 0o755],
        ['lib/installer/installer.fmo', 0o644],
        ['lib/installer/META', 0o644],
        ['lib/installer/sub/renamed.fmo', 0o644],
        ['lib/installer-root.txt', 0o644],
        ['lib/installer/installer-helper', 0o755],
        ['lib/installer-root-helper', 0o755],
        ['lib/toplevel/installer_top.txt', 0o644],
        ['share/installer/installer.conf', 0o644],
        ['share/installer-shared.txt', 0o644],
        ['etc/installer/installer.rc', 0o644],
        ['doc/installer/args.txt', 0o644],
        ['lib/stublibs/dllinstaller.so', 0o755],
        ['man/man1/installer.1', 0o644],
        ['man/man5/installer.conf.5', 0o644],
      ];
      for (const [rel, m] of expected) {
        const p = join(layer, rel);
        assert.ok(existsSync(p), `${rel} installed`);
        assert.equal(mode(p), m, `${rel} mode`);
      }
      assert.ok(!existsSync(join(layer, 'bin', 'absent-tool')));
      assert.ok(!existsSync(join(layer, 'lib', 'installer', 'absent.fmo')));
      assert.ok(!existsSync('/etc/installer-should-never-be-written.rc'));
      assert.ok(!existsSync(join(layer, 'etc', 'installer-should-never-be-written.rc')));
      assert.match(read(outcome.logPath!), /misc installer\.rc -> \/etc\/installer-should-never-be-written\.rc skipped/);
      assert.equal(execFileSync(join(layer, 'bin', 'installer-tool'), { encoding: 'utf8' }), 'installer-tool 1.0\n');
      // Nothing of the build directory or of the switch's scratch state becomes part of the layer.
      for (const scratch of ['.opam-switch/build', '.opam-switch/sources', '.opam-switch/backup']) {
        assert.ok(!existsSync(join(layer, scratch)), `${scratch} is not in the layer`);
      }
    });

    test('substs expand package, global, dependency and undefined variables, paths in the switch', () => {
      assert.equal(
        read(join(layer, 'share', 'installer', 'installer.conf')),
        [
          'name=installer',
          'version=1.0',
          `prefix=${SWITCH_PREFIX}`,
          `own-lib=${SWITCH_PREFIX}/lib/installer`,
          'compiler=1.0',
          'native=false',
          'jobs=2',
          'os=linux',
          'undefined=[]',
          'enable=disable',
          '',
        ].join('\n'),
      );
    });

    test('command and argument filters: false and undefined drop, identifiers expand', () => {
      assert.equal(read(join(layer, 'doc', 'installer', 'args.txt')), '[always]\n[only-linux]\n[[]]\n[make]\n');
      assert.ok(existsSync(join(layer, 'doc', 'installer', 'marker-linux')));
      assert.ok(!existsSync(join(layer, 'doc', 'installer', 'marker-never')));
      assert.ok(!existsSync(join(layer, 'doc', 'installer', 'marker-undefined')));
    });

    test("the environment: opam's for the switch (build-env, the closure's setenv, the switch's bin and man), nothing more", () => {
      const env = keyValues(read(join(layer, 'doc', 'installer', 'env.txt')));
      assert.equal(env.INSTALLER_GREETING, 'hello from build-env');
      assert.equal(env.OPTIONAL_FEATURE_MODE, '<unset>', 'optional-feature is not in the closure');
      assert.equal(env.FAKEML_STDLIB, `${SWITCH_PREFIX}/lib/ocaml`, "ocaml's setenv, expanded with its own .config");
      assert.equal(env.FAKEML_COMPILER_PREFIX, SWITCH_PREFIX, "the compiler's setenv: its prefix is the switch's");
      assert.equal(env.OCAMLTOP_INCLUDE_PATH, `${SWITCH_PREFIX}/lib/toplevel`, "ocaml's setenv += %{toplevel}%, onto nothing");
      assert.equal(env.OPAM_PACKAGE_NAME, 'installer');
      assert.equal(env.OPAM_PACKAGE_VERSION, '1.0');
      assert.equal(env.OPAM_SWITCH_PREFIX, SWITCH_PREFIX);
      assert.equal(env.MAKEFLAGS, '');
      assert.equal(env.PATH, `${SWITCH_PREFIX}/bin:${SYSTEM_PATH}`);
      assert.equal(env.MANPATH, `:${SWITCH_PREFIX}/man`, 'MANPATH =: keeps the system manpath');
      // opam 2.1 sets none of these (findlib.conf in the switch does ocamlfind's job), and no
      // package of this closure sets them in its setenv.
      for (const v of ['OCAMLPATH', 'OCAMLFIND_DESTDIR', 'CAML_LD_LIBRARY_PATH', 'PKG_CONFIG_PATH']) {
        assert.equal(env[v], '<unset>', `${v} is not set`);
      }
    });

    test('the log holds each command, its output and exit code, the switch, the sandbox and the steps', () => {
      const log = read(outcome.logPath!);
      assert.match(
        log,
        new RegExp(`^# ecocheck ${escapeRegExp(OPAM_BUILDER_VERSION)}: building installer\\.1\\.0 \\(job [0-9a-f]{64}\\)\\n`),
      );
      assert.match(log, /# started .*; closure: ocaml-base-compiler\.1\.0 ocaml\.1\.0\n/);
      assert.match(log, new RegExp(`# switch: ${escapeRegExp(SWITCH_PREFIX)}, 3 layers \\(the empty switch and the closure\\)\\n`));
      assert.match(log, /## fetch\nno url: building in an empty directory/);
      assert.match(log, /subst installer\.conf\.in -> installer\.conf \(undefined: fixture-undefined-variable\)/);
      assert.match(log, /\$ sh build\.sh {4}# cwd: \S+\n/);
      assert.match(
        log,
        new RegExp(
          `# sandbox: ${escapeRegExp(bubblewrap.identity)}, network allowed, host filesystem, writable: .*${escapeRegExp(switchBuildDir('installer.1.0'))}`,
        ),
      );
      assert.match(log, /\[exit code 0 after [\d.]+ m?s\]/);
      assert.match(log, /install: bin installer-tool -> bin\/installer-tool/);
      assert.match(log, /# ok \(\d+ ms\)\n$/);
      assert.ok(outcome.logTail.length > 0 && outcome.logTail.split('\n').length <= 40);
    });
  });

  test('an .install naming a file never built is install-failed, and the layer is removed', async () => {
    const job = stack.job('broken-install.1.0', [ocaml]);
    const outcome = await stack.build(job);
    assert.equal(outcome.status, 'install-failed');
    assert.match(outcome.reason, /broken-install\.install: cannot install broken-install\.cmxa to lib\/broken-install \(missing\)/);
    assert.ok(!existsSync(join(opts.storeDir, job.key)));
    assert.ok(!existsSync(join(opts.storeDir, `${job.key}.done`)));
  });

  test('a failing install: command is install-failed with its exit code and error line', async () => {
    const pkg = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
    pkg.install = [
      {
        args: [
          { kind: 'string', value: 'sh' },
          { kind: 'string', value: '-c' },
          { kind: 'string', value: 'echo "cannot write here" >&2; exit 3' },
        ],
      },
    ];
    pkg.contentHash = 'install-failure-variant';
    const job = stack.job(pkg, [ocaml]);
    const outcome = await stack.build(job);
    assert.equal(outcome.status, 'install-failed');
    assert.equal(outcome.exitCode, 3);
    assert.match(outcome.reason, /install failed: exit code 3 at `sh -c .*`: cannot write here/);
    assert.ok(!existsSync(join(opts.storeDir, job.key)));
  });

  test('an extra-file with a wrong checksum is a build failure of the package', async () => {
    const pkg = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
    pkg.extraFiles = [{ name: 'legacy.fml', checksum: { algorithm: 'sha256', hex: 'ab'.repeat(32) } }];
    pkg.contentHash = 'bad-extra-file-variant';
    const outcome = await stack.build(stack.job(pkg, [ocaml]));
    assert.equal(outcome.status, 'build-failed');
    assert.match(outcome.reason, /bad hash for extra-file legacy\.fml \(expected sha256=abab/);
  });

  test('a patch that does not apply is build-failed', async () => {
    const pkg = readEcosystemPackage(eco.root, 'patched.1.0');
    pkg.patches = [{ value: 'version-file.patch' }, { value: 'version-file.patch' }];
    pkg.contentHash = 'patch-twice-variant';
    const outcome = await stack.build(stack.job(pkg, [ocaml]));
    assert.equal(outcome.status, 'build-failed');
    assert.match(outcome.reason, /patch version-file\.patch did not apply \(exit 1\): Hunk #1 FAILED/);
  });
});

/**
 * Builds a package with no dependencies (so its switch is the empty switch alone) that checks every
 * directory of opam's empty switch is there and writable, through the variables naming them, and
 * installs with `mkdir` (no -p) into %{lib}%, %{share}%, %{doc}%, %{man}%/man1, %{stublibs}%.
 */
async function emptySwitchProbe(stack: Stack): Promise<void> {
  const dirs = EMPTY_SWITCH_DIRS.filter((d) => !d.startsWith('.opam-switch/build'));
  const checks = dirs
    .map((d) => `test -d "${SWITCH_PREFIX}/${d}" -a -w "${SWITCH_PREFIX}/${d}" || { echo "missing or read-only: ${d}" >&2; exit 1; }`)
    .join('\n');
  const vars: [string, string][] = [
    ['bin', 'bin'],
    ['sbin', 'sbin'],
    ['lib', 'lib'],
    ['stublibs', 'lib/stublibs'],
    ['toplevel', 'lib/toplevel'],
    ['share', 'share'],
    ['doc', 'doc'],
    ['etc', 'etc'],
    ['man', 'man'],
  ];
  const varChecks = vars
    .map(([v, d]) => `test "%{${v}}%" = "${SWITCH_PREFIX}/${d}" -a -d "%{${v}}%" || { echo "%{${v}}% is not ${d}" >&2; exit 1; }`)
    .join('\n');
  const probe = stack.job(
    variant('legacy-lib.1.0', 'empty-switch', {
      build: [sh(checks), sh(varChecks), sh('echo probe > probe.txt')],
      install: [
        ['mkdir', '%{lib}%/probe'],
        ['cp', 'probe.txt', '%{lib}%/probe/'],
        ['mkdir', '%{share}%/probe'],
        ['mkdir', '%{doc}%/probe'],
        ['cp', 'probe.txt', '%{man}%/man1/probe.1'],
        ['cp', 'probe.txt', '%{stublibs}%/dllprobe.so'],
        ['cp', 'probe.txt', '%{toplevel}%/probe.top'],
      ].map((argv) => ({ args: argv.map((value) => ({ kind: 'string' as const, value })) })),
    }),
  );
  assert.deepEqual(probe.closure, []);
  const outcome = await stack.ok(probe);
  const layer = outcome.prefix!;
  assert.equal(read(join(layer, 'lib', 'probe', 'probe.txt')), 'probe\n');
  assert.ok(statSync(join(layer, 'share', 'probe')).isDirectory());
  assert.ok(statSync(join(layer, 'doc', 'probe')).isDirectory());
  assert.equal(read(join(layer, 'man', 'man1', 'probe.1')), 'probe\n');
  assert.equal(read(join(layer, 'lib', 'stublibs', 'dllprobe.so')), 'probe\n');
  assert.equal(read(join(layer, 'lib', 'toplevel', 'probe.top')), 'probe\n');
  // The empty switch's directories are the bottom layer, not part of the job's: nothing untouched here.
  for (const d of ['sbin', 'etc', 'man/man5']) assert.ok(!existsSync(join(layer, d)), `${d} is not in the probe's layer`);
}

describe('compiler 2.0 stack', () => {
  let stack: Stack;
  let ocaml: Job;

  before(async () => {
    stack = new Stack(createOpamBuilder(options('stack-2.0')));
    ({ ocaml } = await stack.compiler('2.0'));
  });

  test('a removed construct fails the build with the compiler error as reason', async () => {
    const outcome = await stack.build(stack.job('legacy-lib.1.0', [ocaml]));
    assert.equal(outcome.status, 'build-failed');
    assert.equal(outcome.exitCode, 2);
    assert.match(
      outcome.reason,
      /at `compiler -o legacy-lib\.fmo legacy\.fml`: File "legacy\.fml", line 2: Error: old_syntax was removed in fakeml 2\.0/,
    );
    assert.match(read(outcome.logPath!), /\[exit code 2 after/);
  });

  test('the bottom of the chain fails on the new keyword', async () => {
    const stdext = stack.job('stdext.1.0', [ocaml]);
    await stack.ok(stdext);
    const outcome = await stack.build(stack.job('chain-a.1.0', [ocaml, stdext]));
    assert.equal(outcome.status, 'build-failed');
    assert.match(outcome.reason, /Error: effect is a keyword since fakeml 2\.0/);
    assert.doesNotMatch(read(outcome.logPath!), /unbound library stdext/, 'stdext was found in the switch');
  });

  test('the filtered patch ports the package to 2.0', async () => {
    const outcome = await stack.ok(stack.job('patched.1.0', [ocaml]));
    assert.doesNotMatch(read(join(outcome.prefix!, 'lib', 'patched', 'patched.fmo')), /old_syntax/);
    assert.match(read(outcome.logPath!), /applying patch port-to-2\.0\.patch/);
  });

  test('a package requiring the new compiler builds', async () => {
    await stack.ok(stack.job('needs-new.1.0', [ocaml]));
  });
});

describe('limits and interruption', () => {
  test('a build exceeding the job timeout is timeout, and its layer removed', async () => {
    const opts = options('timeout', { timeoutMs: 400 });
    const stack = new Stack(createOpamBuilder(opts));
    const pkg = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
    pkg.extraFiles = [];
    pkg.build = [
      {
        args: [
          { kind: 'string', value: 'sleep' },
          { kind: 'string', value: '5' },
        ],
      },
    ];
    const job = stack.job(pkg);
    const outcome = await stack.build(job);
    assert.equal(outcome.status, 'timeout');
    assert.ok(outcome.durationMs < 4000);
    assert.ok(!existsSync(join(opts.storeDir, job.key)));
    assert.ok(!existsSync(join(opts.storeDir, `${job.key}.done`)));
  });

  test('aborting a build kills it, removes the layer and the build directory', async () => {
    const opts = options('abort');
    const stack = new Stack(createOpamBuilder(opts));
    const pkg = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
    pkg.extraFiles = [];
    pkg.build = [
      {
        args: [
          { kind: 'string', value: 'sleep' },
          { kind: 'string', value: '30' },
        ],
      },
    ];
    const job = stack.job(pkg);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const outcome = await stack.build(job, controller.signal);
    assert.equal(outcome.status, 'internal-error');
    assert.match(outcome.reason, /aborted/);
    assert.ok(outcome.durationMs < 5000);
    assert.ok(!existsSync(join(opts.storeDir, job.key)));
    assert.deepEqual(readdirOrEmpty(opts.buildRoot), []);
  });

  test('a dependency whose layer is gone is an internal error naming it', async () => {
    const opts = options('missing-dep');
    const stack = new Stack(createOpamBuilder(opts));
    const obc = stack.job('ocaml-base-compiler.1.0');
    const gone = join(opts.storeDir, obc.key);
    stack.layers.set(obc.key, gone);
    const ocaml = stack.job('ocaml.1.0', [obc]);
    const outcome = await stack.build(ocaml);
    assert.equal(outcome.status, 'internal-error');
    assert.match(outcome.reason, new RegExp(`^the layer of dependency ocaml-base-compiler\\.1\\.0 is missing \\(${escapeRegExp(gone)}\\)`));
    assert.equal(outcome.prefix, null);
    assert.ok(!existsSync(join(opts.storeDir, ocaml.key)));
    assert.ok(!existsSync(join(opts.storeDir, `${ocaml.key}.done`)));
  });

  test('each attempt gets a fresh build directory, removed afterwards', async () => {
    const opts = options('fresh');
    const stack = new Stack(createOpamBuilder(opts));
    const pkg = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
    pkg.extraFiles = [];
    // Fails if anything from an earlier attempt is still there, then leaves a file behind.
    pkg.build = [
      { args: ['sh', '-c', 'test ! -e leftover && touch leftover && pwd && exit 1'].map((value) => ({ kind: 'string' as const, value })) },
    ];
    const job = stack.job(pkg);
    for (let i = 0; i < 2; i++) {
      const outcome = await stack.build(job);
      assert.equal(outcome.status, 'build-failed');
      assert.match(outcome.reason, /exit code 1/);
    }
    assert.deepEqual(readdirOrEmpty(opts.buildRoot), []);
  });

  test('a build leaving read-only directories behind is still cleaned up', async () => {
    const opts = options('read-only-leftovers');
    const stack = new Stack(createOpamBuilder(opts));
    const pkg = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
    pkg.extraFiles = [];
    pkg.build = [
      { args: ['sh', '-c', 'mkdir -p ro/deep && touch ro/deep/f && chmod -R a-w ro'].map((value) => ({ kind: 'string' as const, value })) },
    ];
    pkg.install = [];
    const outcome = await stack.build(stack.job(pkg));
    assert.equal(outcome.status, 'ok', outcome.reason);
    assert.deepEqual(readdirOrEmpty(opts.buildRoot), []);
  });
});

function readdirOrEmpty(dir: string): string[] {
  try {
    return require_readdir(dir);
  } catch {
    return [];
  }
}

function require_readdir(dir: string): string[] {
  accessSync(dir, constants.R_OK);
  return execFileSync('ls', ['-A', dir], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

function readLogName(opts: OpamBuilderOptions, job: Job): string {
  return execFileSync('ls', [opts.logDir], { encoding: 'utf8' })
    .split('\n')
    .find((f) => f.startsWith(`${job.id}-`) && f.includes(job.key.slice(0, 16)))!;
}

describe('sandbox', () => {
  const available = sandboxAvailable();
  const skip = skipWithout('bubblewrap', available.ok ? false : available.message);
  let stack: Stack;
  let opts: OpamBuilderOptions;
  let ocaml: Job;
  let obc: Job;

  before(async () => {
    if (skip) return;
    opts = options('sandbox', { sandboxMode: 'confined' });
    stack = new Stack(createOpamBuilder(opts));
    ({ obc, ocaml } = await stack.compiler('1.0'));
  });

  test('packages build in the sandbox, as the unprivileged user', { skip }, async () => {
    const outcome = await stack.ok(stack.job('installer.1.0', [ocaml]));
    assert.match(read(join(outcome.prefix!, 'doc', 'installer', 'env.txt')), /INSTALLER_GREETING=hello from build-env/);
    assert.match(
      read(outcome.logPath!),
      new RegExp(
        `# sandbox: ${escapeRegExp(bubblewrap.identity)}, no network, system directories read-only, as opam \\(uid ${sandboxIds().uid}\\)`,
      ),
    );
  });

  test("the empty switch has opam's directories, writable by the build's user", { skip }, async () => {
    await emptySwitchProbe(stack);
  });

  test(
    "a build sees its whole closure's files at the switch prefix, and nothing else's, as the build user in its build directory",
    { skip },
    async () => {
      const stdext = stack.job('stdext.1.0', [ocaml]);
      const stdextOutcome = await stack.ok(stdext);
      // Its tarball (file://) was unpacked in a sandbox of the system directories, its fetch scratch, the
      // download cache and the source's folder, not the whole host; as the build user when ecocheck is root.
      const fetchLines = read(stdextOutcome.logPath!)
        .split('\n')
        .filter((l) => l.startsWith(`# sandbox: ${bubblewrap.identity}, network allowed`));
      assert.ok(fetchLines.length > 0, 'the unpacking ran in the sandbox');
      const as = buildOwner() ? `, as opam \\(uid ${sandboxIds().uid}\\)` : '';
      for (const l of fetchLines)
        assert.match(
          l,
          new RegExp(
            `^# sandbox: ${escapeRegExp(bubblewrap.identity)}, network allowed, system directories read-only${as}, writable: \\S+/fetch, HOME=\\S+/fetch/\\.ecocheck-home$`,
          ),
        );
      // Built in this store but not in the probe's closure: its layer must not be in the probe's switch.
      await stack.ok(stack.job('legacy-lib.1.0', [ocaml]));
      const files = [
        'bin/compiler',
        'lib/ocaml/stdlib.fmo',
        '.opam-switch/config/ocaml.config',
        'lib/stdext/stdext.fmo',
        'lib/stdext/META',
        'doc/stdext/README',
      ];
      const script = [
        'set -e',
        '{',
        '  echo "uid=$(id -u)"',
        '  echo "user=$(id -un)"',
        '  echo "pwd=$(pwd)"',
        '  echo "home=$HOME"',
        '  if touch "$HOME/.opam/probe" 2>/dev/null; then echo "opam-root=writable"; else echo "opam-root=read-only"; fi',
        ...files.map((f) => `  if [ -f "${SWITCH_PREFIX}/${f}" ]; then echo "${f}=present"; else echo "${f}=absent"; fi`),
        `  if [ -e "${SWITCH_PREFIX}/lib/legacy-lib" ]; then echo "legacy-lib=present"; else echo "legacy-lib=absent"; fi`,
        `  echo "compiler-where=$(compiler -where)"`,
        `  echo "store-visible=$(if [ -e "${opts.storeDir}" ]; then echo yes; else echo no; fi)"`,
        '} > closure.txt',
      ].join('\n');
      const probe = stack.job(
        variant('legacy-lib.1.0', 'closure-probe', {
          build: [sh(script)],
          install: [sh('mkdir "%{doc}%/closure-probe" && cp closure.txt "%{doc}%/closure-probe/"')],
        }),
        [ocaml, stdext],
      );
      const outcome = await stack.ok(probe);
      const seen = keyValues(read(join(outcome.prefix!, 'doc', 'closure-probe', 'closure.txt')));
      // As root, the build user's own host uid (the file it wrote is its own on the host); else uid 1000 of a user namespace.
      assert.equal(seen.uid, String(sandboxIds().uid));
      assert.notEqual(seen.uid, '0', 'not root');
      assert.equal(statSync(join(outcome.prefix!, 'doc', 'closure-probe', 'closure.txt')).uid, buildOwner()?.uid ?? process.getuid!());
      assert.equal(seen.user, 'opam');
      assert.equal(seen.pwd, switchBuildDir('legacy-lib.1.0'));
      assert.equal(seen.home, SANDBOX_HOME);
      assert.equal(seen['opam-root'], 'writable', "the opam root in HOME is the build user's");
      for (const f of files) assert.equal(seen[f], 'present', `${f} of the closure is in the switch`);
      assert.equal(seen['legacy-lib'], 'absent', 'a layer outside the closure is not in the switch');
      assert.equal(seen['compiler-where'], `${SWITCH_PREFIX}/lib/ocaml`);
      assert.equal(seen['store-visible'], 'no', 'the host store is not visible in the sandbox');
    },
  );

  test(
    "a git+file:// source of someone else's repository is cloned as the build user (git's safe.directory), its files the build user's",
    { skip },
    async () => {
      // A repository owned by root (the test runs as root on CI), not by the build user that clones it;
      // inside the ecosystem's repository folder, where local sources are allowed (plan/local-source-policy.ts).
      const repo = mkdtempSync(join(eco.root, 'git-source-'));
      try {
        chmodSync(repo, 0o755);
        const git = (...args: string[]) =>
          execFileSync('git', ['-c', 'user.email=t@example.org', '-c', 'user.name=t', ...args], { cwd: repo, encoding: 'utf8' });
        git('init', '-q');
        writeFileSync(join(repo, 'hello.txt'), 'hello from git\n');
        git('add', 'hello.txt');
        git('commit', '-q', '-m', 'first');
        git('tag', 'v1');
        const pkg = variant('legacy-lib.1.0', 'from-git', {
          build: [sh('cat hello.txt > out.txt')],
          install: [sh('mkdir -p "%{doc}%/from-git" && cp out.txt "%{doc}%/from-git/out.txt"')],
        });
        pkg.url = { src: `git+file://${repo}#v1`, checksums: [], mirrors: [] };
        const outcome = await stack.ok(stack.job(pkg, [ocaml]));
        const out = join(outcome.prefix!, 'doc', 'from-git', 'out.txt');
        assert.equal(read(out), 'hello from git\n');
        assert.equal(statSync(out).uid, buildOwner()?.uid ?? process.getuid!());
      } finally {
        rmSync(repo, { recursive: true, force: true });
      }
    },
  );

  test(
    "writes to the switch land in the job's own layer, the dependency's stored layer untouched; writes elsewhere are denied",
    { skip },
    async () => {
      const obcLayer = stack.layers.get(obc.key)!;
      const before = treeSnapshot(obcLayer);
      const hostTarget = join(obcLayer, 'bin', 'intruder');
      // The stored layer's own host path (not even visible) and the system directories.
      const denied = [hostTarget, '/usr/intruder', '/etc/intruder', '/opt/intruder'];
      const script = [
        `echo tampered > "${SWITCH_PREFIX}/lib/ocaml/stdlib.fmo"`,
        `touch "${SWITCH_PREFIX}/bin/intruder"`,
        ...denied.map((t) => `if touch "${t}" 2>/dev/null; then echo "WROTE ${t}"; exit 1; else echo "denied ${t}"; fi`),
      ].join('\n');
      const pkg = variant('legacy-lib.1.0', 'intruder', { build: [sh(script)] });
      const outcome = await stack.ok(stack.job(pkg, [ocaml]));
      const layer = outcome.prefix!;
      assert.deepEqual(treeSnapshot(obcLayer), before, "the compiler's stored layer is byte-identical");
      assert.ok(!existsSync(hostTarget));
      assert.equal(read(join(layer, 'lib', 'ocaml', 'stdlib.fmo')), 'tampered\n', 'the write is a copy-up into its own layer');
      assert.ok(existsSync(join(layer, 'bin', 'intruder')));
      const log = read(outcome.logPath!);
      for (const t of denied) {
        assert.match(log, new RegExp(`denied ${escapeRegExp(t)}\\n`));
        assert.ok(!existsSync(t), `${t} not written on the host`);
      }
    },
  );

  test('a build cannot write anywhere but the switch, its build directory, HOME and /tmp', { skip }, async () => {
    // Paths outside everything the sandbox binds: the root itself, a new top-level directory (as a
    // host path like /work would be), the system directories. (The host store is not visible at
    // all; the test above tries its path. A path under /tmp is the job's private /tmp.)
    const denied = ['/intruder', '/work-intruder/x', '/usr/intruder', '/etc/intruder', '/opt/intruder'];
    const allowed = [
      `${SWITCH_PREFIX}/share/allowed`,
      `${switchBuildDir('legacy-lib.1.0')}/allowed`,
      `${SANDBOX_HOME}/allowed`,
      '/tmp/allowed',
    ];
    const script = [
      ...denied.map(
        (t) =>
          `if mkdir -p "$(dirname "${t}")" 2>/dev/null && touch "${t}" 2>/dev/null; then echo "WROTE ${t}"; else echo "denied ${t}"; fi`,
      ),
      ...allowed.map((t) => `touch "${t}" && echo "allowed ${t}"`),
    ].join('\n');
    const outcome = await stack.ok(stack.job(variant('legacy-lib.1.0', 'write-outside', { build: [sh(script)] }), [ocaml]));
    const log = read(outcome.logPath!);
    for (const t of allowed) assert.match(log, new RegExp(`^allowed ${escapeRegExp(t)}$`, 'm'));
    for (const t of denied) {
      assert.match(log, new RegExp(`^denied ${escapeRegExp(t)}$`, 'm'), `${t} is not writable in the sandbox`);
      assert.ok(!existsSync(t), `${t} not written on the host`);
    }
  });

  test('a build has no network', { skip }, async () => {
    const server = createServer((_req, res) => res.end('reachable\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const pkg = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
      pkg.extraFiles = [];
      pkg.build = [
        { args: ['curl', '-sS', '--max-time', '5', `http://127.0.0.1:${port}/`].map((value) => ({ kind: 'string' as const, value })) },
      ];
      const outcome = await stack.build(stack.job(pkg, [ocaml]));
      assert.equal(outcome.status, 'build-failed');
      assert.match(outcome.reason, /curl/);
    } finally {
      server.close();
    }
  });
});
