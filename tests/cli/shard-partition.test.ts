/**
 * Issue 22's reproduction: shards whose states differ (one recorded the baseline and a whole candidate
 * run, so it knows every job's duration; one has no state at all) check their shards of the fixture
 * ecosystem's candidate. They compute one partition (the same recorded identity, the same whole-plan
 * targets) and their targets together are exactly the plan's, each once: with no durations file (the
 * stated estimate), and with the same durations file given to both (`ecocheck durations` writes it),
 * which is another partition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../support/snapshot.js';
import { instantiateEcosystem } from '../support/fixture-ecosystem.js';
import { sandboxAvailable } from '../../src/builder/process-runner.js';
import { openDatabase } from '../../src/store/database.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const sandboxArgs = sandboxAvailable().ok ? [] : ['--no-sandbox'];

function ecocheck(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: projectRoot });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

type ShardRecord = { index: number; count: number; partition?: string; planTargets?: string[] };

/** The newest run of the state: its shard record as written in the database, and its targets. */
function newestRun(state: string): { id: number; shard: ShardRecord | undefined; targets: string[] } {
  const db = openDatabase(join(state, 'ecocheck.sqlite'), { readonly: true });
  try {
    const run = db.prepare('SELECT id, options FROM runs ORDER BY id DESC LIMIT 1').get() as { id: number; options: string };
    const targets = (db.prepare('SELECT package_id FROM run_targets WHERE run_id = ?').all(run.id) as { package_id: string }[]).map((r) => r.package_id);
    return { id: run.id, shard: (JSON.parse(run.options) as { shard?: ShardRecord }).shard, targets };
  } finally {
    db.close();
  }
}

test('shards with different states compute one partition: one identity, every target of the plan exactly once', () => {
  const eco = instantiateEcosystem();
  const work = mkdtempSync(join(tmpdir(), 'ecocheck-shard-partition-'));
  try {
    const repo = ['--repo', eco.root, '--jobs', '2', ...sandboxArgs];
    // A runner that recorded a lot: the baseline, then the whole candidate (every job's duration known).
    const rich = join(work, 'rich');
    assert.equal(ecocheck(['check', '--baseline', '--compiler', '1.0', '--state-dir', rich, ...repo]).code, 0);
    const whole = ecocheck(['check', '--compiler', '2.0', '--retries', '0', '--format', 'json', '--state-dir', rich, ...repo]);
    assert.ok(whole.code === 0 || whole.code === 1, whole.stderr);
    const plan = JSON.parse(ecocheck(['plan', '--compiler', '2.0', '--json', '--state-dir', rich, '--repo', eco.root]).stdout) as { targets: { id: string }[]; notInstallable: { id: string }[] };
    const planTargets = [...plan.targets, ...plan.notInstallable].map((t) => t.id).sort();
    const durationsFile = join(work, 'durations.json');
    const d = ecocheck(['durations', '--output', durationsFile, '--state-dir', rich]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stderr, /package durations .* written to /);
    assert.equal(JSON.parse(readFileSync(durationsFile, 'utf8')).format, 'ecocheck-durations');

    for (const withDurations of [false, true]) {
      const extra = withDurations ? ['--durations', durationsFile] : [];
      const identities: string[] = [];
      const seen: string[] = [];
      for (const [index, start] of [[1, 'rich'], [2, null]] as const) {
        // Shard 1 on a copy of the rich state; shard 2 on no state at all (a runner that missed the cache).
        const state = join(work, `${withDurations ? 'd' : 'e'}-shard-${index}`);
        if (start !== null) cpSync(join(work, start), state, { recursive: true, verbatimSymlinks: true });
        const c = ecocheck(['check', '--compiler', '2.0', '--shard', `${index}/2`, ...extra, '--state-dir', state, ...repo]);
        assert.ok(c.code === 0 || c.code === 1, c.stderr);
        assert.match(c.stderr, new RegExp(`shard ${index}/2 of partition [0-9a-f]{12}`));
        const run = newestRun(state);
        const shard = run.shard!;
        assert.deepEqual([shard.index, shard.count], [index, 2]);
        assert.match(shard.partition ?? '', /^[0-9a-f]{64}$/);
        assert.deepEqual(shard.planTargets, planTargets, 'the whole plan\'s targets are recorded');
        identities.push(shard.partition!);
        seen.push(...run.targets);
      }
      assert.equal(identities[0], identities[1], `one partition ${withDurations ? 'with' : 'without'} the durations file`);
      // Not-installable targets are carried by every shard; the installable ones are split.
      const installable = seen.filter((t) => !plan.notInstallable.some((n) => n.id === t));
      assert.deepEqual([...installable].sort(), plan.targets.map((t) => t.id).sort(), 'every installable target exactly once');
      if (withDurations) assert.notEqual(identities[0], partitionWithout, 'the durations file is part of the identity');
      else partitionWithout = identities[0];
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    eco.dispose();
  }
});

let partitionWithout = '';

test('the compiler built once and handed to a shard: its layers imported (content checked), the shard takes it from the cache; a tampered layer is refused', () => {
  const eco = instantiateEcosystem();
  const work = mkdtempSync(join(tmpdir(), 'ecocheck-compiler-once-'));
  try {
    const repo = ['--repo', eco.root, '--jobs', '2', ...sandboxArgs];
    // The compiler job: the target ocaml alone, exported with its layers.
    const first = join(work, 'compiler-job');
    const built = ecocheck(['check', '--compiler', '2.0', 'ocaml', '--retries', '0', '--state-dir', first, ...repo]);
    assert.ok(built.code === 0, built.stderr);
    const file = join(work, 'compiler-candidate.json');
    const e = ecocheck(['export', String(newestRun(first).id), '--output', file, '--layers', '--state-dir', first]);
    assert.equal(e.code, 0, e.stderr);
    const layers = Number(/; (\d+) layers in /.exec(e.stderr)?.[1]);
    assert.ok(layers >= 1, e.stderr);

    // A shard on a fresh runner: import, then its shard of the check builds everything but the compiler.
    const shard = join(work, 'shard');
    const m = ecocheck(['merge', file, '--state-dir', shard]);
    assert.equal(m.code, 0, m.stderr + m.stdout);
    assert.match(m.stdout, new RegExp(`${layers} layers from the shards' \\.layers\\.tar files are in the store`));
    const c = ecocheck(['check', '--compiler', '2.0', '--shard', '1/2', '--state-dir', shard, ...repo]);
    assert.ok(c.code === 0 || c.code === 1, c.stderr);
    const lines = c.stderr.split('\n').filter((l) => /^\[\d+\/\d+\] /.test(l));
    const compilerLines = lines.filter((l) => /\bocaml(-base-compiler)?\.2\.0\b/.test(l));
    assert.ok(compilerLines.length >= 1, c.stderr);
    for (const l of compilerLines) assert.match(l, /\(cached\)/, `the compiler is not built again: ${l}`);

    // The same export with one byte of a layer changed: refused, nothing placed.
    const unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    assert.equal(spawnSync('tar', ['-C', unpacked, '-xf', `${file}.layers.tar`]).status, 0);
    const victim = findFile(unpacked);
    appendFileSync(victim, 'x');
    const tampered = join(work, 'tampered.json');
    cpSync(file, tampered);
    assert.equal(spawnSync('tar', ['-C', unpacked, '-cf', `${tampered}.layers.tar`, ...readdirSync(unpacked)]).status, 0);
    const other = join(work, 'other');
    const r = ecocheck(['merge', tampered, '--state-dir', other]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /layer [0-9a-f]+ is not what was exported \(content digest [0-9a-f]{12}, recorded [0-9a-f]{12}\): refused/);
    assert.deepEqual(readdirSync(join(other, 'store')).filter((n) => /^[0-9a-f]{64}$/.test(n)), [], 'no layer placed');
  } finally {
    rmSync(work, { recursive: true, force: true });
    eco.dispose();
  }
});

/** A regular file somewhere inside a layer of an unpacked tar. */
function findFile(dir: string): string {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const f = findFile(p);
      if (f !== '') return f;
    } else if (e.isFile() && /^[0-9a-f]{64}$/.test(dir.split('/').find((x) => /^[0-9a-f]{64}$/.test(x)) ?? '')) return p;
  }
  return '';
}
