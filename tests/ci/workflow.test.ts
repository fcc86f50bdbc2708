/**
 * The GitHub Actions workflow (.github/workflows/ecocheck-compiler-pr.yml) read as YAML and checked: its
 * triggers, the jobs and how they depend on each other, the shard matrix, the ecocheck commands each job
 * runs and their order, the cache key of the baseline, the comment marker, and a lint of what GitHub
 * would refuse (a step with both or neither of uses/run, a need or an output that does not exist).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../support/snapshot.js';
import { PR_COMMENT_MARKER } from '../../src/report/pr-comment.js';
import { ecocheckCommands, readWorkflow, WORKFLOW_FILE, type Workflow } from '../support/workflow-commands.js';

const wf: Workflow = readWorkflow();

/** The command lines as text (words joined), for matching. */
function commands(job: string): string[] {
  return ecocheckCommands(wf.jobs[job]).map((w) => w.join(' '));
}

function flag(words: string[], name: string): string | undefined {
  const i = words.indexOf(name);
  return i < 0 ? undefined : words[i + 1];
}

test('triggers: a pull request, a schedule, a call from another workflow (with its inputs), by hand', () => {
  assert.deepEqual(Object.keys(wf.on).sort(), ['pull_request', 'schedule', 'workflow_call', 'workflow_dispatch']);
  const schedule = wf.on.schedule as { cron: string }[];
  assert.ok(Array.isArray(schedule) && schedule.length === 1 && /^\S+ \S+ \S+ \S+ \S+$/.test(schedule[0].cron));
  const inputs = (wf.on.workflow_call as { inputs: Record<string, { type: string; default: unknown }> }).inputs;
  assert.deepEqual(Object.keys(inputs).sort(), ['base-compiler', 'ecocheck-ref', 'ecocheck-repository', 'opam-repository', 'opam-repository-ref', 'shards']);
  assert.equal(inputs.shards.type, 'number');
  for (const [name, input] of Object.entries(inputs)) assert.ok(['number', 'string', 'boolean'].includes(input.type), name);
  assert.deepEqual(wf.permissions, { contents: 'read', 'pull-requests': 'write', actions: 'read' });
});

test('jobs: prepare, then the shard matrix, then a merge that runs even when a shard failed', () => {
  assert.deepEqual(Object.keys(wf.jobs), ['prepare', 'shard', 'merge']);
  assert.equal(wf.jobs.prepare.needs, undefined);
  assert.equal(wf.jobs.shard.needs, 'prepare');
  assert.deepEqual(wf.jobs.merge.needs, ['prepare', 'shard']);
  assert.match(wf.jobs.merge.if!, /always\(\)/);
  assert.match(wf.jobs.merge.if!, /needs\.prepare\.result == 'success'/);
  // The matrix is the list the prepare job computes from the shard count.
  assert.equal(wf.jobs.shard.strategy?.['fail-fast'], false);
  assert.deepEqual(wf.jobs.shard.strategy?.matrix, { shard: '${{ fromJSON(needs.prepare.outputs.shards) }}' });
  const shardList = wf.jobs.prepare.steps.find((s) => s.id === 'matrix')!.run!;
  assert.match(shardList, /shards=\[\$\(seq -s, 1 "\$SHARDS"\)\]/);
});

test('prepare: the opam repository pinned to one commit, the baseline restored from the cache or recorded and saved, then the plan predicted', () => {
  const steps = wf.jobs.prepare.steps;
  const key = '${{ steps.opam.outputs.baseline-key }}';
  assert.match(steps.find((s) => s.id === 'opam')!.run!, /baseline-key=ecocheck-baseline-\$commit-\$BASE_COMPILER/);
  const restore = steps.findIndex((s) => s.uses?.startsWith('actions/cache/restore@') === true);
  const record = steps.findIndex((s) => s.run?.includes('--baseline') === true);
  const save = steps.findIndex((s) => s.uses?.startsWith('actions/cache/save@') === true);
  assert.ok(restore >= 0 && restore < record && record < save, 'restore, record, save');
  assert.equal(steps[restore].with?.key, key);
  assert.equal(steps[save].with?.key, key);
  assert.equal(steps[record].if, "steps.baseline.outputs.cache-hit != 'true'");
  assert.equal(steps[save].if, "steps.baseline.outputs.cache-hit != 'true'");
  const cmds = ecocheckCommands(wf.jobs.prepare);
  assert.deepEqual(cmds.map((c) => c[1]), ['check', 'plan']);
  assert.equal(flag(cmds[0], '--compiler'), '$BASE_COMPILER');
  assert.ok(cmds[0].includes('--baseline'));
  assert.ok(cmds[1].includes('--predict'));
  assert.equal(flag(cmds[1], '--runners'), '$SHARDS');
  assert.equal(flag(cmds[1], '--cores'), '2');
  assert.equal(flag(cmds[1], '--compiler'), '.');
  for (const c of cmds) assert.equal(flag(c, '--state-dir'), '$STATE');
  assert.deepEqual(Object.keys(wf.jobs.prepare.outputs!).sort(), ['baseline-key', 'count', 'opam-commit', 'shards']);
});

test('shard: the PR compiler tree checked as shard I/N against the restored baseline, then exported with its logs and layers and uploaded', () => {
  const steps = wf.jobs.shard.steps;
  const restore = steps.find((s) => s.uses?.startsWith('actions/cache/restore@') === true)!;
  assert.equal(restore.with?.key, '${{ needs.prepare.outputs.baseline-key }}');
  assert.equal(restore.with?.['fail-on-cache-miss'], true);
  assert.equal(steps.find((s) => s.uses?.startsWith('actions/checkout@') === true && s.with?.repository === '${{ env.OPAM_REPOSITORY }}')!.with?.ref, '${{ needs.prepare.outputs.opam-commit }}');
  const cmds = ecocheckCommands(wf.jobs.shard);
  assert.deepEqual(cmds.map((c) => c[1]), ['check', 'runs', 'export']);
  const [check, , exp] = cmds;
  assert.equal(flag(check, '--compiler'), '.');
  assert.equal(flag(check, '--shard'), '${{ matrix.shard }}/${{ needs.prepare.outputs.count }}');
  assert.equal(flag(check, '--state-dir'), '$STATE');
  assert.equal(exp[2], '$run');
  assert.equal(flag(exp, '--output'), 'shard-${{ matrix.shard }}.json');
  assert.ok(exp.includes('--logs'));
  assert.ok(exp.includes('--layers'), "the shard's layers travel with its export");
  const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@') === true)!;
  assert.equal(upload.with?.name, 'ecocheck-shard-${{ matrix.shard }}');
  assert.deepEqual(String(upload.with?.path).trim().split('\n'), ['shard-${{ matrix.shard }}.json', 'shard-${{ matrix.shard }}.json.layers.tar']);
  // A shard whose check found regressions (exit 1) still exports; only an error fails the job, after the upload.
  const checkStep = steps.findIndex((s) => s.id === 'check');
  assert.match(steps[checkStep].run!, /\|\| status=\$\?/);
  assert.ok(steps.findIndex((s) => s === upload) > checkStep);
  assert.match(steps.at(-1)!.if!, /status != '0' && steps\.check\.outputs\.status != '1'/);
});

test('merge: the exports merged, the HTML report uploaded, the Markdown comment posted or updated, the verdict from the exit code', () => {
  const steps = wf.jobs.merge.steps;
  const download = steps.find((s) => s.uses?.startsWith('actions/download-artifact@') === true)!;
  assert.equal(download.with?.pattern, 'ecocheck-shard-*');
  assert.equal(download.with?.['merge-multiple'], true);
  const cmds = ecocheckCommands(wf.jobs.merge);
  assert.deepEqual(cmds.map((c) => `${c[1]} ${flag(c, '--format') ?? (c.includes('--pr-comment') ? 'pr-comment' : '')}`.trim()), ['merge', 'report html', 'report pr-comment']);
  // The reports name the merged run: when a shard is missing it is not finished, and the newest finished run would be the baseline.
  for (const c of cmds.slice(1)) assert.equal(flag(c, '--run'), '${{ steps.merge.outputs.run }}');
  assert.equal(cmds[0][2], 'exports/*.json');
  assert.equal(flag(cmds[1], '--output'), 'report.html');
  assert.equal(flag(cmds[2], '--report-url'), '${{ steps.upload.outputs.artifact-url }}');
  for (const c of cmds) assert.equal(flag(c, '--state-dir'), '$STATE');
  const at = (pred: (s: (typeof steps)[number]) => boolean) => steps.findIndex(pred);
  const order = [
    at((s) => s.id === 'merge'),
    at((s) => s.id === 'html'),
    at((s) => s.id === 'upload'),
    at((s) => s.id === 'markdown'),
    at((s) => s.uses?.startsWith('actions/github-script@') === true),
    steps.length - 1,
  ];
  assert.deepEqual([...order].sort((a, b) => a - b), order, `steps in order: ${order}`);
  assert.ok(order.every((i) => i >= 0));
  const comment = steps[order[4]];
  assert.match(comment.if!, /github\.event_name == 'pull_request'/);
  const script = String(comment.with?.script);
  assert.ok(script.includes(`const marker = '${PR_COMMENT_MARKER}'`), 'the marker the comment renderer writes');
  assert.match(script, /updateComment/);
  assert.match(script, /createComment/);
  assert.match(steps.at(-1)!.run!, /exit \$\{\{ steps\.markdown\.outputs\.status \}\}/);
  assert.match(steps.at(-1)!.run!, /steps\.merge\.outputs\.status/);
});

function lint(file: string, wf: Workflow, envVars: string[]): void {
  const text = readFileSync(file, 'utf8');
  assert.ok(!/\t/.test(text), 'no tabs');
  assert.equal((text.match(/\$\{\{/g) ?? []).length, (text.match(/\}\}/g) ?? []).length, 'expressions closed');
  const jobNames = new Set(Object.keys(wf.jobs));
  for (const [name, job] of Object.entries(wf.jobs)) {
    assert.equal(typeof job['runs-on'], 'string', `${name}: runs-on`);
    assert.ok(Array.isArray(job.steps) && job.steps.length > 0, `${name}: steps`);
    const needs = job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];
    for (const n of needs) assert.ok(jobNames.has(n) && n !== name, `${name} needs ${n}`);
    const ids = new Set<string>();
    for (const [i, step] of job.steps.entries()) {
      assert.ok((step.uses === undefined) !== (step.run === undefined), `${name} step ${i}: exactly one of uses and run`);
      if (step.uses !== undefined) assert.match(step.uses, /^[\w.-]+\/[\w./-]+@v\d+$/, `${name} step ${i}: a pinned action`);
      if (step.id !== undefined) {
        assert.ok(!ids.has(step.id), `${name}: step id ${step.id} twice`);
        ids.add(step.id);
      }
    }
    // Every steps.X and needs.Y.outputs.Z the job reads exists.
    const body = JSON.stringify(job);
    for (const m of body.matchAll(/steps\.([\w-]+)\.(?:outputs|outcome)/g)) assert.ok(ids.has(m[1]), `${name}: steps.${m[1]} is no step id of the job`);
    for (const m of body.matchAll(/needs\.([\w-]+)\.outputs\.([\w-]+)/g)) {
      assert.ok(needs.includes(m[1]), `${name} reads needs.${m[1]} without needing it`);
      assert.ok(wf.jobs[m[1]].outputs?.[m[2]] !== undefined, `${name}: ${m[1]} has no output ${m[2]}`);
    }
    for (const m of body.matchAll(/(?<![\w.])matrix\.([\w-]+)/g)) assert.ok(job.strategy?.matrix?.[m[1]] !== undefined, `${name}: matrix.${m[1]}`);
  }
  // Job outputs name step outputs that exist.
  for (const [name, job] of Object.entries(wf.jobs))
    for (const [out, expr] of Object.entries(job.outputs ?? {})) {
      const m = /^\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}$/.exec(expr);
      assert.ok(m !== null, `${name}.outputs.${out}`);
      const step = job.steps.find((s) => s.id === m[1])!;
      assert.ok(step.run?.includes(`${m[2]}=`) === true, `${name}: step ${m[1]} writes ${m[2]}`);
    }
  // The env the scripts use is defined.
  for (const v of envVars) assert.ok(wf.env?.[v] !== undefined, `env ${v}`);
}

test('lint: what GitHub refuses — unknown needs, steps with both or neither of uses/run, outputs and step ids that do not exist', () => {
  lint(WORKFLOW_FILE, wf, ['SHARDS', 'BASE_COMPILER', 'STATE', 'OPAM_REPO_DIR', 'ECOCHECK_REPOSITORY']);
});

const OPAM_WORKFLOW = join(projectRoot, '.github', 'workflows', 'ecocheck-opam-repository-pr.yml');

test('opam-repository pull requests: the change against its base checkout, on what depends on it, one comment, the verdict from the exit code', () => {
  const owf = readWorkflow(OPAM_WORKFLOW);
  lint(OPAM_WORKFLOW, owf, ['COMPILER', 'REVDEPS_DEPTH', 'STATE', 'ECOCHECK_REPOSITORY']);
  assert.deepEqual(Object.keys(owf.on).sort(), ['pull_request', 'workflow_call']);
  assert.deepEqual(Object.keys(owf.jobs), ['check']);
  const cmds = ecocheckCommands(owf.jobs.check);
  assert.deepEqual(cmds.map((c) => c[1]), ['check', 'runs', 'report', 'report']);
  assert.equal(flag(cmds[0], '--repo'), 'head');
  assert.equal(flag(cmds[0], '--changed-since'), 'base');
  assert.equal(flag(cmds[0], '--revdeps-depth'), '$REVDEPS_DEPTH');
  assert.ok(cmds[3].includes('--pr-comment'));
  for (const c of cmds) assert.equal(flag(c, '--state-dir'), '$STATE');
  const steps = owf.jobs.check.steps;
  assert.ok(steps.findIndex((s) => s.run?.includes('worktree add') === true) < steps.findIndex((s) => s.id === 'check'), 'the base is checked out before the check');
  assert.ok(steps.some((s) => s.with?.script !== undefined && String(s.with.script).includes(PR_COMMENT_MARKER)));
  assert.match(steps.at(-1)!.run!, /exit \$\{\{ steps\.check\.outputs\.status \}\}/);
});
