import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../support/snapshot.js';

const repo = join(projectRoot, 'fixtures', 'repos', 'solver-basic');
const bin = join(projectRoot, 'bin', 'ecocheck');

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('installable --all-versions --json: verdicts, reasons and totals', () => {
  const r = run('installable', '--repo', repo, '--compiler', '5.3.0', '--all-versions', '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    installable: number;
    uninstallable: number;
    results: { package: string; installable: boolean; reason: string }[];
  };
  const byId = new Map(j.results.map((x) => [x.package, x]));
  assert.equal(j.results.length, 13);
  assert.equal(j.installable + j.uninstallable, 13);
  assert.deepEqual(
    j.results
      .filter((x) => x.installable)
      .map((x) => x.package)
      .sort(),
    ['app.1.0', 'dune.3.0.0', 'lib.2.0', 'ocaml-base-compiler.5.3.0', 'ocaml.5.3.0'],
  );
  assert.match(byId.get('lib.1.0')?.reason ?? '', /requires ocaml \{< "5\.0"\}.*compiler ocaml-base-compiler\.5\.3\.0/);
  assert.match(byId.get('macos-only.1')?.reason ?? '', /not available/);
  assert.match(byId.get('needs-broken.1')?.reason ?? '', /broken\.1 requires does-not-exist/);
  assert.match(byId.get('ocaml-variants.5.3.0+options')?.reason ?? '', /conflict-class ocaml-core-compiler/);
});

test('installable --latest: the newest installable version of each name', () => {
  const r = run('installable', '--repo', repo, '--compiler', 'ocaml-base-compiler.4.14.2', '--latest', '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { results: { package: string; installable: boolean }[] };
  const ids = j.results.map((x) => x.package);
  // lib.2.0 is the newest and installable with 4.14.2 too; old is installable there.
  assert.ok(ids.includes('lib.2.0'));
  assert.equal(j.results.find((x) => x.package === 'old.1.0')?.installable, true);
  // ocaml-base-compiler.5.3.0 conflicts with the 4.14.2 invariant: the older version is picked.
  assert.ok(ids.includes('ocaml-base-compiler.4.14.2'));
});

test('installable --admin-check splits roots and dependents as opam does', () => {
  const r = run('installable', '--repo', repo, '--admin-check', '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { roots: string[]; dependents: string[]; uninstallable: number };
  // with-test counts in admin check (opam's default): app's test dependency is missing.
  assert.deepEqual(j.roots, ['app.1.0', 'broken.1']);
  assert.deepEqual(j.dependents, ['needs-broken.1']);
  assert.equal(j.uninstallable, 3);
  const i = run('installable', '--repo', repo, '--admin-check', '--ignore-test-doc', '--json');
  assert.deepEqual((JSON.parse(i.stdout) as { roots: string[] }).roots, ['broken.1']);
});

test('solve prints the solution in build order; an uninstallable target exits 1 with its reason', () => {
  const r = run('solve', 'app', '--repo', repo, '--compiler', '5.3.0', '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { packages: { package: string; buildDependencies: string[] }[] };
  const order = j.packages.map((p) => p.package);
  assert.deepEqual(order, ['ocaml-base-compiler.5.3.0', 'ocaml.5.3.0', 'dune.3.0.0', 'lib.2.0', 'app.1.0']);
  assert.deepEqual(j.packages[4].buildDependencies, ['dune.3.0.0', 'lib.2.0']);
  const t = run('solve', 'app.1.0', '--repo', repo, '--compiler', '5.3.0', '--with-test');
  assert.equal(t.code, 1);
  assert.match(t.stdout, /test-only-missing/);
});

test('usage errors are one line, exit 2', () => {
  for (const args of [
    ['solve', 'app', '--repo', repo, '--compiler', '6.0'],
    ['solve', 'app', '--repo', repo, '--compiler', '5.3.0', '--env', 'os'],
    ['solve', 'nope', '--repo', repo, '--compiler', '5.3.0'],
    ['installable', '--repo', repo],
    ['installable', '--repo', repo, '--compiler', '"ocaml-base-compiler" {>= '],
  ]) {
    const r = run(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^ecocheck: /);
  }
});

test('installable --latest falls back to an older installable version, or reports the newest', () => {
  const r = run('installable', '--repo', repo, '--compiler', '5.3.0', '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { results: { package: string; installable: boolean }[] };
  const byName = new Map(j.results.map((x) => [x.package.split('.')[0], x]));
  assert.equal(byName.get('ocaml')?.package, 'ocaml.5.3.0');
  // ocaml-base-compiler: 5.3.0 (the compiler) is the newest installable.
  assert.equal(byName.get('ocaml-base-compiler')?.package, 'ocaml-base-compiler.5.3.0');
  // Nothing of old is installable with 5.3.0: its newest version is reported, with the reason.
  assert.deepEqual(byName.get('old'), { ...byName.get('old'), package: 'old.1.0', installable: false });
});
