/**
 * The opam builder on the shell fixture ecosystem: jobs are made by hand from the fixture's packages
 * (closures written out in the tests) and built for real with sh and make into a temp store.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOpamBuilder, type OpamBuilderOptions } from '../src/build/opam-builder.js';
import { sandboxAvailable } from '../src/build/process-runner.js';
import type { Builder, BuildOutcome } from '../src/build/builder.js';
import type { Job } from '../src/plan/job.js';
import type { OpamPackage } from '../src/opam/package-model.js';
import { ecosystemFixture, instantiateEcosystem, loadEcosystem, readEcosystemPackage, type EcosystemCopy } from './support/fixture-ecosystem.js';

const PLATFORM = { os: 'linux', arch: 'x86_64', 'os-family': 'debian', 'os-distribution': 'debian' };

let eco: EcosystemCopy;
let work: string;

before(() => {
  eco = instantiateEcosystem();
  work = mkdtempSync(join(tmpdir(), 'ecocheck-builder-test-'));
});

after(() => {
  eco.dispose();
  // Sealed prefixes are read-only: give write permission back before removing them.
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
    sandbox: false,
    timeoutMs: 60_000,
    memoryBytes: 2 * 1024 ** 3,
    ...overrides,
  };
}

/** Jobs made by hand: key over the package content and dependency keys, closure in build order. */
class Stack {
  readonly jobs = new Map<string, Job>();
  readonly prefixes = new Map<string, string>();
  constructor(
    readonly builder: Builder,
    readonly root = eco.root,
  ) {}

  job(pkgOrId: string | OpamPackage, deps: Job[] = []): Job {
    const pkg = typeof pkgOrId === 'string' ? readEcosystemPackage(this.root, pkgOrId) : pkgOrId;
    const closure: string[] = [];
    for (const d of deps) for (const k of [...d.closure, d.key]) if (!closure.includes(k)) closure.push(k);
    const key = createHash('sha256')
      .update(JSON.stringify([pkg.contentHash, pkg.name, pkg.version, JSON.stringify(pkg.build), JSON.stringify(pkg.install), deps.map((d) => d.key)]))
      .digest('hex');
    const job: Job = { key, id: `${pkg.name}.${pkg.version}`, package: pkg, dependencies: deps.map((d) => d.key), closure };
    this.jobs.set(key, job);
    return job;
  }

  async build(job: Job, signal: AbortSignal = new AbortController().signal): Promise<BuildOutcome> {
    const closure = job.closure.map((k) => {
      const prefix = this.prefixes.get(k);
      assert.ok(prefix, `dependency ${this.jobs.get(k)?.id} of ${job.id} was not built`);
      return { job: this.jobs.get(k)!, layer: prefix };
    });
    const outcome = await this.builder.build(job, closure, signal);
    if (outcome.status === 'ok' && outcome.prefix) this.prefixes.set(job.key, outcome.prefix);
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
  assert.ok(readFileSync(join(ecosystemFixture, 'packages', 'stdext', 'stdext.1.0', 'opam'), 'utf8').includes('@ECOSYSTEM@'), 'the fixture itself is untouched');
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

  test('the compiler installs into its own prefix, with paths baked for its final location', () => {
    const prefix = stack.prefixes.get(obc.key)!;
    assert.equal(prefix, join(opts.storeDir, obc.key));
    const compiler = join(prefix, 'bin', 'compiler');
    assert.equal(execFileSync(compiler, ['-version'], { encoding: 'utf8' }).trim(), '1.0');
    assert.equal(execFileSync(compiler, ['-where'], { encoding: 'utf8' }).trim(), join(prefix, 'lib', 'ocaml'));
    assert.ok(existsSync(join(prefix, 'lib', 'ocaml', 'stdlib.fmo')));
  });

  test('the prefix is sealed read-only and recorded complete', () => {
    const prefix = stack.prefixes.get(obc.key)!;
    assert.equal(mode(join(prefix, 'bin', 'compiler')) & 0o222, 0);
    assert.equal(mode(join(prefix, 'bin')) & 0o222, 0);
    assert.equal(mode(prefix) & 0o222, 0);
    assert.ok(existsSync(join(opts.storeDir, `${obc.key}.done`)));
    if (process.getuid?.() !== 0) {
      assert.throws(() => writeFileSync(join(prefix, 'bin', 'intruder'), 'x'), /EACCES/);
    }
  });

  test('a NAME.config written by the build is kept and its variables reach later packages', () => {
    const prefix = stack.prefixes.get(ocaml.key)!;
    const config = read(join(prefix, '.opam-switch', 'config', 'ocaml.config'));
    assert.match(config, /compiler-version: "1.0"/);
    assert.match(config, new RegExp(`stdlib-dir: "${join(stack.prefixes.get(obc.key)!, 'lib', 'ocaml')}"`));
  });

  test('a job whose prefix is complete is reused without building', async () => {
    const log = join(opts.logDir, readLogName(opts, obc));
    const before = statSync(log).mtimeMs;
    const again = await stack.build(obc);
    assert.equal(again.status, 'ok');
    assert.equal(again.prefix, stack.prefixes.get(obc.key));
    assert.equal(statSync(log).mtimeMs, before, 'the log was not rewritten');
    assert.ok(again.durationMs < 1000);
  });

  test('a local tarball source is fetched, checked against every checksum, unpacked and cached', async () => {
    const stdext = stack.job('stdext.1.0', [ocaml]);
    const outcome = await stack.ok(stdext);
    const prefix = outcome.prefix!;
    assert.match(read(join(prefix, 'lib', 'stdext', 'stdext.fmo')), /^fakeml-object 1\.0\n/);
    assert.ok(existsSync(join(prefix, 'lib', 'stdext', 'META')));
    assert.ok(existsSync(join(prefix, 'doc', 'stdext', 'README')));
    const sha = stdext.package.url!.checksums.find((c) => c.algorithm === 'sha256')!.hex;
    const md5 = stdext.package.url!.checksums.find((c) => c.algorithm === 'md5')!.hex;
    assert.ok(existsSync(join(opts.downloadCache, 'sha256', sha.slice(0, 2), sha)));
    assert.ok(existsSync(join(opts.downloadCache, 'md5', md5.slice(0, 2), md5)));
    assert.match(read(outcome.logPath!), /source: fetching file:\/\/.*stdext-1\.0\.tar\.gz/);
  });

  test('a checksum mismatch is fetch-failed and leaves no prefix', async () => {
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

  test('a dependency chain builds, finding each library through OCAMLPATH, and its executable runs', async () => {
    const stdext = stack.job('stdext.1.0', [ocaml]);
    await stack.ok(stdext); // reused
    const a = stack.job('chain-a.1.0', [ocaml, stdext]);
    const b = stack.job('chain-b.1.0', [ocaml, a]);
    const c = stack.job('chain-c.1.0', [ocaml, b]);
    await stack.ok(a);
    await stack.ok(b);
    const outcome = await stack.ok(c);
    const exe = join(outcome.prefix!, 'bin', 'chain-c');
    assert.equal(mode(exe), 0o555, 'installed 755 from bin:, then sealed');
    assert.equal(execFileSync(exe, { encoding: 'utf8' }), 'chain-c works\n');
  });

  test('a missing library is a build failure naming the command and the first error line', async () => {
    // chain-b without chain-a in its closure.
    const b = stack.job('chain-b.1.0', [ocaml]);
    const outcome = await stack.build(b);
    assert.equal(outcome.status, 'build-failed');
    assert.equal(outcome.exitCode, 2);
    assert.match(outcome.reason, /build failed: exit code 2 at `compiler -o chain-b\.fmo chain_b\.fml`: .*Error: unbound library chain-a/);
  });

  test('depopts: filtered commands and arguments, and the setenv of an optional dependency', async () => {
    const without = await stack.ok(stack.job('depopt-user.1.0', [ocaml]));
    assert.equal(read(join(without.prefix!, 'share', 'depopt-user', 'configuration.txt')), 'args: feature=disable --without-feature\nmode: none\n');
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
    let prefix: string;
    let outcome: BuildOutcome;
    before(async () => {
      outcome = await stack.ok(stack.job('installer.1.0', [ocaml]));
      prefix = outcome.prefix!;
    });

    test('.install sections land in their directories, with modes, renames and optional files', () => {
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
        const p = join(prefix, rel);
        assert.ok(existsSync(p), `${rel} installed`);
        assert.equal(mode(p), m & 0o555, `${rel} mode (sealed)`);
      }
      assert.ok(!existsSync(join(prefix, 'bin', 'absent-tool')));
      assert.ok(!existsSync(join(prefix, 'lib', 'installer', 'absent.fmo')));
      assert.ok(!existsSync('/etc/installer-should-never-be-written.rc'));
      assert.match(read(outcome.logPath!), /misc installer\.rc -> \/etc\/installer-should-never-be-written\.rc skipped/);
      assert.equal(execFileSync(join(prefix, 'bin', 'installer-tool'), { encoding: 'utf8' }), 'installer-tool 1.0\n');
    });

    test('substs expand package, global, dependency and undefined variables', () => {
      assert.equal(
        read(join(prefix, 'share', 'installer', 'installer.conf')),
        [
          'name=installer',
          'version=1.0',
          `prefix=${prefix}`,
          `own-lib=${join(prefix, 'lib', 'installer')}`,
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
      assert.equal(read(join(prefix, 'doc', 'installer', 'args.txt')), '[always]\n[only-linux]\n[[]]\n[make]\n');
      assert.ok(existsSync(join(prefix, 'doc', 'installer', 'marker-linux')));
      assert.ok(!existsSync(join(prefix, 'doc', 'installer', 'marker-never')));
      assert.ok(!existsSync(join(prefix, 'doc', 'installer', 'marker-undefined')));
    });

    test('the environment: build-env, dependency setenv, and every closure prefix, own first', () => {
      const env = Object.fromEntries(
        read(join(prefix, 'doc', 'installer', 'env.txt'))
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      const obcPrefix = stack.prefixes.get(obc.key)!;
      const ocamlPrefix = stack.prefixes.get(ocaml.key)!;
      assert.equal(env.INSTALLER_GREETING, 'hello from build-env');
      assert.equal(env.OPTIONAL_FEATURE_MODE, '<unset>');
      assert.equal(env.FAKEML_STDLIB, join(obcPrefix, 'lib', 'ocaml'), "ocaml's setenv, expanded with its own .config");
      assert.equal(env.FAKEML_COMPILER_PREFIX, obcPrefix);
      assert.equal(env.OCAMLFIND_DESTDIR, join(prefix, 'lib'));
      assert.equal(env.OPAM_PACKAGE_NAME, 'installer');
      assert.equal(env.OPAM_PACKAGE_VERSION, '1.0');
      assert.equal(env.OPAM_SWITCH_PREFIX, prefix);
      assert.equal(env.MAKEFLAGS, '');
      const path = env.PATH.split(':');
      assert.deepEqual(path.slice(0, 2), [join(prefix, 'bin'), join(obcPrefix, 'bin')]);
      assert.ok(path.includes('/usr/bin'));
      assert.deepEqual(env.OCAMLPATH.split(':').slice(0, 2), [join(prefix, 'lib'), join(obcPrefix, 'lib')]);
      assert.equal(env.OCAMLTOP_INCLUDE_PATH.split(':')[0], join(prefix, 'lib', 'toplevel'));
      assert.ok(env.OCAMLTOP_INCLUDE_PATH.split(':').includes(join(ocamlPrefix, 'lib', 'toplevel')), "ocaml's setenv += toplevel");
      assert.equal(env.CAML_LD_LIBRARY_PATH.split(':')[0], join(prefix, 'lib', 'stublibs'));
      assert.equal(env.PKG_CONFIG_PATH.split(':')[0], join(prefix, 'lib', 'pkgconfig'));
      assert.ok(env.MANPATH.startsWith(':'), 'MANPATH =: keeps the system manpath');
    });

    test('the log holds each command, its output and exit code, and the steps', () => {
      const log = read(outcome.logPath!);
      assert.match(log, /^# ecocheck opam-builder\/1: building installer\.1\.0/);
      assert.match(log, /## fetch\nno url: building in an empty directory/);
      assert.match(log, /subst installer\.conf\.in -> installer\.conf \(undefined: fixture-undefined-variable\)/);
      assert.match(log, /\$ sh build\.sh {4}# cwd: .*\/installer\.1\.0\n/);
      assert.match(log, /\[exit code 0 after [\d.]+ m?s\]/);
      assert.match(log, /install: bin installer-tool -> bin\/installer-tool/);
      assert.match(log, /# ok \(\d+ ms\)\n$/);
      assert.ok(outcome.logTail.length > 0 && outcome.logTail.split('\n').length <= 40);
    });
  });

  test('an .install naming a file never built is install-failed, and the prefix is removed', async () => {
    const job = stack.job('broken-install.1.0', [ocaml]);
    const outcome = await stack.build(job);
    assert.equal(outcome.status, 'install-failed');
    assert.match(outcome.reason, /broken-install\.install: cannot install broken-install\.cmxa to lib\/broken-install \(missing\)/);
    assert.ok(!existsSync(join(opts.storeDir, job.key)));
  });

  test('a failing install: command is install-failed with its exit code and error line', async () => {
    const pkg = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
    pkg.install = [{ args: [{ kind: 'string', value: 'sh' }, { kind: 'string', value: '-c' }, { kind: 'string', value: 'echo "cannot write here" >&2; exit 3' }] }];
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
    assert.match(outcome.reason, /at `compiler -o legacy-lib\.fmo legacy\.fml`: File "legacy\.fml", line 2: Error: old_syntax was removed in fakeml 2\.0/);
    assert.match(read(outcome.logPath!), /\[exit code 2 after/);
  });

  test('the bottom of the chain fails on the new keyword', async () => {
    const stdext = stack.job('stdext.1.0', [ocaml]);
    await stack.ok(stdext);
    const outcome = await stack.build(stack.job('chain-a.1.0', [ocaml, stdext]));
    assert.equal(outcome.status, 'build-failed');
    assert.match(outcome.reason, /Error: effect is a keyword since fakeml 2\.0/);
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
  test('a build exceeding the job timeout is timeout, and its prefix removed', async () => {
    const opts = options('timeout', { timeoutMs: 400 });
    const stack = new Stack(createOpamBuilder(opts));
    const pkg = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
    pkg.extraFiles = [];
    pkg.build = [{ args: [{ kind: 'string', value: 'sleep' }, { kind: 'string', value: '5' }] }];
    const job = stack.job(pkg);
    const outcome = await stack.build(job);
    assert.equal(outcome.status, 'timeout');
    assert.ok(outcome.durationMs < 4000);
    assert.ok(!existsSync(join(opts.storeDir, job.key)));
  });

  test('aborting a build kills it, removes the prefix and the build directory', async () => {
    const opts = options('abort');
    const stack = new Stack(createOpamBuilder(opts));
    const pkg = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
    pkg.extraFiles = [];
    pkg.build = [{ args: [{ kind: 'string', value: 'sleep' }, { kind: 'string', value: '30' }] }];
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

  test('a dependency whose prefix is gone is an internal error naming it', async () => {
    const opts = options('missing-dep');
    const stack = new Stack(createOpamBuilder(opts));
    const obc = stack.job('ocaml-base-compiler.1.0');
    stack.prefixes.set(obc.key, join(opts.storeDir, obc.key));
    const outcome = await stack.build(stack.job('ocaml.1.0', [obc]));
    assert.equal(outcome.status, 'internal-error');
    assert.match(outcome.reason, /^the prefix of dependency ocaml-base-compiler\.1\.0 is missing/);
  });

  test('each attempt gets a fresh build directory, removed afterwards', async () => {
    const opts = options('fresh');
    const stack = new Stack(createOpamBuilder(opts));
    const pkg = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
    pkg.extraFiles = [];
    // Fails if anything from an earlier attempt is still there, then leaves a file behind.
    pkg.build = [{ args: ['sh', '-c', 'test ! -e leftover && touch leftover && pwd && exit 1'].map((value) => ({ kind: 'string' as const, value })) }];
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
    pkg.build = [{ args: ['sh', '-c', 'mkdir -p ro/deep && touch ro/deep/f && chmod -R a-w ro'].map((value) => ({ kind: 'string' as const, value })) }];
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
  const skip = available.ok ? false : available.message;
  let stack: Stack;
  let ocaml: Job;
  let obc: Job;

  before(async () => {
    if (skip) return;
    stack = new Stack(createOpamBuilder(options('sandbox', { sandbox: true })));
    ({ obc, ocaml } = await stack.compiler('1.0'));
  });

  test('packages build in the sandbox', { skip }, async () => {
    const outcome = await stack.ok(stack.job('installer.1.0', [ocaml]));
    assert.match(read(join(outcome.prefix!, 'doc', 'installer', 'env.txt')), /INSTALLER_GREETING=hello from build-env/);
    assert.match(read(outcome.logPath!), /bwrap|sandbox/i);
  });

  test('a build cannot write into a dependency prefix, even as root', { skip }, async () => {
    const target = join(stack.prefixes.get(obc.key)!, 'bin', 'intruder');
    const pkg = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
    pkg.extraFiles = [];
    pkg.build = [{ args: ['touch', target].map((value) => ({ kind: 'string' as const, value })) }];
    const outcome = await stack.build(stack.job(pkg, [ocaml]));
    assert.equal(outcome.status, 'build-failed');
    assert.match(outcome.reason, /^build failed: exit code 1 at `touch .*`: .*cannot touch/);
    assert.match(read(outcome.logPath!), /cannot touch .*intruder.*: Read-only file system/);
    assert.ok(!existsSync(target));
  });

  test('a build has no network', { skip }, async () => {
    const server = createServer((_req, res) => res.end('reachable\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const pkg = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
      pkg.extraFiles = [];
      pkg.build = [{ args: ['curl', '-sS', '--max-time', '5', `http://127.0.0.1:${port}/`].map((value) => ({ kind: 'string' as const, value })) }];
      const outcome = await stack.build(stack.job(pkg, [ocaml]));
      assert.equal(outcome.status, 'build-failed');
      assert.match(outcome.reason, /curl/);
    } finally {
      server.close();
    }
  });
});
