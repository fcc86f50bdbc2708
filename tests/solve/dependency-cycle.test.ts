/**
 * A dependency cycle gets one answer everywhere, opam's: the solver accepts the installation, but it has no
 * build order. `installable` keeps the solver's verdict and lists the package apart with its cycle,
 * `solve` exits 1 naming the cycle, `plan` and `check` record the package as not installable with that
 * reason and build the rest. A small repository: a 2-cycle, a 3-cycle, an innocent package needing the
 * 2-cycle, and a pair that depend on each other only through a `post` dependency (which orders nothing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../support/snapshot.js';
import { dependencyCycle, noBuildOrderReason } from '../../src/solve/build-order.js';
import { sandboxAvailable } from '../../src/builder/process-runner.js';

const bin = join(projectRoot, 'bin', 'ecocheck');

test('dependencyCycle finds a cycle from its smallest id, and none in a DAG', () => {
  const m = (o: Record<string, string[]>) => new Map(Object.entries(o));
  assert.equal(dependencyCycle(m({ 'a.1': [], 'b.1': ['a.1'], 'c.1': ['a.1', 'b.1'] })), null);
  assert.deepEqual(dependencyCycle(m({ 'x.1': ['b.1'], 'b.1': ['a.1'], 'a.1': ['b.1'] })), ['a.1', 'b.1', 'a.1']);
  assert.deepEqual(dependencyCycle(m({ 'e.1': ['c.1'], 'd.1': ['e.1'], 'c.1': ['d.1'] })), ['c.1', 'd.1', 'e.1', 'c.1']);
  // Names outside the solution are no edge; a long chain is walked without recursion.
  assert.equal(dependencyCycle(m({ 'a.1': ['zz.9'] })), null);
  const chain = new Map(Array.from({ length: 100_000 }, (_, i) => [`p${i}.1`, i === 0 ? ['p99999.1'] : [`p${i - 1}.1`]]));
  assert.equal(dependencyCycle(chain)?.length, 100_001);
  assert.equal(
    noBuildOrderReason('a.1', ['a.1', 'b.1', 'a.1']),
    'installable by the solver but no build order: the dependency cycle a.1 → b.1 → a.1',
  );
  assert.match(noBuildOrderReason('innocent.1', ['a.1', 'b.1', 'a.1']), /its installation holds the dependency cycle a\.1 → b\.1 → a\.1$/);
});

function makeRepository(root: string): void {
  const write = (name: string, version: string, body: string): void => {
    const dir = join(root, 'packages', name, `${name}.${version}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'opam'), `opam-version: "2.0"\n${body}\n`);
  };
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'repo'), 'opam-version: "2.0"\n');
  write('ocaml', '5.3.0', 'depends: [ "ocaml-base-compiler" {= "5.3.0"} ]');
  write('ocaml-base-compiler', '5.3.0', 'flags: compiler\nconflict-class: "ocaml-core-compiler"');
  write('a', '1', 'depends: ["b"]');
  write('b', '1', 'depends: ["a"]');
  write('c', '1', 'depends: ["d"]');
  write('d', '1', 'depends: ["e"]');
  write('e', '1', 'depends: ["c"]');
  write('innocent', '1', 'depends: ["a" "ok"]');
  write('ok', '1', '');
  write('post', '1', 'depends: ["postdep"]');
  write('postdep', '1', 'depends: ["post" {post}]');
}

const CYCLE2 = 'the dependency cycle a.1 → b.1 → a.1';
const CYCLE3 = 'the dependency cycle c.1 → d.1 → e.1 → c.1';
const EXPECTED_APART: Record<string, string> = {
  'a.1': CYCLE2,
  'b.1': CYCLE2,
  'c.1': CYCLE3,
  'd.1': CYCLE3,
  'e.1': CYCLE3,
  'innocent.1': `its installation holds ${CYCLE2}`,
};

test('installable, solve, plan and check give the cycle one answer: no build order', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-cycles-'));
  try {
    const repo = join(dir, 'repo');
    makeRepository(repo);
    const env = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache'), XDG_DATA_HOME: join(dir, 'data'), HOME: dir };
    const run = (...args: string[]) => {
      const withRepo = args[0] === 'log' ? args : [...args, '--repo', repo];
      const r = spawnSync(process.execPath, [bin, ...withRepo], { encoding: 'utf8', env });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const reasonOf = (id: string) => `installable by the solver but no build order: ${EXPECTED_APART[id]}`;

    // installable: the solver's verdict (installable) kept, the cyclic ones apart with their cycle.
    const inst = run('installable', '--compiler', '5.3.0', '--all-versions', '--json');
    assert.equal(inst.code, 0, inst.stderr);
    const j = JSON.parse(inst.stdout) as {
      installable: number;
      noBuildOrder: number;
      results: { package: string; installable: boolean; cycle?: string[]; reason: string }[];
    };
    assert.equal(j.installable, 11);
    assert.equal(j.noBuildOrder, 6);
    const apart = Object.fromEntries(j.results.filter((r) => r.cycle !== undefined).map((r) => [r.package, r.reason]));
    assert.deepEqual(apart, Object.fromEntries(Object.keys(EXPECTED_APART).map((id) => [id, reasonOf(id)])));
    assert.ok(j.results.every((r) => r.installable));
    const text = run('installable', '--compiler', '5.3.0');
    assert.match(
      text.stdout,
      /^innocent\.1: installable by the solver but no build order: its installation holds the dependency cycle a\.1 → b\.1 → a\.1$/m,
    );
    assert.match(text.stdout, /^post\.1: installable$/m);
    assert.match(text.stdout, /11 installable \(6 of them with no build order: a dependency cycle\), 0 not$/m);

    // The admin check keeps opam's verdict (every package installable) and adds the note.
    const admin = run('installable', '--admin-check', '--json');
    assert.equal(admin.code, 0, admin.stderr);
    const a = JSON.parse(admin.stdout) as {
      uninstallable: number;
      noBuildOrder: number;
      noBuildOrderResults: { package: string; reason: string }[];
    };
    assert.equal(a.uninstallable, 0);
    assert.equal(a.noBuildOrder, 6);
    assert.deepEqual(
      Object.fromEntries(a.noBuildOrderResults.map((x) => [x.package, x.reason])),
      Object.fromEntries(Object.keys(EXPECTED_APART).map((id) => [id, reasonOf(id)])),
    );

    // solve: the "not installable" exit code, the cycle named; a post dependency's loop is no cycle.
    for (const [target, id] of [
      ['a', 'a.1'],
      ['e', 'e.1'],
      ['innocent', 'innocent.1'],
    ]) {
      const s = run('solve', target, '--compiler', '5.3.0');
      assert.equal(s.code, 1, s.stderr);
      assert.equal(s.stdout, `${id} is not installable with ocaml-base-compiler {= "5.3.0"}: ${reasonOf(id)}\n`);
    }
    const sj = run('solve', 'innocent', '--compiler', '5.3.0', '--json');
    assert.equal(sj.code, 1);
    assert.deepEqual((JSON.parse(sj.stdout) as { cycle: string[]; installable: boolean }).cycle, ['a.1', 'b.1', 'a.1']);
    const post = run('solve', 'post', '--compiler', '5.3.0');
    assert.equal(post.code, 0, post.stderr);

    // plan: not installable with that reason, never "internal error"; the rest is planned.
    const plan = run('plan', '--compiler', '5.3.0', '--all-versions', '--json');
    assert.equal(plan.code, 0, plan.stderr);
    assert.doesNotMatch(plan.stdout, /internal error/);
    const p = JSON.parse(plan.stdout) as { notInstallable: { id: string; reason: string }[] };
    assert.deepEqual(
      Object.fromEntries(p.notInstallable.map((x) => [x.id, x.reason])),
      Object.fromEntries(Object.keys(EXPECTED_APART).map((id) => [id, reasonOf(id)])),
    );

    // check: the same six recorded not installable with the reason, the other five built.
    const state = join(dir, 'state');
    const check = run(
      'check',
      '--compiler',
      '5.3.0',
      '--state-dir',
      state,
      '--timeout',
      '20s',
      '--jobs',
      '2',
      '--format',
      'json',
      ...(sandboxAvailable().ok ? [] : ['--no-sandbox']),
    );
    assert.equal(check.code, 0, check.stderr);
    assert.doesNotMatch(check.stdout + check.stderr, /internal error/);
    assert.match(check.stderr, /11 targets: ok 5, not-installable 6/);
    const log = run('log', 'innocent', '--state-dir', state);
    assert.equal(log.code, 0, log.stderr);
    assert.match(
      log.stdout,
      /not-installable: installable by the solver but no build order: its installation holds the dependency cycle a\.1 → b\.1 → a\.1/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
