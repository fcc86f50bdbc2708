/**
 * Issue 22's reproduction: shards whose states differ (one recorded the baseline and a whole candidate
 * run, so it knows every job's duration; one has no state at all) check their shards of the fixture
 * ecosystem's candidate. They compute one partition (the same recorded identity, the same whole-plan
 * targets) and their targets together are exactly the plan's, each once: with no durations file (the
 * stated estimate), and with the same durations file given to both (`ecocheck durations` writes it),
 * which is another partition. The compiler built once and handed to a shard as layers, checked by
 * content. And the workflow's steps, job by job, on the fixture: one machine's report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../support/snapshot.js';
import { instantiateEcosystem } from '../../support/fixture-ecosystem.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';
import { openDatabase } from '../../../src/store/database.js';
import { comparisonVerdict, ecocheckCommands, readWorkflow, type JsonComparison } from '../../support/workflow-commands.js';

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
    const targets = (db.prepare('SELECT package_id FROM run_targets WHERE run_id = ?').all(run.id) as { package_id: string }[]).map(
      (r) => r.package_id,
    );
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
    const plan = JSON.parse(ecocheck(['plan', '--compiler', '2.0', '--json', '--state-dir', rich, '--repo', eco.root]).stdout) as {
      targets: { id: string }[];
      notInstallable: { id: string }[];
    };
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
      for (const [index, start] of [
        [1, 'rich'],
        [2, null],
      ] as const) {
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
        assert.deepEqual(shard.planTargets, planTargets, "the whole plan's targets are recorded");
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
    assert.deepEqual(
      readdirSync(join(other, 'store')).filter((n) => /^[0-9a-f]{64}$/.test(n)),
      [],
      'no layer placed',
    );
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

test("the workflow's steps on the fixture: a first job builds what is prebuilt, 3 shards each build the baseline then the candidate, the merge job reports exactly one machine's comparison", () => {
  const eco = instantiateEcosystem();
  const work = mkdtempSync(join(tmpdir(), 'ecocheck-workflow-steps-'));
  const SHARDS = 3;
  try {
    const repo = ['--repo', eco.root, '--jobs', '2', ...sandboxArgs];
    // One machine, for the expected report.
    const single = join(work, 'single');
    assert.equal(ecocheck(['check', '--baseline', '--compiler', '1.0', '--state-dir', single, ...repo]).code, 0);
    const one = ecocheck(['check', '--compiler', '2.0', '--retries', '0', '--format', 'json', '--state-dir', single, ...repo]);
    assert.equal(one.code, 1, one.stderr);
    const expected = comparisonVerdict(JSON.parse(one.stdout) as JsonComparison);
    // The durations file prepare hands out (here: what one machine recorded).
    const durations = join(work, 'durations.json');
    assert.equal(ecocheck(['durations', '--output', durations, '--state-dir', single]).code, 0);

    // compiler: per side, the prebuilt list (from the durations the shards split with), built, exported with its layers.
    const compilerFiles: Record<string, string> = {};
    for (const [side, compiler] of [
      ['baseline', '1.0'],
      ['candidate', '2.0'],
    ] as const) {
      const state = join(work, `compiler-${side}`);
      const list = join(work, `prebuilt-${side}.txt`);
      const p = ecocheck([
        'plan',
        '--compiler',
        compiler,
        '--predict',
        '--runners',
        String(SHARDS),
        '--cores',
        '4',
        '--durations',
        durations,
        '--prebuilt-list',
        list,
        '--state-dir',
        state,
        '--repo',
        eco.root,
      ]);
      assert.equal(p.code, 0, p.stderr);
      const prebuilt = readFileSync(list, 'utf8').trim().split('\n');
      assert.ok(
        prebuilt.some((id) => id.startsWith('ocaml-base-compiler.')),
        `the compiler is prebuilt: ${prebuilt}`,
      );
      const c = ecocheck(['check', '--compiler', compiler, ...prebuilt, '--retries', '0', '--state-dir', state, ...repo]);
      assert.ok(c.code === 0 || c.code === 1, c.stderr);
      compilerFiles[side] = join(work, `compiler-${side}.json`);
      assert.equal(
        ecocheck(['export', String(newestRun(state).id), '--output', compilerFiles[side], '--layers', '--state-dir', state]).code,
        0,
      );
    }

    // shard: import both compilers, the baseline's shard, the candidate's shard (same partition inputs).
    const exports: { baseline: string[]; candidate: string[] } = { baseline: [], candidate: [] };
    const partitions = { baseline: new Set<string>(), candidate: new Set<string>() };
    for (let i = 1; i <= SHARDS; i++) {
      const state = join(work, `shard-${i}`);
      for (const side of ['baseline', 'candidate']) assert.equal(ecocheck(['merge', compilerFiles[side], '--state-dir', state]).code, 0);
      for (const [side, compiler] of [
        ['baseline', '1.0'],
        ['candidate', '2.0'],
      ] as const) {
        const c = ecocheck([
          'check',
          ...(side === 'baseline' ? ['--baseline'] : []),
          '--compiler',
          compiler,
          '--shard',
          `${i}/${SHARDS}`,
          '--durations',
          durations,
          '--retries',
          '0',
          '--state-dir',
          state,
          ...repo,
        ]);
        assert.ok(c.code === 0 || c.code === 1, c.stderr);
        const compilerLines = c.stderr.split('\n').filter((l) => /^\[\d+\/\d+\] /.test(l) && /\bocaml-base-compiler\./.test(l));
        assert.ok(compilerLines.length >= 1, c.stderr);
        for (const l of compilerLines) assert.match(l, /\(cached\)/, `shard ${i} ${side}: the compiler is the first job's: ${l}`);
        const run = newestRun(state);
        partitions[side].add(run.shard!.partition!);
        const file = join(work, `${side}-${i}.json`);
        assert.equal(ecocheck(['export', String(run.id), '--output', file, '--logs', '--state-dir', state]).code, 0);
        exports[side].push(file);
      }
    }
    assert.equal(partitions.baseline.size, 1, 'one baseline partition');
    assert.equal(partitions.candidate.size, 1, 'one candidate partition');

    // merge: each side, the durations for the next check, the report of candidate against baseline.
    const merged = join(work, 'merged');
    const mb = ecocheck(['merge', ...exports.baseline, '--json', '--state-dir', merged]);
    assert.equal(mb.code, 0, mb.stderr + mb.stdout);
    const mc = ecocheck(['merge', ...exports.candidate, '--json', '--state-dir', merged]);
    assert.equal(mc.code, 0, mc.stderr + mc.stdout);
    const [base, cand] = [JSON.parse(mb.stdout) as { runId: number }, JSON.parse(mc.stdout) as { runId: number }];
    const next = join(work, 'next-durations.json');
    assert.equal(
      ecocheck(['durations', '--run', String(base.runId), '--run', String(cand.runId), '--output', next, '--state-dir', merged]).code,
      0,
    );
    assert.ok(Object.keys((JSON.parse(readFileSync(next, 'utf8')) as { byPackage: object }).byPackage).length > 0);
    const report = ecocheck([
      'report',
      '--run',
      String(cand.runId),
      '--against',
      String(base.runId),
      '--format',
      'json',
      '--state-dir',
      merged,
    ]);
    assert.equal(report.code, 1, report.stderr);
    assert.deepEqual(comparisonVerdict(JSON.parse(report.stdout) as JsonComparison), expected);

    // These are the workflow's steps, job by job (it finds a run's number with `ecocheck runs`; the test reads it).
    const wf = readWorkflow();
    const verbs = (job: string) =>
      ecocheckCommands(wf.jobs[job])
        .map((c) => c[1])
        .filter((v) => v !== 'runs');
    assert.deepEqual(verbs('compiler'), ['plan', 'check', 'export']);
    assert.deepEqual(verbs('wave1'), ['merge', 'plan', 'check', 'export']);
    // The third merge is the loop over the waves' exports: none here (the fixture's builds take seconds,
    // a wave's stage costs minutes), as the wave's list says.
    assert.deepEqual(verbs('shard'), ['merge', 'merge', 'merge', 'check', 'export', 'check', 'export']);
    const waveList = join(work, 'wave-1-1.txt');
    const listed = ecocheck([
      'plan',
      '--compiler',
      '2.0',
      '--predict',
      '--runners',
      String(SHARDS),
      '--cores',
      '4',
      '--durations',
      durations,
      '--prebuilt-list',
      waveList,
      '--wave',
      '1',
      '--part',
      '1',
      '--state-dir',
      join(work, 'wave-state'),
      '--repo',
      eco.root,
    ]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(readFileSync(waveList, 'utf8'), '', 'no wave on the fixture');
    assert.doesNotMatch(listed.stdout, /^wave 1/m);
    // --wave without --part, or a part past the runners: usage errors.
    const noPart = ecocheck(['plan', '--compiler', '2.0', '--predict', '--prebuilt-list', waveList, '--wave', '1', '--repo', eco.root]);
    assert.equal(noPart.code, 2);
    assert.match(noPart.stderr, /--wave and --part go together/);
    assert.deepEqual(verbs('merge'), ['merge', 'merge', 'durations', 'report', 'report']);
  } finally {
    rmSync(work, { recursive: true, force: true });
    eco.dispose();
  }
});
