/**
 * `--depexts install` with a real, tiny Debian package (libutfcpp-dev: 12 kB of headers, no
 * dependencies): a package needing it fails for the missing system package, is cached so; with
 * `install` the package is installed (and said so), and only the package naming it and its dependent
 * rebuild; nothing else. The package is removed at the end, so the test can run again. Skipped where
 * apt is absent, where installing needs a password, or where the package is already installed (the
 * test does not remove what it did not install).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../support/snapshot.js';
import { instantiateEcosystem } from '../../support/fixture-ecosystem.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';
import { DEFAULT_PLATFORM } from '../../../src/solve/platform-env.js';
import { hostPackageManager } from '../../../src/host/host-packages.js';
import { skipWithout } from '../../support/missing-setup.js';

const DEB = 'libutfcpp-dev';
const HEADER = '/usr/include/utf8cpp/utf8.h';
const bin = join(projectRoot, 'bin', 'ecocheck');
const sandboxArgs = sandboxAvailable().ok ? [] : ['--no-sandbox'];

const asRoot = process.getuid?.() === 0;
const apt = (...args: string[]) =>
  spawnSync(asRoot ? 'apt-get' : 'sudo', [...(asRoot ? [] : ['-n', 'apt-get']), '-o', 'DPkg::Lock::Timeout=300', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });

function whyNot(): string | false {
  const host = hostPackageManager(DEFAULT_PLATFORM);
  if (host === null) return skipWithout('apt', 'apt-cache / dpkg-query are not on this host');
  if (!asRoot && spawnSync('sudo', ['-n', 'true']).status !== 0)
    return skipWithout('root', 'installing a Debian package needs root or password-less sudo');
  const s = host.status([DEB]);
  if (s.installed.has(DEB))
    return skipWithout('depext-not-installed', `${DEB} is already installed (the test installs and removes it itself)`);
  return skipWithout('apt', s.available.has(DEB) ? false : `apt has no candidate for ${DEB} (run apt-get update)`);
}

function ecocheck(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: projectRoot });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function addPackage(root: string, name: string, opam: string): void {
  const dir = join(root, 'packages', name, `${name}.1.0`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'opam'), `opam-version: "2.0"\nsynopsis: "depexts install test: ${name}"\n${opam}`);
}

interface RunJson {
  results: { id: string; status: string; cached: boolean; firstError: string | null }[];
}
const statuses = (stdout: string) =>
  Object.fromEntries((JSON.parse(stdout) as RunJson).results.map((r) => [r.id, `${r.status}${r.cached ? ' (cached)' : ''}`]));

test(`--depexts install installs ${DEB}; the rerun rebuilds only the package naming it and its dependent`, { skip: whyNot() }, () => {
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-depexts-install-'));
  let installedByUs = false;
  try {
    addPackage(
      eco.root,
      'conf-utfcpp',
      `depends: ["ocaml"]\ndepexts: [["${DEB}"] {os-family = "debian"}]\nbuild: ["sh" "-c" "test -e ${HEADER} || { echo 'utf8.h: No such file or directory'; exit 1; }"]\n`,
    );
    addPackage(eco.root, 'uses-utfcpp', 'depends: ["ocaml" "conf-utfcpp"]\nbuild: ["true"]\n');
    const check = (...more: string[]) =>
      ecocheck([
        'check',
        '--compiler',
        '1.0',
        '--repo',
        eco.root,
        '--state-dir',
        state,
        '--format',
        'json',
        ...sandboxArgs,
        ...more,
        'conf-utfcpp',
        'uses-utfcpp',
        'stdext',
      ]);

    // host mode: the depext has a candidate, so the package is installable; its build fails for it.
    const first = check();
    assert.equal(first.code, 1, `a run compared with nothing, with a failure: exit 1\n${first.stderr}`);
    const r1 = JSON.parse(first.stdout) as RunJson;
    assert.deepEqual(statuses(first.stdout), {
      'conf-utfcpp.1.0': 'build-failed',
      'uses-utfcpp.1.0': 'dependency-failed',
      'stdext.1.0': 'ok',
    });
    assert.equal(r1.results.find((r) => r.id === 'conf-utfcpp.1.0')?.firstError, `missing system packages (depexts): ${DEB}`);
    // plan lists what install mode would install, without installing it.
    const plan = ecocheck(['plan', '--compiler', '1.0', '--repo', eco.root, '--depexts', 'install', 'uses-utfcpp']);
    assert.match(plan.stdout, new RegExp(`^system packages \\(depexts\\) to install: ${DEB}$`, 'm'));
    assert.equal(hostPackageManager(DEFAULT_PLATFORM)?.status([DEB]).installed.has(DEB), false);
    // Rerun in host mode: the failure is cached (nothing changed on the host).
    assert.match(check().stderr, /^jobs: 0 built/m);

    // install mode: installed, said so; the two packages rebuild, the compiler and stdext do not.
    const second = check('--depexts', 'install');
    installedByUs = true;
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, new RegExp(`^ecocheck: installed system packages \\(depexts\\): ${DEB}$`, 'm'));
    assert.match(second.stderr, /^jobs: 2 built, \d+ cached/m);
    assert.deepEqual(statuses(second.stdout), { 'conf-utfcpp.1.0': 'ok', 'uses-utfcpp.1.0': 'ok', 'stdext.1.0': 'ok (cached)' });

    // Nothing left to install: the same keys, all cached.
    const third = check('--depexts', 'install');
    assert.doesNotMatch(third.stderr, /installed system packages/);
    assert.match(third.stderr, /^jobs: 0 built/m);
  } finally {
    if (installedByUs) {
      const purge = apt('purge', '-y', DEB);
      assert.equal(purge.status, 0, purge.stderr);
    }
    eco.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});
