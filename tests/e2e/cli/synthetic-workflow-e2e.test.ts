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
import { join } from 'node:path';
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
  { skip: skipWithoutSyntheticSlice(), timeout: 20 * 60_000 },
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
      const durations = join(dir, 'durations.json');
      assert.equal((await ecocheck(['durations', '--output', durations, '--state-dir', join(single, 'state')], single)).code, 0);

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

        // shard: each imports both first jobs, then its shard of the baseline, then of the candidate.
        const shardCmds = ecocheckCommands(wf.jobs.shard as WorkflowJob);
        assert.deepEqual(
          shardCmds.map((c) => c[1]),
          ['merge', 'merge', 'check', 'runs', 'export', 'check', 'runs', 'export'],
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
            const state = join(cwd, 'state');
            const vars: Record<string, string | string[]> = {
              $STATE: state,
              $DURATIONS: durations,
              '${{ matrix.shard }}/${{ needs.prepare.outputs.count }}': `${i}/${N}`,
            };
            let side: 'baseline' | 'candidate' = 'baseline';
            for (const cmd of shardCmds) {
              if (is(cmd, 'runs')) continue;
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
                shardBuilt.push(Number(/jobs: (\d+) built/.exec(r.stdout + r.stderr)?.[1] ?? 0));
                const firstJobs = (r.stderr.split('\n') as string[]).filter((l) => /^\[\d+\/\d+\] /.test(l) && l.includes(COMPILER));
                for (const l of firstJobs) assert.match(l, /\(cached\)/, `shard ${i} ${side}: the compiler is the first job's: ${l}`);
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
        const built = shardBuilt.reduce((s, x) => s + x, 0);
        assert.ok(prebuiltCount >= 1);
        assert.ok(
          built > oneJobs - prebuiltCount,
          `N = ${N}: the shards build ${built} jobs, one machine ${oneJobs}: some are built in several shards`,
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
