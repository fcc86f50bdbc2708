/**
 * END TO END (e2e tier), issue 22's acceptance: the CI workflow's steps, read from the workflow file and
 * run locally, on a synthetic ecosystem of hundreds of packages (`ecocheck synthesize --names 12` of the
 * real snapshot: ~260 names with their real dependency structure, trivial builds, the real sandbox,
 * Debian's OCaml as `ocaml-system.4.13.1`), for N = 4 and N = 8: the compiler job (per side: the
 * prebuilt list, built, exported with its layers), N shards (each imports both sides' first jobs, then
 * builds its shard of the baseline, then of the candidate, same partition) and the merge job (each
 * side merged, the report): the merged report is one machine's (same targets, statuses, root causes,
 * counts), and the shards together build more than one machine (duplication shows).
 *
 * The commands are the workflow's own `ecocheck` lines (tests/support/workflow-commands.ts), with its
 * variables and expressions substituted; what differs from CI, on purpose: the repository is the
 * synthetic overlay over fixtures/compilers and the snapshot (several --repo); the targets are a
 * sixth of the slice's names (the workflow checks every package; solving all ~260 names in each of
 * the ~30 commands would take minutes); `--depexts ignore` for `--depexts install` (no system package
 * is installed here); both sides have the same compiler, and the candidate's change is an overlay in
 * front of its repositories that makes two packages' builds fail (regressions and dependency failures
 * to report, as a compiler change would cause); a shard's export takes the run its check announced
 * (the workflow asks `ecocheck runs`, as the first job does here). One machine's baseline and
 * candidate are checked once and serve both N. Shards and the two sides' first jobs run two at a time, as runners would in parallel.
 *
 * Measured on the 2-core machine, loaded by other work: see the README's CI section.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot, snapshotRepo } from '../../support/snapshot.js';
import { skipWithoutSyntheticSlice } from '../../support/synthetic-slice.js';
import {
  comparisonVerdict,
  ecocheckCommands,
  readWorkflow,
  type JsonComparison,
  type WorkflowJob,
} from '../../support/workflow-commands.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const run = promisify(execFile);

async function ecocheck(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [bin, ...args], { cwd, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

/** Runs `tasks` at most `width` at a time, in order of start. */
async function pool<T>(width: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array<T>(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]();
      }
    }),
  );
  return out;
}

const COMPILER = 'ocaml-system.4.13.1';
/** The packages the candidate's change breaks (each present in the slice; their dependents fail too). */
const BROKEN = ['fmt', 'ppx_derivers'];

test(
  "e2e: the workflow's steps on a synthetic slice of the snapshot, N = 4 and 8: the merged report is one machine's",
  // 15 min here under load 9 with the waves (about 10 min of CPU time): room for a loaded CI runner.
  { skip: skipWithoutSyntheticSlice(), timeout: 40 * 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecocheck-synthetic-workflow-'));
    try {
      const snapshot = snapshotRepo();
      const synth = join(dir, 'synth');
      const made = await ecocheck(['synthesize', synth, '--repo', snapshot, '--names', '12'], dir);
      assert.equal(made.code, 0, made.stderr);
      const names = readdirSync(join(synth, 'packages')).sort();
      assert.ok(names.length >= 200, `a slice of hundreds of names: ${names.length}`);
      for (const b of BROKEN) assert.ok(names.includes(b), `${b} is in the slice`);
      const targets = [...new Set([...names.filter((_, i) => i % 6 === 5), ...BROKEN])].sort();

      // The candidate's change: an overlay in front whose versions of BROKEN fail to build.
      const change = join(dir, 'change');
      for (const b of BROKEN) {
        cpSync(join(synth, 'packages', b), join(change, 'packages', b), { recursive: true });
        for (const v of readdirSync(join(change, 'packages', b))) {
          const file = join(change, 'packages', b, v, 'opam');
          writeFileSync(file, readFileSync(file, 'utf8').replace(/^build: \[[\s\S]*?^\]/m, 'build: [["false"]]'));
        }
      }
      writeFileSync(join(change, 'repo'), 'opam-version: "2.0"\n');
      const behind = [synth, join(projectRoot, 'fixtures', 'compilers'), snapshot];
      const repos = { baseline: behind, candidate: [change, ...behind] };
      const common = ['--depexts', 'ignore', '--jobs', '2'];

      // One machine, checked once for both N: the baseline, then the candidate, in one state.
      const single = join(dir, 'single');
      mkdirSync(single);
      const repoArgs = (side: 'baseline' | 'candidate') => repos[side].flatMap((r) => ['--repo', r]);
      const b1 = await ecocheck(
        [
          'check',
          '--baseline',
          ...targets,
          ...repoArgs('baseline'),
          '--compiler',
          COMPILER,
          ...common,
          '--state-dir',
          join(single, 'state'),
        ],
        single,
      );
      assert.equal(b1.code, 0, b1.stderr.slice(-3000));
      const oneJobs = Number(/(\d+) jobs/.exec(b1.stderr)?.[1]);
      const c1 = await ecocheck(
        [
          'check',
          ...targets,
          ...repoArgs('candidate'),
          '--compiler',
          COMPILER,
          ...common,
          '--retries',
          '0',
          '--format',
          'json',
          '--state-dir',
          join(single, 'state'),
        ],
        single,
      );
      assert.equal(c1.code, 1, c1.stderr.slice(-3000));
      const expected = comparisonVerdict(JSON.parse(c1.stdout) as JsonComparison);
      assert.ok((expected.counts.regressed ?? 0) >= BROKEN.length, `the change breaks ${BROKEN}: ${JSON.stringify(expected.counts)}`);
      assert.ok((expected.counts['dependency-regressed'] ?? 0) >= 1, `and what depends on them: ${JSON.stringify(expected.counts)}`);
      // The durations the workflow's runners split with: shared libraries that make a wave pay (see sharedLibraryDurations).
      const planned = await ecocheck(
        [
          'plan',
          ...targets,
          ...repoArgs('baseline'),
          '--compiler',
          COMPILER,
          '--depexts',
          'ignore',
          '--json',
          '--state-dir',
          join(dir, 'plan-state'),
        ],
        dir,
      );
      assert.equal(planned.code, 0, planned.stderr);
      const durations = join(dir, 'durations.json');
      writeFileSync(durations, sharedLibraryDurations(JSON.parse(planned.stdout) as PlanJson));

      const wf = readWorkflow();
      for (const N of [4, 8]) {
        const work = join(dir, `n${N}`);
        mkdirSync(work);
        /** A workflow command with its variables and expressions substituted (see the module comment). */
        const substitute = (words: string[], side: 'baseline' | 'candidate', vars: Record<string, string | string[]>): string[] => {
          const out: string[] = [];
          for (let i = 1; i < words.length; i++) {
            const w = words[i];
            if (w === '--repo' && words[i + 1] === '$OPAM_REPO_DIR') {
              out.push(...repoArgs(side));
              i++;
            } else if (w === '--compiler' && (words[i + 1] === '.' || words[i + 1] === '$compiler')) {
              out.push('--compiler', COMPILER);
              i++;
            } else if (w === '--depexts' && words[i + 1] === 'install') {
              out.push('--depexts', 'ignore');
              i++;
            } else if (w in vars) {
              const v = vars[w];
              out.push(...(Array.isArray(v) ? v : [v]));
            } else out.push(w.replace(/\$\{\{ matrix\.side \}\}/g, side));
          }
          return out;
        };
        const is = (c: string[], verb: string) => c[1] === verb;

        // compiler: per side, in parallel.
        const compilerCmds = ecocheckCommands(wf.jobs.compiler as WorkflowJob);
        assert.deepEqual(
          compilerCmds.map((c) => c[1]),
          ['plan', 'check', 'runs', 'export'],
        );
        assert.equal(
          compilerCmds[0][compilerCmds[0].indexOf('--durations') + 1],
          '$DURATIONS',
          'the first job lists what the shards count as built, from their durations',
        );
        const firstJob = async (side: 'baseline' | 'candidate'): Promise<string> => {
          const cwd = join(work, `compiler-${side}`);
          mkdirSync(cwd);
          const vars: Record<string, string | string[]> = { $STATE: join(cwd, 'state'), $SHARDS: String(N), $DURATIONS: durations };
          for (const cmd of compilerCmds) {
            if (is(cmd, 'runs')) continue;
            if (is(cmd, 'check')) vars['${prebuilt[@]}'] = readFileSync(join(cwd, 'prebuilt.txt'), 'utf8').trim().split('\n');
            if (is(cmd, 'export')) vars.$run = String(await newestRunId(cwd, vars.$STATE as string, false));
            const r = await ecocheck(
              [...substitute(cmd, side, vars), ...(is(cmd, 'check') ? ['--jobs', '2'] : is(cmd, 'plan') ? targets : [])],
              cwd,
            );
            // The workflow lets the first job's check exit 1 (prebuilt packages that fail: recorded, reported by the shards).
            assert.ok(r.code === 0 || (is(cmd, 'check') && r.code === 1), `${side} ${cmd[1]}: ${r.stderr.slice(-3000)}`);
          }
          return join(cwd, `compiler-${side}.json`);
        };
        const [baseFirst, candFirst] = await pool(2, [() => firstJob('baseline'), () => firstJob('candidate')]);
        const prebuiltCount = readFileSync(join(work, 'compiler-candidate', 'prebuilt.txt'), 'utf8')
          .trim()
          .split('\n').length;

        // prepare: the prediction says how many waves run (the workflow skips the others).
        const [predictCmd] = ecocheckCommands(wf.jobs.prepare as WorkflowJob);
        const predicted = await ecocheck(
          [
            ...substitute(predictCmd, 'candidate', { $STATE: join(work, 'prepare-state'), $SHARDS: String(N), $DURATIONS: durations }),
            ...targets,
          ],
          work,
        );
        assert.equal(predicted.code, 0, predicted.stderr);
        const waves = predicted.stdout.split('\n').filter((l) => /^wave [0-9]/.test(l)).length;
        assert.ok(waves >= 1, `N = ${N}: the shared libraries are built in a wave: ${predicted.stdout}`);

        // waves: each part imports the first jobs and the earlier waves, then builds its part of each side.
        const exported: string[] = [baseFirst, candFirst];
        const waveBuilt = new Set<string>();
        /** How many jobs each wave part built on the baseline side (where nothing fails). */
        const waveJobs: number[] = [];
        for (let w = 1; w <= waves; w++) {
          const waveCmds = ecocheckCommands(wf.jobs[`wave${w}`] as WorkflowJob);
          assert.deepEqual(
            waveCmds.map((c) => c[1]),
            ['merge', 'plan', 'check', 'runs', 'export'],
          );
          const made = await pool(
            2,
            Array.from({ length: N }, (_, n) => async () => {
              const i = n + 1;
              const cwd = join(work, `wave-${w}-${i}`);
              mkdirSync(join(cwd, 'before'), { recursive: true });
              const state = join(cwd, 'state');
              for (const f of exported) {
                cpSync(f, join(cwd, 'before', basename(f)));
                cpSync(`${f}.layers.tar`, join(cwd, 'before', `${basename(f)}.layers.tar`));
              }
              const vars: Record<string, string | string[]> = { $STATE: state, $SHARDS: String(N), $DURATIONS: durations };
              const out: string[] = [];
              const [merge, plan, check, , exp] = waveCmds;
              for (const f of readdirSync(join(cwd, 'before')).filter((x) => x.endsWith('.json'))) {
                const r = await ecocheck(substitute(merge, 'baseline', { ...vars, $export: join(cwd, 'before', f) }), cwd);
                assert.equal(r.code, 0, `wave ${w} part ${i}: merge ${f}: ${r.stderr}`);
              }
              for (const side of ['baseline', 'candidate'] as const) {
                const local = (words: string[]) =>
                  substitute(words, side, vars).map((x) => x.replace(/\$side/g, side).replace(/\$\{\{ matrix\.part \}\}/g, String(i)));
                let r = await ecocheck([...local(plan), ...targets], cwd);
                assert.equal(r.code, 0, `wave ${w} part ${i} ${side}: plan: ${r.stderr}`);
                const part = readFileSync(join(cwd, `wave-${side}.txt`), 'utf8')
                  .split('\n')
                  .filter((x) => x !== '');
                if (part.length === 0) continue;
                if (side === 'candidate') for (const id of part) waveBuilt.add(id);
                r = await ecocheck([...local(check).flatMap((x) => (x === '${part[@]}' ? part : [x])), '--jobs', '2'], cwd);
                assert.ok(r.code === 0 || r.code === 1, `wave ${w} part ${i} ${side}: check: ${r.stderr.slice(-3000)}`);
                if (side === 'baseline') waveJobs.push(Number(/jobs: (\d+) built/.exec(r.stdout + r.stderr)?.[1] ?? 0));
                const run = /^ecocheck: run #(\d+) /m.exec(r.stderr)?.[1] ?? 'none';
                r = await ecocheck(
                  local(exp).map((x) => (x === '$run' ? run : x)),
                  cwd,
                );
                assert.equal(r.code, 0, `wave ${w} part ${i} ${side}: export: ${r.stderr}`);
                out.push(join(cwd, `wave-${w}-${i}-${side}.json`));
              }
              return out;
            }),
          );
          exported.push(...made.flat());
        }
        assert.ok(waveBuilt.size >= 1, `N = ${N}: the waves built something`);
        const waveExports = exported.slice(2);

        // shard: each imports both first jobs and the waves, then its shard of the baseline, then of the candidate.
        const shardCmds = ecocheckCommands(wf.jobs.shard as WorkflowJob);
        assert.deepEqual(
          shardCmds.map((c) => c[1]),
          ['merge', 'merge', 'merge', 'check', 'runs', 'export', 'check', 'runs', 'export'],
        );
        const exportsDir = join(work, 'exports');
        mkdirSync(exportsDir);
        const shardBuilt: number[] = [];
        await pool(
          2,
          Array.from({ length: N }, (_, n) => async () => {
            const i = n + 1;
            const cwd = join(work, `shard-${i}`);
            mkdirSync(join(cwd, 'compilers'), { recursive: true });
            cpSync(baseFirst, join(cwd, 'compilers', 'compiler-baseline.json'));
            cpSync(`${baseFirst}.layers.tar`, join(cwd, 'compilers', 'compiler-baseline.json.layers.tar'));
            cpSync(candFirst, join(cwd, 'compilers', 'compiler-candidate.json'));
            cpSync(`${candFirst}.layers.tar`, join(cwd, 'compilers', 'compiler-candidate.json.layers.tar'));
            for (const f of waveExports) {
              cpSync(f, join(cwd, 'compilers', basename(f)));
              cpSync(`${f}.layers.tar`, join(cwd, 'compilers', `${basename(f)}.layers.tar`));
            }
            const state = join(cwd, 'state');
            const vars: Record<string, string | string[]> = {
              $STATE: state,
              $DURATIONS: durations,
              '${{ matrix.shard }}/${{ needs.prepare.outputs.count }}': `${i}/${N}`,
            };
            let side: 'baseline' | 'candidate' = 'baseline';
            for (const cmd of shardCmds) {
              if (is(cmd, 'runs')) continue;
              if (cmd.includes('$export')) {
                // The workflow's loop over the waves' exports.
                for (const f of waveExports) {
                  const r = await ecocheck(substitute(cmd, side, { ...vars, $export: join(cwd, 'compilers', basename(f)) }), cwd);
                  assert.equal(r.code, 0, `shard ${i}/${N}: merge ${basename(f)}: ${r.stderr}`);
                }
                continue;
              }
              if (is(cmd, 'check')) side = cmd.includes('--baseline') ? 'baseline' : 'candidate';
              const args = substitute(cmd, side, vars).map((w) => w.replace(/\$\{\{ matrix\.shard \}\}/g, String(i)));
              const r = await ecocheck([...args, ...(is(cmd, 'check') ? [...targets, '--jobs', '2', '--retries', '0'] : [])], cwd);
              assert.ok(
                r.code === 0 || (is(cmd, 'check') && r.code === 1),
                `shard ${i}/${N} ${side} ${cmd[1]}: ${r.code} ${r.stderr.slice(-3000)}`,
              );
              if (is(cmd, 'check')) {
                // The run the next export takes (the workflow asks `ecocheck runs`; the check says it).
                vars.$run = /^ecocheck: run #(\d+) /m.exec(r.stderr)?.[1] ?? 'none';
                if (side === 'baseline') shardBuilt.push(Number(/jobs: (\d+) built/.exec(r.stdout + r.stderr)?.[1] ?? 0));
                const firstJobs = (r.stderr.split('\n') as string[]).filter((l) => /^\[\d+\/\d+\] /.test(l) && l.includes(COMPILER));
                for (const l of firstJobs) assert.match(l, /\(cached\)/, `shard ${i} ${side}: the compiler is the first job's: ${l}`);
                // What the waves built comes from their layers: no shard builds it again.
                if (side === 'candidate')
                  for (const l of (r.stderr.split('\n') as string[]).filter((x) => /^\[\d+\/\d+\] /.test(x)))
                    if (waveBuilt.has(/^\[\d+\/\d+\] (\S+)/.exec(l)![1]))
                      assert.match(l, /\(cached\)/, `shard ${i}: built by a wave: ${l}`);
              }
            }
            for (const f of readdirSync(cwd).filter((f) => /^(baseline|candidate)-\d+\.json$/.test(f)))
              cpSync(join(cwd, f), join(exportsDir, f));
          }),
        );

        // merge: each side, then the report of the candidate against the baseline.
        const mergeCmds = ecocheckCommands(wf.jobs.merge as WorkflowJob);
        assert.deepEqual(
          mergeCmds.map((c) => c[1]),
          ['merge', 'merge', 'durations', 'report', 'report'],
        );
        const cwd = join(work, 'merge');
        mkdirSync(cwd);
        const state = join(cwd, 'state');
        const ids: Record<string, string> = {};
        for (const cmd of mergeCmds.slice(0, 2)) {
          const side = cmd.some((w) => w.includes('baseline')) ? 'baseline' : 'candidate';
          const files = readdirSync(exportsDir)
            .filter((f) => f.startsWith(`${side}-`))
            .map((f) => join(exportsDir, f));
          assert.equal(files.length, N, `${side}: one export a shard`);
          const args = cmd.slice(1, cmd.indexOf('>')).flatMap((w) => (w.endsWith('-*.json') ? files : w === '$STATE' ? [state] : [w]));
          const r = await ecocheck(args, cwd);
          assert.equal(r.code, 0, `merge ${side}: ${r.stderr}${r.stdout}`);
          ids[side] = String((JSON.parse(r.stdout) as { runId: number }).runId);
        }
        const reportCmd = mergeCmds[3];
        const args = reportCmd
          .slice(1)
          .map((w) =>
            w === '$STATE'
              ? state
              : w === '${{ steps.merge.outputs.run }}'
                ? ids.candidate
                : w === '${{ steps.merge.outputs.baseline }}'
                  ? ids.baseline
                  : w,
          )
          .map((w, k, all) => (all[k - 1] === '--format' ? 'json' : all[k - 1] === '--output' ? join(cwd, 'report.json') : w));
        const r = await ecocheck(args, cwd);
        assert.equal(r.code, 1, r.stderr);
        const merged = comparisonVerdict(JSON.parse(readFileSync(join(cwd, 'report.json'), 'utf8')) as JsonComparison);
        assert.deepEqual(merged, expected, `N = ${N}: the merged report is one machine's`);
        // The baseline side (nothing fails there): the first job, the waves and the shards build every job
        // of one machine at least once (what the waves built, no shard built again: checked above).
        const built = shardBuilt.reduce((s, x) => s + x, 0);
        const inWaves = waveJobs.reduce((s, x) => s + x, 0);
        assert.ok(prebuiltCount >= 1);
        assert.ok(inWaves >= 1, `N = ${N}: the waves built ${inWaves} jobs`);
        assert.ok(
          prebuiltCount + inWaves + built >= oneJobs,
          `N = ${N}: the first job (${prebuiltCount}), the waves (${inWaves}) and the shards (${built}) build every job of one machine (${oneJobs})`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

/** The run a workflow step exports: the newest (`.[0].id`), or the newest candidate run (the shard job's jq filter). */
async function newestRunId(cwd: string, state: string, candidate: boolean): Promise<number> {
  const r = await ecocheck(['runs', '--state-dir', state, '--limit', '10', '--json'], cwd);
  assert.equal(r.code, 0, r.stderr);
  const runs = JSON.parse(r.stdout) as { id: number; kind: string }[];
  const pick = candidate ? runs.find((x) => x.kind === 'candidate' || x.kind === 'check') : runs[0];
  assert.ok(pick !== undefined, r.stdout);
  return pick.id;
}

/** What `plan --json` says of a job: enough to find the shared libraries. */
interface PlanJson {
  jobs: { key: string; id: string; dependencies: string[] }[];
  targets: { id: string; key: string }[];
}

/**
 * A durations file that makes a wave pay on the slice: every job a minute, except the jobs that two to
 * nine targets need and that need none of the others (shared libraries side by side, not a chain: the
 * compiler and dune, which every target needs, stay cheap), half an hour each. The shards would each
 * build several of them, the first job would build them all on one runner: a wave builds each once.
 */
function sharedLibraryDurations(plan: PlanJson): string {
  const closure = new Map<string, Set<string>>();
  for (const j of plan.jobs) {
    const c = new Set<string>();
    for (const d of j.dependencies) {
      c.add(d);
      for (const x of closure.get(d)!) c.add(x);
    }
    closure.set(j.key, c);
  }
  const need = new Map<string, number>();
  for (const t of plan.targets) for (const k of [...closure.get(t.key)!, t.key]) need.set(k, (need.get(k) ?? 0) + 1);
  const costly = new Set<string>();
  const byPackage: Record<string, number> = {};
  for (const j of plan.jobs) {
    const n = need.get(j.key) ?? 0;
    if (n >= 2 && n <= 9 && ![...closure.get(j.key)!].some((k) => costly.has(k))) costly.add(j.key);
    byPackage[j.id] = costly.has(j.key) ? 1_800_000 : 60_000;
  }
  return `${JSON.stringify({ format: 'ecocheck-durations', version: 1, byPackage, byKey: {} })}\n`;
}
