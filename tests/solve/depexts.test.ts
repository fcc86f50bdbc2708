/**
 * System packages (depexts) from the host, as opam 2.1 reads them: the apt/dpkg answers (recorded ones
 * in fixtures/depexts, and this host's own when apt is here), the solver's pre-filter (a depext with no
 * candidate makes its package unavailable, with a reason naming it; a virtual one with a provider and an
 * installed one do not), the job key's system part, and `--depexts` on the command line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../support/snapshot.js';
import { compilers, repo } from '../support/solve-packages.js';
import { parseOpamFile } from '../../src/opam/parser.js';
import { packageFromAst } from '../../src/opam/package-from-ast.js';
import type { OpamPackage } from '../../src/opam/package-model.js';
import { createSolver } from '../../src/solve/package-solver.js';
import { DEFAULT_PLATFORM, packageLookup } from '../../src/solve/platform-env.js';
import { classify, namesRegex, parseAptSearch, parseDpkgInstalled } from '../../src/solve/system/debian.js';
import { hostPackageManager, type SystemPackageManager, type SystemPackageStatus } from '../../src/solve/system/host-packages.js';
import { depextsUnavailable, parseDepextsMode, requiredSystemPackages, resolveDepextsPolicy, systemPackagesKeys } from '../../src/solve/system/depexts.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { SolveError } from '../../src/solve/solve-error.js';
import { describeError } from '../../src/errors/ecocheck-error.js';
import { skipWithout } from '../support/missing-setup.js';

const fixture = (name: string) => readFileSync(join(projectRoot, 'fixtures', 'depexts', name), 'utf8');
const bin = join(projectRoot, 'bin', 'ecocheck');

/** `NAME.VERSION` with `depends` and `depexts` (opam syntax), read through the real parser. */
function pkgWith(id: string, fields: { depends?: string; depexts?: string; available?: string }): OpamPackage {
  const dot = id.indexOf('.');
  const name = id.slice(0, dot);
  const file = `packages/${name}/${id}/opam`;
  const lines = ['opam-version: "2.0"'];
  if (fields.depends !== undefined) lines.push(`depends: [${fields.depends}]`);
  if (fields.depexts !== undefined) lines.push(`depexts: [${fields.depexts}]`);
  if (fields.available !== undefined) lines.push(`available: ${fields.available}`);
  return packageFromAst(parseOpamFile(`${lines.join('\n')}\n`, file), { name, version: id.slice(dot + 1), file, repository: 'test', filesDir: null, contentHash: id });
}

/** A package manager answering from fixed sets (and counting its queries), for the solver's rules. */
class FixedHost implements SystemPackageManager {
  readonly name = 'apt';
  queries = 0;
  constructor(
    private readonly installed: Map<string, string>,
    private readonly available: Set<string>,
  ) {}
  status(names: readonly string[]): SystemPackageStatus {
    this.queries++;
    const s = { installed: new Set<string>(), available: new Set<string>(), notFound: new Set<string>() };
    for (const n of names) (this.installed.has(n) ? s.installed : this.available.has(n) ? s.available : s.notFound).add(n);
    return s;
  }
  installedVersions(names: readonly string[]): ReadonlyMap<string, string | null> {
    this.queries++;
    return new Map(names.map((n) => [n, this.installed.get(n) ?? null]));
  }
  install(names: readonly string[]): void {
    for (const n of names) this.installed.set(n, '1');
  }
}

test('apt-cache search --full: packages and what they provide are available (virtual names included)', () => {
  const r = parseAptSearch(fixture('apt-cache-search.txt'));
  assert.deepEqual([...r.available].sort(), ['libc++-dev', 'libgmp-dev', 'libgmp10-dev', 'libgsl-dev', 'libgsl0-dev', 'libz-dev', 'zlib1g-dev']);
  assert.deepEqual(r.provides.get('libgsl-dev'), ['libgsl0-dev']);
  assert.deepEqual(r.provides.get('zlib1g-dev'), ['libz-dev']);
  assert.equal(r.provides.has('libc++-dev'), false);
  assert.deepEqual(parseAptSearch('Package: apt\nProvides: apt-transport-https (= 2.1.7), apt-utils\n').provides.get('apt'), ['apt-transport-https', 'apt-utils']);
});

test('dpkg-query: only `ii` packages are installed, with their version; name:arch is the name', () => {
  const installed = parseDpkgInstalled(fixture('dpkg-query.txt'));
  assert.deepEqual(Object.fromEntries(installed), { libc6: '2.36-9+deb12u14', 'libgmp-dev': '2:6.2.1+dfsg1-1.1', 'zlib1g-dev': '1:1.2.13.dfsg-1' });
  assert.deepEqual(Object.fromEntries(parseDpkgInstalled('rc \told\t1.0\nii \tlibfoo:amd64\t2.0\nii \tlibfoo:i386\t2.0\nun \tgone\t\n')), { libfoo: '2.0' });
});

test('classify: installed, provided by an installed package, available (a virtual name too), not found', () => {
  const search = parseAptSearch(fixture('apt-cache-search.txt'));
  const installed = parseDpkgInstalled(fixture('dpkg-query.txt'));
  const k = classify(['libgmp-dev', 'libgmp10-dev', 'libgsl0-dev', 'libgsl-dev', 'python2.7', 'libc++-dev'], search, installed);
  assert.deepEqual(Object.fromEntries([...k].map(([n, v]) => [n, `${v.status} ${v.version ?? '-'}`])), {
    'libgmp-dev': 'installed 2:6.2.1+dfsg1-1.1',
    'libgmp10-dev': 'installed via libgmp-dev=2:6.2.1+dfsg1-1.1',
    'libgsl0-dev': 'available -',
    'libgsl-dev': 'available -',
    'python2.7': 'notFound -',
    'libc++-dev': 'available -',
  });
  assert.equal(namesRegex(['libc++-dev', 'python2.7', 'z3']), '^(libc\\+\\+-dev|python2\\.7|z3)$');
});

test('the solver drops an available package whose depexts have no candidate, names them, and asks the host once per universe encoded', () => {
  const host = new FixedHost(new Map([['libgmp-dev', '2:6.2.1']]), new Set(['libgsl0-dev']));
  const load = repo(
    ...compilers('5.3.0'),
    pkgWith('conf-llvm.3.4', { depexts: '["llvm-3.4-dev"] {os-family = "debian"} ["llvm34"] {os-distribution = "alpine"}' }),
    pkgWith('llvm.3.4', { depends: '"ocaml" "conf-llvm"' }),
    pkgWith('conf-gsl.1', { depexts: '["libgsl0-dev"] {os-family = "debian"}' }),
    pkgWith('conf-gmp.4', { depexts: '["libgmp-dev"] {os-family = "debian"}' }),
    pkgWith('alpine-only.1', { depexts: '["no-such-apk"] {os-distribution = "alpine"}' }),
    // Unavailable on the platform anyway: its own reason stays.
    pkgWith('macos-only.1', { available: 'os = "macos"', depexts: '["no-such-deb"] {os-family = "debian"}' }),
  );
  const find = (id: string) => [...load.packages.values()].flat().find((p) => `${p.name}.${p.version}` === id) as OpamPackage;
  const solver = createSolver(load, { compiler: '5.3.0', systemPackages: host });
  assert.equal(host.queries, 0, 'nothing asked before a query');
  const llvm = solver.solve(find('llvm.3.4'));
  // One query per universe encoded, for its packages: here the cone of llvm (a one-package solve
  // does not ask about the whole repository).
  assert.equal(host.queries, 1, 'one query for the depexts of the cone');
  assert.equal(llvm.installable, false);
  if (!llvm.installable) assert.match(llvm.reason, /^llvm\.3\.4 requires conf-llvm: conf-llvm\.3\.4 needs system packages \(depexts\) that apt has no installation candidate for: llvm-3\.4-dev$/);
  const direct = solver.solve(find('conf-llvm.3.4'));
  assert.equal(direct.installable ? '' : direct.reason, 'conf-llvm.3.4 needs system packages (depexts) that apt has no installation candidate for: llvm-3.4-dev');
  assert.equal(solver.isInstallable(find('conf-gsl.1')), true, 'a virtual depext with a provider is available');
  assert.equal(host.queries, 2, 'the whole repository, once encoded, asks about the packages not asked yet');
  assert.equal(solver.isInstallable(find('conf-gmp.4')), true, 'an installed depext');
  assert.equal(solver.isInstallable(find('alpine-only.1')), true, 'depexts filtered out on this platform');
  const mac = solver.solve(find('macos-only.1'));
  assert.match(mac.installable ? '' : mac.reason, /not available \(available: os = "macos"\)/);
  // Without the host (ignore mode), the same repository keeps them.
  const portable = createSolver(load, { compiler: '5.3.0' });
  assert.equal(portable.isInstallable(find('llvm.3.4')), true);
  // opam admin check never asks the host.
  assert.equal(createSolver(load, { compiler: '', adminCheck: true, systemPackages: host }).isInstallable(find('conf-llvm.3.4')), true);
});

test('job keys: installing a depext changes the key of the job naming it and of its dependents only', () => {
  const host = new FixedHost(new Map(), new Set(['libgmp-dev']));
  const gmp = pkgWith('conf-gmp.4', { depexts: '["libgmp-dev"] {os-family = "debian"}' });
  const zarith = pkgWith('zarith.1', { depends: '"conf-gmp"' });
  const plain = pkgWith('plain.1', {});
  const depextsOf = (p: OpamPackage) => requiredSystemPackages(p, packageLookup(p, DEFAULT_PLATFORM, null));
  const outcomes = [
    { target: zarith, outcome: { installable: true as const, solution: { target: zarith, packages: [gmp, zarith], buildDependencies: new Map([['zarith.1', ['conf-gmp.4']]]) } } },
    { target: plain, outcome: { installable: true as const, solution: { target: plain, packages: [plain], buildDependencies: new Map() } } },
  ];
  const keys = () => {
    const systemPackages = systemPackagesKeys([gmp, zarith, plain], depextsOf, host);
    const plan = buildPlan(outcomes, { builderVersion: 't', platform: { ...DEFAULT_PLATFORM }, systemPackages });
    return Object.fromEntries([...plan.jobs.values()].map((j) => [j.id, j.key]));
  };
  const withoutHost = Object.fromEntries(
    [...buildPlan(outcomes, { builderVersion: 't', platform: { ...DEFAULT_PLATFORM } }).jobs.values()].map((j) => [j.id, j.key]),
  );
  const before = keys();
  assert.equal(systemPackagesKeys([gmp], depextsOf, host)(gmp), 'libgmp-dev=none');
  assert.equal(before['plain.1'], withoutHost['plain.1'], 'a package without depexts keeps its key');
  assert.notEqual(before['conf-gmp.4'], withoutHost['conf-gmp.4']);
  host.install(['libgmp-dev']);
  const after = keys();
  assert.notEqual(after['conf-gmp.4'], before['conf-gmp.4']);
  assert.notEqual(after['zarith.1'], before['zarith.1']);
  assert.equal(after['plain.1'], before['plain.1']);
  assert.deepEqual(keys(), after, 'the same host, the same keys');
});

test('--depexts: the modes, and host or install without a known package manager is a SolveError', () => {
  assert.equal(parseDepextsMode(undefined), undefined);
  assert.equal(parseDepextsMode('install'), 'install');
  assert.throws(() => parseDepextsMode('yes'), (e: unknown) => e instanceof SolveError && /^depexts "yes": expected one of host, install, ignore$/.test(describeError(e)));
  assert.deepEqual(resolveDepextsPolicy(undefined, { ...DEFAULT_PLATFORM, 'os-family': 'haiku' }), { mode: 'ignore', manager: null });
  assert.deepEqual(resolveDepextsPolicy('ignore', DEFAULT_PLATFORM), { mode: 'ignore', manager: null });
  assert.throws(() => resolveDepextsPolicy('host', { ...DEFAULT_PLATFORM, 'os-family': 'haiku' }), (e: unknown) => e instanceof SolveError && e.kind === 'environment' && /^depexts host: no known package manager for os-family "haiku"/.test(describeError(e)));
});

// ---- This host's apt and dpkg (Debian family only) ----

const apt = hostPackageManager(DEFAULT_PLATFORM);
const noApt = skipWithout('apt', apt === null ? 'apt-cache / dpkg-query are not on this host' : false);

/** A name no Debian archive has. */
const NO_SUCH = 'ecocheck-no-such-package-zz9';

test('the host: an installed package, a virtual one with a provider, one with no candidate', { skip: noApt }, () => {
  const host = apt as SystemPackageManager;
  // dpkg is installed on every Debian system. libgsl0-dev is only a name libgsl-dev provides (bookworm).
  // `apt-cache showpkg` of a purely virtual name: no versions, and its providers under Reverse Provides.
  const showpkg = spawnSync('apt-cache', ['showpkg', 'libgsl0-dev'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).stdout;
  const gslIsVirtual = /^Versions: \n\n/m.test(showpkg) && /^Reverse Provides: \n\S+/m.test(showpkg);
  const s = host.status(['dpkg', 'libgsl0-dev', NO_SUCH]);
  assert.ok(s.installed.has('dpkg'));
  assert.ok(s.notFound.has(NO_SUCH));
  if (gslIsVirtual) assert.ok(s.installed.has('libgsl0-dev') || s.available.has('libgsl0-dev'), 'a virtual name with a provider has a candidate');
  const versions = host.installedVersions(['dpkg', NO_SUCH]);
  assert.match(versions.get('dpkg') ?? '', /^\d/);
  assert.equal(versions.get(NO_SUCH), null);
  // A real repository, through the solver: the package without a candidate only.
  const load = repo(
    ...compilers('5.3.0'),
    pkgWith('conf-none.1', { depexts: `["${NO_SUCH}"] {os-family = "debian"}` }),
    pkgWith('conf-dpkg.1', { depexts: '["dpkg"] {os-family = "debian"}' }),
    pkgWith('conf-gsl.1', { depexts: '["libgsl0-dev"] {os-family = "debian"}' }),
  );
  const solver = createSolver(load, { compiler: '5.3.0', systemPackages: host });
  const byId = (id: string) => [...load.packages.values()].flat().find((p) => `${p.name}.${p.version}` === id) as OpamPackage;
  assert.equal(solver.isInstallable(byId('conf-none.1')), false);
  assert.equal(solver.isInstallable(byId('conf-dpkg.1')), true);
  if (gslIsVirtual) assert.equal(solver.isInstallable(byId('conf-gsl.1')), true);
  assert.deepEqual(
    [...depextsUnavailable([byId('conf-none.1'), byId('conf-dpkg.1')], (p) => requiredSystemPackages(p, packageLookup(p, DEFAULT_PLATFORM, null)), host)].map(([p, m]) => [p.name, m]),
    [['conf-none', [NO_SUCH]]],
  );
});

test('the CLI: solve and installable say which depexts have no candidate; ignore keeps the package', { skip: noApt }, () => {
  const root = mkdtempSync(join(tmpdir(), 'ecocheck-depexts-cli-'));
  try {
    writeFileSync(join(root, 'repo'), 'opam-version: "2.0"\n');
    const add = (id: string, body: string) => {
      const name = id.slice(0, id.indexOf('.'));
      mkdirSync(join(root, 'packages', name, id), { recursive: true });
      writeFileSync(join(root, 'packages', name, id, 'opam'), `opam-version: "2.0"\n${body}`);
    };
    add('ocaml-base-compiler.5.3.0', 'flags: compiler\nconflict-class: "ocaml-core-compiler"\n');
    add('ocaml.5.3.0', 'depends: ["ocaml-base-compiler" {= "5.3.0"}]\n');
    add('conf-none.1', `depends: ["ocaml"]\ndepexts: [["${NO_SUCH}"] {os-family = "debian"}]\n`);
    add('user.1', 'depends: ["ocaml" "conf-none"]\n');
    const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args, '--repo', root, '--compiler', '5.3.0'], { encoding: 'utf8' });
    const solved = run('solve', 'user');
    assert.equal(solved.status, 1, solved.stderr);
    assert.equal(solved.stdout, `user.1 is not installable with ocaml-base-compiler {= "5.3.0"}: user.1 requires conf-none: conf-none.1 needs system packages (depexts) that apt has no installation candidate for: ${NO_SUCH}\n`);
    assert.equal(run('solve', 'user', '--depexts', 'ignore').status, 0);
    const all = JSON.parse(run('installable', '--all-versions', '--json').stdout) as { installable: number; uninstallable: number };
    assert.deepEqual([all.installable, all.uninstallable], [2, 2]);
    const bad = run('installable', '--depexts', 'maybe');
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, 'ecocheck: --depexts "maybe": expected one of host, install, ignore\n');
    const plan = run('plan', 'user', '--depexts', 'host');
    assert.match(plan.stdout, /^targets: 0 installable, 1 not installable$/m);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
