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

function flag(words: string[], name: string): string | undefined {
  const i = words.indexOf(name);
  return i < 0 ? undefined : words[i + 1];
}

test('triggers: a pull request, a schedule, a call from another workflow (with its inputs), by hand', () => {
  assert.deepEqual(Object.keys(wf.on).sort(), ['pull_request', 'schedule', 'workflow_call', 'workflow_dispatch']);
  const schedule = wf.on.schedule as { cron: string }[];
  assert.ok(Array.isArray(schedule) && schedule.length === 1 && /^\S+ \S+ \S+ \S+ \S+$/.test(schedule[0].cron));
  const inputs = (wf.on.workflow_call as { inputs: Record<string, { type: string; default: unknown }> }).inputs;
  assert.deepEqual(Object.keys(inputs).sort(), [
    'base-compiler',
    'ecocheck-ref',
    'ecocheck-repository',
    'opam-repository',
    'opam-repository-ref',
    'shards',
  ]);
  assert.equal(inputs.shards.type, 'number');
  for (const [name, input] of Object.entries(inputs)) assert.ok(['number', 'string', 'boolean'].includes(input.type), name);
  assert.deepEqual(wf.permissions, { contents: 'read', 'pull-requests': 'write', actions: 'read' });
});

test('jobs: prepare, the compilers once, the waves the prediction chose, then the shard matrix, then a merge that runs even when a shard failed', () => {
  assert.deepEqual(Object.keys(wf.jobs), ['prepare', 'compiler', 'wave1', 'wave2', 'wave3', 'shard', 'merge']);
  assert.equal(wf.jobs.prepare.needs, undefined);
  assert.equal(wf.jobs.compiler.needs, 'prepare');
  // A wave starts when the stage before it ended; it runs only when the prediction chose it.
  assert.deepEqual(wf.jobs.wave1.needs, ['prepare', 'compiler']);
  assert.deepEqual(wf.jobs.wave2.needs, ['prepare', 'compiler', 'wave1']);
  assert.deepEqual(wf.jobs.wave3.needs, ['prepare', 'compiler', 'wave1', 'wave2']);
  for (const w of [1, 2, 3]) {
    assert.match(wf.jobs[`wave${w}`].if!, new RegExp(`needs\\.prepare\\.outputs\\.waves >= ${w}`));
    assert.deepEqual(wf.jobs[`wave${w}`].strategy?.matrix, { part: '${{ fromJSON(needs.prepare.outputs.shards) }}' });
  }
  assert.match(wf.jobs.wave2.if!, /needs\.wave1\.result == 'success'/);
  // The shards after whichever waves ran (skipped ones included), never after a failed one.
  assert.deepEqual(wf.jobs.shard.needs, ['prepare', 'compiler', 'wave1', 'wave2', 'wave3']);
  assert.match(wf.jobs.shard.if!, /!contains\(needs\.\*\.result, 'failure'\)/);
  assert.match(wf.jobs.shard.if!, /needs\.compiler\.result == 'success'/);
  assert.deepEqual(wf.jobs.merge.needs, ['prepare', 'shard']);
  assert.match(wf.jobs.merge.if!, /always\(\)/);
  assert.match(wf.jobs.merge.if!, /needs\.prepare\.result == 'success'/);
  // The matrix is the list the prepare job computes from the shard count.
  assert.equal(wf.jobs.shard.strategy?.['fail-fast'], false);
  assert.deepEqual(wf.jobs.shard.strategy?.matrix, { shard: '${{ fromJSON(needs.prepare.outputs.shards) }}' });
  const shardList = wf.jobs.prepare.steps.find((s) => s.id === 'matrix')!.run!;
  assert.match(shardList, /shards=\[\$\(seq -s, 1 "\$SHARDS"\)\]/);
  assert.deepEqual(wf.jobs.compiler.strategy?.matrix, { side: ['baseline', 'candidate'] });
});

test('no single-runner step: every check builds a shard, except the compiler job (the compiler) and the waves (a part each)', () => {
  for (const [name, job] of Object.entries(wf.jobs)) {
    for (const c of ecocheckCommands(job).filter((w) => w[1] === 'check')) {
      if (name === 'compiler') {
        assert.deepEqual(
          c.filter((w, i) => i > 1 && !w.startsWith('-') && !c[i - 1].startsWith('--')),
          ['${prebuilt[@]}'],
          'the compiler job builds the prebuilt jobs only',
        );
        assert.equal(flag(c, '--shard'), undefined);
      } else if (name.startsWith('wave')) {
        assert.deepEqual(
          c.filter((w, i) => i > 1 && !w.startsWith('-') && !c[i - 1].startsWith('--')),
          ['${part[@]}'],
          'a wave builds its part only',
        );
      } else {
        assert.equal(name, 'shard', `${name} runs a check`);
        assert.equal(flag(c, '--shard'), '${{ matrix.shard }}/${{ needs.prepare.outputs.count }}');
      }
    }
    assert.ok(
      (job as { 'timeout-minutes'?: number })['timeout-minutes']! <= (name === 'shard' || name.startsWith('wave') ? 360 : 60),
      `${name}: timeout`,
    );
  }
  assert.deepEqual(
    ecocheckCommands(wf.jobs.prepare).map((c) => c[1]),
    ['plan'],
  );
});

test("prepare: the opam repository pinned, the baseline is the pull request's base commit (or a release asked for), one durations file for all, the makespan predicted", () => {
  const steps = wf.jobs.prepare.steps;
  assert.equal(wf.env?.BASE_SHA, "${{ github.event.pull_request.base.sha || '' }}");
  assert.equal(wf.env?.BASE_COMPILER, "${{ inputs.base-compiler || '' }}", 'no release unless asked for');
  const baseline = steps.find((s) => s.id === 'baseline')!.run!;
  assert.match(baseline, /elif \[ -n "\$BASE_SHA" \]/);
  assert.match(baseline, /base-sha=\$BASE_SHA/);
  assert.match(baseline, /rev-parse "\$BASE_SHA\^\{tree\}"/, "the baseline compiler's content hash");
  // The durations: restored by prefix (the newest check's), else the empty file (the stated estimate), uploaded once.
  const restore = steps.find((s) => s.uses?.startsWith('actions/cache/restore@') === true)!;
  assert.equal(restore.with?.['restore-keys'], 'ecocheck-durations-');
  assert.equal(restore.with?.path, 'durations');
  const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@') === true)!;
  assert.deepEqual([upload.with?.name, upload.with?.path], ['ecocheck-durations', 'durations/durations.json']);
  assert.equal(wf.env?.DURATIONS, '${{ github.workspace }}/durations/durations.json');
  // The baseline results' key: the opam commit, the baseline's identity, the durations file's hash, N.
  const key = steps.find((s) => s.id === 'key')!.run!;
  assert.match(
    key,
    /baseline-key=ecocheck-baseline-\$\{\{ steps\.opam\.outputs\.commit \}\}-\$\{\{ steps\.baseline\.outputs\.id \}\}-\$\(sha256sum "\$DURATIONS".*\)-\$SHARDS/,
  );
  const [plan] = ecocheckCommands(wf.jobs.prepare);
  assert.ok(plan.includes('--predict'));
  assert.equal(flag(plan, '--runners'), '$SHARDS');
  assert.equal(flag(plan, '--cores'), '4');
  assert.equal(flag(plan, '--durations'), '$DURATIONS');
  assert.equal(flag(plan, '--compiler'), '.');
  assert.deepEqual(Object.keys(wf.jobs.prepare.outputs!).sort(), [
    'base-compiler',
    'base-sha',
    'baseline-key',
    'count',
    'opam-commit',
    'shards',
    'waves',
  ]);
  // How many waves: the prediction's wave lines.
  assert.match(steps.find((s) => s.id === 'predict')!.run!, /waves=\$\(grep -c '\^wave \[0-9\]' prediction\.txt/);
});

test("compiler: each side's compiler (and what most targets need) built once, at the base commit for the baseline, exported with its layers and uploaded", () => {
  const steps = wf.jobs.compiler.steps;
  const checkout = steps.find((s) => s.uses?.startsWith('actions/checkout@') === true && s.with?.path === 'compiler')!;
  assert.equal(checkout.with?.ref, "${{ matrix.side == 'baseline' && needs.prepare.outputs.base-sha || '' }}");
  const cmds = ecocheckCommands(wf.jobs.compiler);
  assert.deepEqual(
    cmds.map((c) => c[1]),
    ['plan', 'check', 'runs', 'export'],
  );
  // The prebuilt list from the same plan the shards split (same repository, compiler, N), then built.
  assert.equal(flag(cmds[0], '--prebuilt-list'), 'prebuilt.txt');
  assert.equal(flag(cmds[0], '--runners'), '$SHARDS');
  assert.match(steps.find((s) => s.run?.includes('--prebuilt-list') === true)!.run!, /mapfile -t prebuilt < prebuilt\.txt/);
  for (const c of cmds.slice(0, 2)) assert.equal(flag(c, '--compiler'), '$compiler');
  const exp = cmds[3];
  assert.equal(flag(exp, '--output'), 'compiler-${{ matrix.side }}.json');
  assert.ok(exp.includes('--layers'), 'the layers are what the shards import');
  const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@') === true)!;
  assert.equal(upload.with?.name, 'ecocheck-compiler-${{ matrix.side }}');
  assert.deepEqual(String(upload.with?.path).trim().split('\n'), [
    'compiler-${{ matrix.side }}.json',
    'compiler-${{ matrix.side }}.json.layers.tar',
  ]);
});

test('waves: each part lists its jobs as every runner computes them, builds them per side after importing the earlier stages, exports them with their layers', () => {
  for (const w of [1, 2, 3]) {
    const job = wf.jobs[`wave${w}`];
    const cmds = ecocheckCommands(job);
    assert.deepEqual(
      cmds.map((c) => c[1]),
      ['merge', 'plan', 'check', 'runs', 'export'],
    );
    const [merge, plan, check, , exp] = cmds;
    assert.equal(merge[2], '$export');
    const importStep = job.steps.find((s) => s.run?.includes('merge') === true)!;
    assert.match(importStep.run!, /for export in before\/\*\.json/);
    // Downloads: both compilers, and (from the second wave on) the earlier waves.
    const patterns = job.steps.filter((s) => s.uses?.startsWith('actions/download-artifact@') === true).map((s) => s.with?.pattern);
    assert.deepEqual(patterns, [undefined, 'ecocheck-compiler-*', ...(w > 1 ? ['ecocheck-wave-*'] : [])]);
    // The part: the same plan, durations and N as the shards' split.
    assert.ok(plan.includes('--predict'));
    assert.equal(flag(plan, '--wave'), String(w));
    assert.equal(flag(plan, '--part'), '${{ matrix.part }}');
    assert.equal(flag(plan, '--runners'), '$SHARDS');
    assert.equal(flag(plan, '--durations'), '$DURATIONS');
    assert.equal(flag(plan, '--prebuilt-list'), 'wave-$side.txt');
    for (const c of [plan, check]) assert.equal(flag(c, '--compiler'), '$compiler');
    assert.equal(flag(check, '--shard'), undefined);
    assert.ok(exp.includes('--layers'), 'later stages import its layers');
    assert.equal(flag(exp, '--output'), `wave-${w}-\${{ matrix.part }}-$side.json`);
    const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@') === true)!;
    assert.equal(upload.with?.name, `ecocheck-wave-${w}-\${{ matrix.part }}`);
    // Exit 1 (failed packages) is recorded and exported; 2 or 3 stops.
    const build = job.steps.find((s) => s.run?.includes('--wave') === true)!.run!;
    assert.match(build, /\|\| status=\$\?/);
    assert.match(build, /if \[ "\$status" -gt 1 \]; then exit "\$status"; fi/);
    assert.match(build, /\[ "\$BASELINE_CACHED" = true \]; then continue/);
  }
});

test('shard: the compilers imported, then shard I/N of the baseline (base commit; skipped on a cache hit) and of the candidate, the same partition inputs, both exported without layers', () => {
  const steps = wf.jobs.shard.steps;
  const at = (pred: (s: (typeof steps)[number]) => boolean) => steps.findIndex(pred);
  assert.equal(
    steps.find((s) => s.uses?.startsWith('actions/checkout@') === true && s.with?.repository === '${{ env.OPAM_REPOSITORY }}')!.with?.ref,
    '${{ needs.prepare.outputs.opam-commit }}',
  );
  const base = steps.find((s) => s.uses?.startsWith('actions/checkout@') === true && s.with?.path === 'compiler-base')!;
  assert.equal(base.with?.ref, '${{ needs.prepare.outputs.base-sha }}', 'the baseline is the base commit');
  const durations = steps.find((s) => s.uses?.startsWith('actions/download-artifact@') === true && s.with?.name === 'ecocheck-durations')!;
  assert.equal(durations.with?.path, 'durations', 'where $DURATIONS is');
  const cmds = ecocheckCommands(wf.jobs.shard);
  assert.deepEqual(
    cmds.map((c) => c[1]),
    ['merge', 'merge', 'merge', 'check', 'runs', 'export', 'check', 'runs', 'export'],
  );
  assert.deepEqual(
    [cmds[0][2], cmds[1][2], cmds[2][2]],
    ['compilers/compiler-baseline.json', 'compilers/compiler-candidate.json', '$export'],
  );
  assert.match(
    steps.find((s) => s.run?.includes('compilers/compiler-baseline.json') === true)!.run!,
    /for export in compilers\/wave-\*\.json/,
  );
  const [, , , baseCheck, , baseExport, check, , exp] = cmds;
  // Both sides: the same shard, the same durations file (so the same partition), the baseline first.
  for (const c of [baseCheck, check]) {
    assert.equal(flag(c, '--shard'), '${{ matrix.shard }}/${{ needs.prepare.outputs.count }}');
    assert.equal(flag(c, '--durations'), '$DURATIONS');
    assert.equal(flag(c, '--state-dir'), '$STATE');
  }
  assert.ok(baseCheck.includes('--baseline'));
  assert.equal(flag(baseCheck, '--compiler'), '$compiler');
  assert.match(steps.find((s) => s.id === 'baseline')!.run!, /compiler="\$\{BASE_RELEASE:-\$GITHUB_WORKSPACE\/compiler-base\}"/);
  assert.equal(flag(check, '--compiler'), '.');
  for (const e of [baseExport, exp]) {
    assert.ok(e.includes('--logs'));
    assert.ok(!e.includes('--layers'), 'no layers leave a shard');
  }
  assert.equal(flag(baseExport, '--output'), 'baseline-${{ matrix.shard }}.json');
  assert.equal(flag(exp, '--output'), 'candidate-${{ matrix.shard }}.json');
  // The baseline results: restored, built only on a miss, saved only when built.
  const restore = at((s) => s.id === 'cached');
  const record = at((s) => s.id === 'baseline');
  const save = at((s) => s.uses?.startsWith('actions/cache/save@') === true);
  const imports = at((s) => s.run?.includes('compilers/compiler-baseline.json') === true);
  assert.ok(
    imports < restore && restore < record && record < save && save < at((s) => s.id === 'check'),
    'import, restore, baseline, save, candidate',
  );
  assert.equal(steps[restore].with?.key, '${{ needs.prepare.outputs.baseline-key }}-${{ matrix.shard }}');
  assert.equal(steps[save].with?.key, steps[restore].with?.key);
  assert.equal(steps[record].if, "steps.cached.outputs.cache-hit != 'true'");
  assert.match(steps[save].if!, /steps\.cached\.outputs\.cache-hit != 'true'/);
  const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@') === true)!;
  assert.equal(upload.with?.name, 'ecocheck-shard-${{ matrix.shard }}');
  assert.deepEqual(String(upload.with?.path).trim().split('\n'), [
    'baseline-${{ matrix.shard }}.json',
    'candidate-${{ matrix.shard }}.json',
  ]);
  // A shard whose check found regressions (exit 1) still exports; only an error fails the job, after the upload.
  const checkStep = at((s) => s.id === 'check');
  assert.match(steps[checkStep].run!, /\|\| status=\$\?/);
  assert.ok(steps.indexOf(upload) > checkStep);
  assert.match(steps.at(-1)!.if!, /status != '0' && steps\.check\.outputs\.status != '1'/);
});

test("the cache holds small files only: each shard's baseline export and the durations, never a state dir or a store", () => {
  const cached: string[] = [];
  for (const [name, job] of Object.entries(wf.jobs))
    for (const s of job.steps.filter((x) => x.uses?.startsWith('actions/cache') === true)) {
      assert.ok(/^actions\/cache\/(restore|save)@/.test(s.uses!), `${name}: restore or save, never the combined action`);
      const path = String(s.with?.path);
      assert.ok(!path.includes('STATE') && !/state/i.test(path) && !path.includes('\n'), `${name}: caches ${path}`);
      // A wave only asks whether the baseline is cached (then it skips the baseline side), reading nothing.
      if (name.startsWith('wave')) assert.deepEqual([s.with?.['lookup-only'], path], [true, 'baseline-1.json']);
      else cached.push(path);
    }
  assert.deepEqual([...new Set(cached)].sort(), ['baseline-${{ matrix.shard }}.json', 'durations']);
  // What is written there: an export without layers, a durations file.
  const baselineExport = ecocheckCommands(wf.jobs.shard).find(
    (c) => c[1] === 'export' && flag(c, '--output') === 'baseline-${{ matrix.shard }}.json',
  )!;
  assert.ok(!baselineExport.includes('--layers'));
  const dur = ecocheckCommands(wf.jobs.merge).find((c) => c[1] === 'durations')!;
  assert.equal(flag(dur, '--output'), 'durations/durations.json');
});

test("merge: each side's shards merged, the durations kept for the next check, the HTML report uploaded, the comment posted or updated, the verdict from the exit code", () => {
  const steps = wf.jobs.merge.steps;
  const download = steps.find((s) => s.uses?.startsWith('actions/download-artifact@') === true)!;
  assert.equal(download.with?.pattern, 'ecocheck-shard-*');
  assert.equal(download.with?.['merge-multiple'], true);
  const cmds = ecocheckCommands(wf.jobs.merge);
  assert.deepEqual(
    cmds.map((c) => `${c[1]} ${flag(c, '--format') ?? (c.includes('--pr-comment') ? 'pr-comment' : '')}`.trim()),
    ['merge', 'merge', 'durations', 'report html', 'report pr-comment'],
  );
  assert.deepEqual([cmds[0][2], cmds[1][2]], ['exports/baseline-*.json', 'exports/candidate-*.json']);
  assert.deepEqual(
    [flag(cmds[2], '--run'), cmds[2][cmds[2].lastIndexOf('--run') + 1]],
    ['${{ steps.merge.outputs.baseline }}', '${{ steps.merge.outputs.run }}'],
  );
  // The reports name both merged runs.
  for (const c of cmds.slice(3)) {
    assert.equal(flag(c, '--run'), '${{ steps.merge.outputs.run }}');
    assert.equal(flag(c, '--against'), '${{ steps.merge.outputs.baseline }}');
  }
  assert.equal(flag(cmds[3], '--output'), 'report.html');
  assert.equal(flag(cmds[4], '--report-url'), '${{ steps.upload.outputs.artifact-url }}');
  for (const c of cmds) assert.equal(flag(c, '--state-dir'), '$STATE');
  const save = steps.find((s) => s.uses?.startsWith('actions/cache/save@') === true)!;
  assert.equal(save.with?.key, 'ecocheck-durations-${{ github.run_id }}');
  const at = (pred: (s: (typeof steps)[number]) => boolean) => steps.findIndex(pred);
  const order = [
    at((s) => s.id === 'merge'),
    at((s) => s.id === 'html'),
    at((s) => s.id === 'upload'),
    at((s) => s.id === 'markdown'),
    at((s) => s.uses?.startsWith('actions/github-script@') === true),
    steps.length - 1,
  ];
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
    `steps in order: ${order}`,
  );
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
    for (const m of body.matchAll(/steps\.([\w-]+)\.(?:outputs|outcome)/g))
      assert.ok(ids.has(m[1]), `${name}: steps.${m[1]} is no step id of the job`);
    for (const m of body.matchAll(/needs\.([\w-]+)\.outputs\.([\w-]+)/g)) {
      assert.ok(needs.includes(m[1]), `${name} reads needs.${m[1]} without needing it`);
      assert.ok(wf.jobs[m[1]].outputs?.[m[2]] !== undefined, `${name}: ${m[1]} has no output ${m[2]}`);
    }
    for (const m of body.matchAll(/(?<![\w.])matrix\.([\w-]+)/g))
      assert.ok(job.strategy?.matrix?.[m[1]] !== undefined, `${name}: matrix.${m[1]}`);
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
  lint(WORKFLOW_FILE, wf, [
    'SHARDS',
    'BASE_COMPILER',
    'BASE_SHA',
    'FALLBACK_COMPILER',
    'STATE',
    'OPAM_REPO_DIR',
    'ECOCHECK_REPOSITORY',
    'DURATIONS',
  ]);
});

const OPAM_WORKFLOW = join(projectRoot, '.github', 'workflows', 'ecocheck-opam-repository-pr.yml');

test('opam-repository pull requests: the change against its base checkout, on what depends on it, one comment, the verdict from the exit code', () => {
  const owf = readWorkflow(OPAM_WORKFLOW);
  lint(OPAM_WORKFLOW, owf, ['COMPILER', 'REVDEPS_DEPTH', 'STATE', 'ECOCHECK_REPOSITORY']);
  assert.deepEqual(Object.keys(owf.on).sort(), ['pull_request', 'workflow_call']);
  assert.deepEqual(Object.keys(owf.jobs), ['check']);
  const cmds = ecocheckCommands(owf.jobs.check);
  assert.deepEqual(
    cmds.map((c) => c[1]),
    ['check', 'runs', 'report', 'report'],
  );
  assert.equal(flag(cmds[0], '--repo'), 'head');
  assert.equal(flag(cmds[0], '--changed-since'), 'base');
  assert.equal(flag(cmds[0], '--revdeps-depth'), '$REVDEPS_DEPTH');
  assert.ok(cmds[3].includes('--pr-comment'));
  for (const c of cmds) assert.equal(flag(c, '--state-dir'), '$STATE');
  const steps = owf.jobs.check.steps;
  assert.ok(
    steps.findIndex((s) => s.run?.includes('worktree add') === true) < steps.findIndex((s) => s.id === 'check'),
    'the base is checked out before the check',
  );
  assert.ok(steps.some((s) => s.with?.script !== undefined && String(s.with.script).includes(PR_COMMENT_MARKER)));
  assert.match(steps.at(-1)!.run!, /exit \$\{\{ steps\.check\.outputs\.status \}\}/);
});
