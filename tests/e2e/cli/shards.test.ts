/**
 * CI shards, driven as the workflow drives them (.github/workflows/ecocheck-compiler-pr.yml): the
 * shell fixture ecosystem's candidate run as 3 shards in separate state dirs (each a copy of the state
 * with the baseline, as the workflow restores it), each exported, the exports merged: the merged run's
 * report is the one a single machine records (counts, categories, root causes), and the PR comment is
 * rendered from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../support/snapshot.js';
import { instantiateEcosystem } from '../../support/fixture-ecosystem.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';
import { ecocheckCommands, readWorkflow } from '../../support/workflow-commands.js';
import { PR_COMMENT_MARKER } from '../../../src/report/pr-comment.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const sandboxArgs = sandboxAvailable().ok ? [] : ['--no-sandbox'];
const SHARDS = 3;

function ecocheck(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: projectRoot });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

interface JsonComparison {
  counts: Record<string, number>;
  total: number;
  rootCauses: { package: string; category: string | null; dependents: string[] }[];
  packages: { key: string; category: string; rootCause: string | null; rootCauses?: string[] }[];
  clusters?: unknown;
}

/** What must be the same on one machine and merged from shards. */
function verdict(c: JsonComparison) {
  return {
    counts: c.counts,
    total: c.total,
    rootCauses: c.rootCauses
      .map((r) => ({ ...r, dependents: [...r.dependents].sort() }))
      .sort((a, b) => a.package.localeCompare(b.package)),
    packages: c.packages.map((p) => [p.key, p.category, p.rootCause, p.rootCauses ?? null]).sort(),
  };
}

test("3 shards in separate state dirs, exported and merged: exactly the single machine's report; the PR comment from it", () => {
  const eco = instantiateEcosystem();
  const work = mkdtempSync(join(tmpdir(), 'ecocheck-shards-'));
  try {
    const repo = ['--repo', eco.root, '--jobs', '2', ...sandboxArgs];
    const base = join(work, 'baseline');
    assert.equal(ecocheck(['check', '--baseline', '--compiler', '1.0', '--state-dir', base, ...repo]).code, 0);
    const copy = (name: string) => {
      const dir = join(work, name);
      cpSync(base, dir, { recursive: true, verbatimSymlinks: true });
      return dir;
    };

    // One machine.
    const single = copy('single');
    const one = ecocheck(['check', '--compiler', '2.0', '--retries', '0', '--format', 'json', '--state-dir', single, ...repo]);
    assert.equal(one.code, 1, one.stderr);
    const expected = verdict(JSON.parse(one.stdout) as JsonComparison);
    assert.ok(expected.counts.regressed > 0 && expected.counts['dependency-regressed'] > 0, 'the fixture has regressions and cascades');

    // plan --predict: from the durations the single run recorded, every job known; before, estimated.
    const predict = (state: string) =>
      JSON.parse(
        ecocheck([
          'plan',
          '--compiler',
          '2.0',
          '--predict',
          '--runners',
          String(SHARDS),
          '--cores',
          '2',
          '--json',
          '--state-dir',
          state,
          '--repo',
          eco.root,
        ]).stdout,
      ) as { makespanMs: number; shards: unknown[]; estimatedJobs: string[]; jobCount: number };
    const known = predict(single);
    assert.equal(known.shards.length, SHARDS);
    assert.ok(known.makespanMs >= 0 && known.jobCount > 0);
    const fresh = predict(join(work, 'nothing-recorded'));
    assert.equal(fresh.estimatedJobs.length, fresh.jobCount, 'nothing recorded: every job is the estimate');
    assert.ok(known.estimatedJobs.length < fresh.estimatedJobs.length);

    // The shard job, as the workflow runs it: check the shard, find its run, export it.
    const verbs: string[] = [];
    const files: string[] = [];
    const sizes: number[] = [];
    for (let i = 1; i <= SHARDS; i++) {
      const state = copy(`shard-${i}`);
      const c = ecocheck(['check', '--compiler', '2.0', '--shard', `${i}/${SHARDS}`, '--state-dir', state, ...repo]);
      assert.ok(c.code === 0 || c.code === 1, c.stderr);
      assert.match(c.stderr, new RegExp(`shard ${i}/${SHARDS} recorded as run #\\d+`));
      const runs = JSON.parse(ecocheck(['runs', '--state-dir', state, '--limit', '10', '--json']).stdout) as {
        id: number;
        kind: string;
        targetCount: number;
      }[];
      const run = runs.find((r) => r.kind === 'candidate' || r.kind === 'check')!;
      sizes.push(run.targetCount);
      const file = join(work, `shard-${i}.json`);
      const e = ecocheck(['export', String(run.id), '--output', file, '--logs', '--layers', '--state-dir', state]);
      assert.equal(e.code, 0, e.stderr);
      files.push(file);
      if (i === 1) verbs.push('check', 'runs', 'export');
    }
    assert.ok(
      sizes.every((n) => n > 0),
      `every shard has targets: ${sizes.join(', ')}`,
    );

    // The merge job: merge, the HTML report, the PR comment.
    const merged = copy('merged');
    const m = ecocheck(['merge', ...files, '--json', '--state-dir', merged]);
    assert.equal(m.code, 0, m.stderr);
    const mr = JSON.parse(m.stdout) as { runId: number; created: boolean; shards: number[]; status: string };
    assert.deepEqual([mr.created, mr.shards, mr.status], [true, [1, 2, 3], 'finished']);
    const report = ecocheck(['report', '--run', String(mr.runId), '--format', 'json', '--state-dir', merged]);
    assert.equal(report.code, 1, report.stderr);
    assert.deepEqual(verdict(JSON.parse(report.stdout) as JsonComparison), expected);
    const html = join(work, 'report.html');
    assert.equal(ecocheck(['report', '--run', String(mr.runId), '--format', 'html', '--output', html, '--state-dir', merged]).code, 1);
    assert.match(readFileSync(html, 'utf8'), /<html/i);
    const comment = ecocheck([
      'report',
      '--run',
      String(mr.runId),
      '--pr-comment',
      '--report-url',
      'https://example.org/report.html',
      '--state-dir',
      merged,
    ]);
    assert.equal(comment.code, 1, comment.stderr);
    assert.ok(comment.stdout.includes(PR_COMMENT_MARKER));
    assert.ok(comment.stdout.includes('https://example.org/report.html'));
    assert.match(comment.stdout, /regressed/i);
    verbs.push('merge', 'report', 'report');

    // The same verbs, in the same order, as the workflow's candidate side: the end of its shard job
    // (check, runs, export), then its merge job's candidate merge and reports.
    const wf = readWorkflow();
    const shardVerbs = ecocheckCommands(wf.jobs.shard)
      .map((c) => c[1])
      .slice(-3);
    const mergeVerbs = ecocheckCommands(wf.jobs.merge)
      .filter((c) => c[1] === 'report' || (c[1] === 'merge' && c[2].includes('candidate')))
      .map((c) => c[1]);
    assert.deepEqual([...shardVerbs, ...mergeVerbs], verbs);

    // The shards' layers came with their exports: the same check on the merging machine builds nothing.
    const rebuilt = ecocheck(['check', '--compiler', '2.0', '--retries', '0', '--state-dir', merged, ...repo]);
    const builtAgain = rebuilt.stderr
      .split('\n')
      .filter((l) => /^\[\d+\/\d+\] /.test(l) && !/\(cached\)/.test(l) && !/dependency-failed/.test(l));
    assert.deepEqual(
      builtAgain.map((l) => l.split(' ')[1]),
      ['fetch-failed'],
      `only the fetch failure (never cached) is built again:\n${rebuilt.stderr}`,
    );

    // Merging the same files again: the same run; without shard 3: refused (exit 2), naming it, nothing recorded.
    const again = ecocheck(['merge', ...files, '--json', '--state-dir', merged]);
    assert.deepEqual(
      [
        again.code,
        (JSON.parse(again.stdout) as { runId: number; created: boolean }).created,
        (JSON.parse(again.stdout) as { runId: number }).runId,
      ],
      [0, false, mr.runId],
    );
    const partial = copy('partial');
    const p = ecocheck(['merge', files[0], files[1], '--state-dir', partial]);
    assert.equal(p.code, 2, p.stderr);
    assert.match(p.stderr, /shard 3 of 3 is missing/);
    assert.equal(p.stderr.trim().split('\n').length, 1, `one line: ${p.stderr}`);
    assert.equal(
      (JSON.parse(ecocheck(['runs', '--state-dir', partial, '--json']).stdout) as unknown[]).length,
      1,
      'only the baseline the state was copied with',
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
    eco.dispose();
  }
});
