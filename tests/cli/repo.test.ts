import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot, snapshotRepo } from '../support/snapshot.js';
import { skipWithoutSnapshot } from '../support/missing-setup.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const repos = join(projectRoot, 'fixtures', 'repos');

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('repo stats: text and JSON on layered fixtures', () => {
  const text = run('repo', 'stats', '--repo', join(repos, 'overlay'), '--repo', join(repos, 'base'));
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^package names: 4$/m);
  assert.match(text.stdout, /^package versions: 7$/m);
  assert.match(text.stdout, /^parse errors: 0$/m);
  assert.match(text.stdout, /^load time: \d+ ms$/m);
  const json = run('repo', 'stats', '--repo', join(repos, 'overlay'), '--repo', join(repos, 'base'), '--json');
  assert.equal(json.code, 0);
  const j = JSON.parse(json.stdout) as { packages: number; versions: number; errors: unknown[]; warnings: unknown[]; loadMs: number };
  assert.deepEqual([j.packages, j.versions, j.errors, j.warnings], [4, 7, [], []]);
  assert.equal(typeof j.loadMs, 'number');
});

test('repo stats: parse errors are listed file:line:column and exit 1', () => {
  const root = join(repos, 'broken');
  const text = run('repo', 'stats', '--repo', root);
  assert.equal(text.code, 1);
  assert.ok(text.stdout.includes(`${join(root, 'packages/good/good.2/opam')}:5:1: syntax error: unexpected ']'`), text.stdout);
  const j = JSON.parse(run('repo', 'stats', '--repo', root, '--json').stdout) as {
    errors: { file: string; line: number; column: number }[];
    versions: number;
  };
  assert.equal(j.versions, 2);
  assert.deepEqual(
    j.errors.map((e) => [e.file.slice(root.length + 1), e.line, e.column]),
    [
      ['packages/good/good.2/opam', 5, 1],
      ['packages/liar/liar.1.0/opam', 2, 7],
      ['packages/other/other.0.1/opam', 2, 10],
    ],
  );
});

test('repo stats: equal versions give a warning; a bad --repo is a one-line usage error, exit 2', () => {
  const j = JSON.parse(run('repo', 'stats', '--repo', join(repos, 'equal-versions'), '--json').stdout) as {
    versions: number;
    warnings: { message: string }[];
  };
  assert.equal(j.versions, 2);
  assert.equal(j.warnings.length, 2);
  const missing = run('repo', 'stats', '--repo', join(repos, 'nowhere'));
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  assert.match(missing.stderr, /^ecocheck: --repo .*nowhere: no such directory$/m);
  const notRepo = run('repo', 'stats', '--repo', join(repos, 'not-a-repo'));
  assert.equal(notRepo.code, 2);
  assert.match(notRepo.stderr, /not-a-repo: not an opam repository/);
  assert.equal(run('repo', 'stats').code, 2);
});

test('show: newest version by default, layered, formulas printed in opam syntax', () => {
  const r = run('show', 'foo', '--repo', join(repos, 'overlay'), '--repo', join(repos, 'base'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^version: 2\.0~beta$/m);
  assert.match(r.stdout, /^versions: 1\.0 1\.1 2\.0~beta$/m);
  const j = JSON.parse(run('show', 'foo.1.1', '--repo', join(repos, 'base'), '--json').stdout) as Record<string, unknown>;
  assert.equal(j.version, '1.1');
  assert.equal(j.depends, '"ocaml" {>= "4.08"} & "bar" {>= "2.0"}');
  assert.deepEqual(j.build, ['["dune" "build" "-p" name "-j" jobs]']);
  assert.deepEqual(j.patches, ['"fix.patch"']);
  assert.equal(j.filesDir, join(repos, 'base', 'packages', 'foo', 'foo.1.1', 'files'));
  const over = JSON.parse(
    run('show', 'foo.1.1', '--repo', join(repos, 'overlay'), '--repo', join(repos, 'base'), '--json').stdout,
  ) as Record<string, unknown>;
  assert.equal(over.synopsis, 'foo from overlay, 1.1');
});

test('show: unknown package or version is a one-line error, exit 2', () => {
  const r = run('show', 'nope', '--repo', join(repos, 'base'));
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'ecocheck: unknown package nope\n');
  const v = run('show', 'foo.9.9', '--repo', join(repos, 'base'));
  assert.equal(v.code, 2);
  assert.match(v.stderr, /^ecocheck: unknown version foo\.9\.9 \(versions of foo: 1\.0 1\.1\)\n$/);
});

test('repo stats on the real snapshot: 4,596 names, 18,792 versions, 0 errors, 1 warning', { skip: skipWithoutSnapshot() }, () => {
  const root = snapshotRepo();
  const r = run('repo', 'stats', '--repo', root, '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    packages: number;
    versions: number;
    errors: unknown[];
    warnings: { file: string; message: string }[];
  };
  assert.deepEqual([j.packages, j.versions, j.errors.length, j.warnings.length], [4596, 18792, 0, 1]);
  assert.match(
    j.warnings[0]!.message,
    /listed, ocaml-variants\.5\.5\.0\+introcaml, defined by the opam file of ocaml-variants\.5\.5\.0\+introcaml0/,
  );
});
