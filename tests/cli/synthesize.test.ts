/**
 * `ecocheck synthesize` as a user runs it: the overlay solves as the original does (same solutions, with
 * the compiler packages from the repository behind), a file that does not parse is named on stderr and
 * skipped without stopping the run, and usage mistakes are one line and exit 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../support/snapshot.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const basic = join(projectRoot, 'fixtures', 'repos', 'solver-basic');

function ecocheck(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: projectRoot });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function withDir(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-synthesize-'));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the overlay in front of the original solves as the original', () => {
  withDir((dir) => {
    const synth = join(dir, 'synth');
    const r = ecocheck(['synthesize', synth, '--repo', basic, 'app']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /left out 1 compiler name\(s\), for the repositories behind the overlay: ocaml\n/);
    assert.deepEqual(readdirSync(join(synth, 'packages')).sort(), ['app', 'dune', 'lib']);
    for (const target of ['app', 'lib']) {
      const original = ecocheck(['solve', target, '--repo', basic, '--compiler', '5.3.0']);
      const layered = ecocheck(['solve', target, '--repo', synth, '--repo', basic, '--compiler', '5.3.0']);
      assert.equal(original.code, 0, original.stderr);
      assert.equal(layered.stdout, original.stdout, target);
    }
  });
});

test('a file that does not parse is named file:line:col on stderr and skipped; the others are written (exit 0)', () => {
  withDir((dir) => {
    const input = join(dir, 'input');
    cpSync(basic, input, { recursive: true });
    const bad = join(input, 'packages', 'lib', 'lib.9.9', 'opam');
    cpSync(join(input, 'packages', 'lib', 'lib.2.0'), join(input, 'packages', 'lib', 'lib.9.9'), { recursive: true });
    writeFileSync(bad, 'opam-version: "2.0"\ndepends: [ "dune" {>= "3"\n');
    const synth = join(dir, 'synth');
    const r = ecocheck(['synthesize', synth, '--repo', input]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^ecocheck: skipped ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:1: .+\\n$`));
    assert.match(r.stdout, /skipped 1 file\(s\) that do not parse/);
    assert.ok(existsSync(join(synth, 'packages', 'lib', 'lib.2.0', 'opam')));
    assert.ok(!existsSync(join(synth, 'packages', 'lib', 'lib.9.9')));
    const stats = ecocheck(['repo', 'stats', '--repo', synth]);
    assert.equal(stats.code, 0, stats.stdout);
    assert.match(stats.stdout, /parse errors: 0/);
  });
});

test('usage mistakes: no --repo, both NAME and --names, a bad --names, an output folder that is not empty or inside the input', () => {
  withDir((dir) => {
    const cases: [string[], RegExp][] = [
      [['synthesize', join(dir, 'a')], /^ecocheck: --repo DIR is required/],
      [['synthesize', join(dir, 'a'), '--repo', basic, '--names', '3', 'app'], /^ecocheck: give either NAME… or --names N, not both\n$/],
      [['synthesize', join(dir, 'a'), '--repo', basic, '--names', 'x'], /^ecocheck: --names x: expected a positive integer\n$/],
      [['synthesize', projectRoot, '--repo', basic], /not empty/],
      [['synthesize', join(basic, 'out'), '--repo', basic], /the input is never written\n$/],
    ];
    for (const [args, message] of cases) {
      const r = ecocheck(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.ok(!existsSync(join(dir, 'a')) && !existsSync(join(basic, 'out')));
  });
});
