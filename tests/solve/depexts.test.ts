/**
 * System packages (depexts) from the host, as opam 2.1 reads them: the solver's pre-filter (a depext with
 * no candidate makes its package unavailable, with a reason naming it; a virtual one with a provider and
 * an installed one do not), the job key's system part, this host's own apt when it is here, and
 * `--depexts` on the command line. The package manager's own parsing and the modes: tests/host/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../support/snapshot.js';
import { compilers, repo } from '../support/solve-packages.js';
import { parseOpamFile } from '../../src/opam/parser.js';
import { packageFromAst } from '../../src/opam/package-from-ast.js';
import type { OpamPackage } from '../../src/opam/package-model.js';
import { createSolver } from '../../src/solve/package-solver.js';
import { DEFAULT_PLATFORM, packageLookup } from '../../src/solve/platform-env.js';
import { hostPackageManager, type SystemPackageManager, type SystemPackageStatus } from '../../src/host/host-packages.js';
import { depextsUnavailable, requiredSystemPackages, systemPackagesKeys } from '../../src/host/depexts.js';
import { buildPlan } from '../../src/plan/build-plan.js';
import { skipWithout } from '../support/missing-setup.js';

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
  return packageFromAst(parseOpamFile(`${lines.join('\n')}\n`, file), {
    name,
    version: id.slice(dot + 1),
    file,
    repository: 'test',
    filesDir: null,
    contentHash: id,
  });
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
  if (!llvm.installable)
    assert.match(
      llvm.reason,
      /^llvm\.3\.4 requires conf-llvm: conf-llvm\.3\.4 needs system packages \(depexts\) that apt has no installation candidate for: llvm-3\.4-dev$/,
    );
  const direct = solver.solve(find('conf-llvm.3.4'));
  assert.equal(
    direct.installable ? '' : direct.reason,
    'conf-llvm.3.4 needs system packages (depexts) that apt has no installation candidate for: llvm-3.4-dev',
  );
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
    {
      target: zarith,
      outcome: {
        installable: true as const,
        solution: { target: zarith, packages: [gmp, zarith], buildDependencies: new Map([['zarith.1', ['conf-gmp.4']]]) },
      },
    },
    {
      target: plain,
      outcome: { installable: true as const, solution: { target: plain, packages: [plain], buildDependencies: new Map() } },
    },
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
  if (gslIsVirtual)
    assert.ok(s.installed.has('libgsl0-dev') || s.available.has('libgsl0-dev'), 'a virtual name with a provider has a candidate');
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
    [
      ...depextsUnavailable(
        [byId('conf-none.1'), byId('conf-dpkg.1')],
        (p) => requiredSystemPackages(p, packageLookup(p, DEFAULT_PLATFORM, null)),
        host,
      ),
    ].map(([p, m]) => [p.name, m]),
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
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [bin, ...args, '--repo', root, '--compiler', '5.3.0'], { encoding: 'utf8' });
    const solved = run('solve', 'user');
    assert.equal(solved.status, 1, solved.stderr);
    assert.equal(
      solved.stdout,
      `user.1 is not installable with ocaml-base-compiler {= "5.3.0"}: user.1 requires conf-none: conf-none.1 needs system packages (depexts) that apt has no installation candidate for: ${NO_SUCH}\n`,
    );
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
