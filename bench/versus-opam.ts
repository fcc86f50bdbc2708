/**
 * ecocheck against opam 2.1.2 on the real snapshot, side by side, as a user runs them (whole commands,
 * wall clock and peak memory from `/usr/bin/time -v`):
 * - installable, every version, one compiler: `ecocheck installable --all-versions --compiler 5.3.0`
 *   vs `opam list --installable --all-versions` on a fresh switch whose invariant is
 *   ocaml-base-compiler.5.3.0 (target: ≥ 50× faster, no more memory);
 * - one-package solve: `ecocheck solve cmdliner` vs `opam install --dry-run cmdliner` on that switch
 *   (target: ≥ 20× faster, no more memory).
 * ecocheck runs with its parsed-repository cache warm (the first, cold run is printed apart); each
 * figure is the median of the runs. opam runs only when it is installed and `ECOCHECK_BENCH_OPAM=1`
 * asks for it (it takes minutes); its root is `ECOCHECK_BENCH_OPAM_ROOT` (default
 * ~/.cache/ecocheck-bench-opam/root), set up once from a copy of the snapshot (`opam init --bare -k
 * local`, an empty switch, `opam install --fake ocaml-base-compiler.5.3.0`, `opam switch
 * set-invariant`), never ~/.opam. `ECOCHECK_BENCH_RUNS` sets the number of runs (default 5;
 * `ECOCHECK_BENCH_OPAM_LIST_RUNS` for opam's list, default 1: it takes 6 minutes).
 * `npm run bench -- versus-opam --compiler 4.14.2 --compiler 5.3.0`: the same on each compiler (a bare
 * version names ocaml-base-compiler.VERSION; opam gets one switch per compiler); default 5.3.0.
 *
 * opam's figures (minutes per compiler) are recorded in `timings.json` beside its root, per opam
 * version, root (the copy of the snapshot it was set up from), switch, command and number of runs, and
 * reused by later runs, which say so with the date and load they were taken at;
 * `ECOCHECK_BENCH_OPAM_RETIME=1` measures them again (and records the new figures).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import type { BenchSection } from './bench-section.js';
import { snapshotForBench } from './snapshot-for-bench.js';
import { projectRoot } from '../support/project-root.js';

export interface Run {
  wallS: number;
  peakMiB: number;
  status: number | null;
  stdout: string;
}

const TIME = '/usr/bin/time';

/** Runs a command under `/usr/bin/time -v`: wall clock (measured here) and peak resident memory. */
function measured(cmd: string, args: string[], env: NodeJS.ProcessEnv): Run {
  const t0 = performance.now();
  const r = spawnSync(TIME, ['-v', cmd, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 30 });
  const wallS = (performance.now() - t0) / 1000;
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '');
  return { wallS, peakMiB: m === null ? NaN : Number(m[1]) / 1024, status: r.status, stdout: r.stdout ?? '' };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function repeat(n: number, f: () => Run): { wallS: number; peakMiB: number; runs: Run[] } {
  const runs: Run[] = [];
  for (let i = 0; i < n; i++) runs.push(f());
  return { wallS: median(runs.map((r) => r.wallS)), peakMiB: median(runs.map((r) => r.peakMiB)), runs };
}

function line(label: string, x: { wallS: number; peakMiB: number }): void {
  process.stdout.write(`  ${label}: ${x.wallS.toFixed(2)} s, ${x.peakMiB.toFixed(0)} MiB peak\n`);
}

function opamCommand(args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync('opam', args, { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`opam ${args.join(' ')} failed: ${(r.stderr ?? '').slice(-500)}`);
}

/** The compilers asked for with `--compiler VERSION` (repeatable), 5.3.0 by default. */
function benchCompilers(): string[] {
  const out: string[] = [];
  const argv = process.argv;
  for (let i = 0; i < argv.length - 1; i++) if (argv[i] === '--compiler') out.push(argv[i + 1]);
  return out.length > 0 ? out : ['5.3.0'];
}

/** An opam figure as recorded: the median of `runs` runs, the command's output lines, when and at what load it was taken. */
interface OpamFigure {
  wallS: number;
  peakMiB: number;
  runs: number;
  lines: number;
  measuredAt: string;
  loadAverage: number;
}

/**
 * opam's figure for a command: the recorded one for the same opam, root, switch, command and number of
 * runs (unless `ECOCHECK_BENCH_OPAM_RETIME=1`), else measured now and recorded.
 */
export function opamFigure(
  opam: { version: string; root: string; switchName: string },
  args: string[],
  runs: number,
  measure: () => Run,
): OpamFigure & { reused: boolean } {
  const { version, root, switchName } = opam;
  const file = join(dirname(root), 'timings.json');
  // The root's config is written once, when the root is set up from a copy of the snapshot.
  const rootMade = statSync(join(root, 'config')).mtimeMs;
  const key = JSON.stringify({ version, root, rootMade, switchName, args, runs });
  let recorded: Record<string, OpamFigure> = {};
  try {
    recorded = JSON.parse(readFileSync(file, 'utf8')) as Record<string, OpamFigure>;
  } catch {
    // None yet (or unreadable): measured now.
  }
  const known = recorded[key];
  if (known !== undefined && process.env.ECOCHECK_BENCH_OPAM_RETIME !== '1') return { ...known, reused: true };
  const load = loadavg()[0];
  const m = repeat(runs, measure);
  const figure: OpamFigure = {
    wallS: m.wallS,
    peakMiB: m.peakMiB,
    runs,
    lines: m.runs[0].stdout.trim().split('\n').length,
    measuredAt: new Date().toISOString(),
    loadAverage: Math.round(load * 100) / 100,
  };
  recorded[key] = figure;
  writeFileSync(`${file}.tmp`, `${JSON.stringify(recorded, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return { ...figure, reused: false };
}

function opamLine(label: string, f: OpamFigure & { reused: boolean }): void {
  line(label, f);
  if (f.reused)
    process.stdout.write(
      `    (recorded ${f.measuredAt}, load average ${f.loadAverage} then; ECOCHECK_BENCH_OPAM_RETIME=1 measures it again)\n`,
    );
}

/** The opam root with a fresh switch for the compiler (ocaml-base-compiler.VERSION), set up once. */
function opamRoot(snapshot: string, compiler: string): { env: NodeJS.ProcessEnv; switchName: string; root: string } {
  const root = process.env.ECOCHECK_BENCH_OPAM_ROOT ?? join(homedir(), '.cache', 'ecocheck-bench-opam', 'root');
  const switchName = compiler === '5.3.0' ? 'ecocheck-bench' : `ecocheck-bench-${compiler}`;
  const env = { ...process.env, OPAMROOT: root, OPAMYES: '1', OPAMCOLOR: 'never' };
  if (!existsSync(join(root, 'config'))) {
    const repo = join(root, '..', 'repository');
    rmSync(repo, { recursive: true, force: true });
    mkdirSync(join(root, '..'), { recursive: true });
    cpSync(snapshot, repo, { recursive: true });
    opamCommand(['init', '--bare', '-n', '--disable-sandboxing', '-k', 'local', 'default', repo], env);
  }
  if (!existsSync(join(root, switchName))) {
    opamCommand(['switch', 'create', switchName, '--empty'], env);
    opamCommand(['install', '--switch', switchName, '--fake', `ocaml-base-compiler.${compiler}`], env);
    opamCommand(['switch', 'set-invariant', '--switch', switchName, `ocaml-base-compiler.${compiler}`], env);
  }
  return { env: { ...env, OPAMSWITCH: switchName }, switchName, root };
}

function ratio(
  label: string,
  opam: { wallS: number; peakMiB: number },
  ours: { wallS: number; peakMiB: number },
  speedTarget: number,
): void {
  const speed = opam.wallS / ours.wallS;
  const memory = ours.peakMiB / opam.peakMiB;
  process.stdout.write(
    `  ${label}: ${speed.toFixed(1)}x faster (target >= ${speedTarget}x: ${speed >= speedTarget ? 'met' : 'MISSED'}), ` +
      `${memory.toFixed(2)}x opam's peak memory (target <= 1: ${memory <= 1 ? 'met' : 'MISSED'})\n`,
  );
}

export const versusOpamSection: BenchSection = {
  name: 'versus-opam',
  async run() {
    const snapshot = snapshotForBench();
    if (snapshot === null) return;
    if (!existsSync(TIME)) {
      process.stdout.write(`  skipped: ${TIME} is missing (apt-get install time)\n`);
      return;
    }
    for (const compiler of benchCompilers()) {
      process.stdout.write(`  -- compiler ${compiler}\n`);
      versusOpam(snapshot, compiler);
    }
  },
};

function versusOpam(snapshot: string, compiler: string): void {
  const runs = Number(process.env.ECOCHECK_BENCH_RUNS ?? 5);
  const ecocheck = join(projectRoot, 'bin', 'ecocheck');
  const env = { ...process.env };
  const installable = ['installable', '--repo', snapshot, '--compiler', compiler, '--all-versions'];
  const solve = ['solve', 'cmdliner', '--repo', snapshot, '--compiler', compiler];
  const cold = measured(process.execPath, [ecocheck, ...solve], {
    ...env,
    ECOCHECK_CACHE_DIR: join(homedir(), '.cache', 'ecocheck-bench-cold', String(process.pid)),
  });
  line('ecocheck solve cmdliner, cold repository cache', cold);
  rmSync(join(homedir(), '.cache', 'ecocheck-bench-cold'), { recursive: true, force: true });
  measured(process.execPath, [ecocheck, ...solve], env); // warms the cache
  const ourSolve = repeat(runs, () => measured(process.execPath, [ecocheck, ...solve], env));
  line(`ecocheck solve cmdliner (median of ${runs})`, ourSolve);
  const plan = ['plan', 'cmdliner', '--repo', snapshot, '--compiler', compiler];
  const ourPlan = repeat(runs, () => measured(process.execPath, [ecocheck, ...plan], env));
  line(`ecocheck plan cmdliner (median of ${runs}; target: well under 1 s)`, ourPlan);
  const ourList = repeat(runs, () => measured(process.execPath, [ecocheck, ...installable], env));
  const summary = ourList.runs[0].stdout.trim().split('\n').pop() ?? '';
  line(`ecocheck installable --all-versions (median of ${runs})`, ourList);
  process.stdout.write(`    ${summary}\n`);

  if (process.env.ECOCHECK_BENCH_OPAM !== '1') {
    process.stdout.write('  opam: not run (set ECOCHECK_BENCH_OPAM=1 to measure opam 2.1.2 side by side; it takes minutes)\n');
    return;
  }
  const opamVersion = spawnSync('opam', ['--version'], { encoding: 'utf8' });
  if (opamVersion.status !== 0) {
    process.stdout.write('  opam: not installed\n');
    return;
  }
  const { env: opamEnv, switchName, root } = opamRoot(snapshot, compiler);
  const opam = { version: opamVersion.stdout.trim(), root, switchName };
  const solveArgs = ['install', '--dry-run', 'cmdliner'];
  const opamSolve = opamFigure(opam, solveArgs, runs, () => measured('opam', solveArgs, opamEnv));
  opamLine(`opam install --dry-run cmdliner (median of ${runs})`, opamSolve);
  const listRuns = Number(process.env.ECOCHECK_BENCH_OPAM_LIST_RUNS ?? 1);
  const listArgs = ['list', '--installable', '--all-versions', '--short', '--columns=package'];
  const opamList = opamFigure(opam, listArgs, listRuns, () => measured('opam', listArgs, opamEnv));
  opamLine(`opam list --installable --all-versions (median of ${listRuns})`, opamList);
  process.stdout.write(`    opam: ${opamList.lines} installable\n`);
  ratio('installable, every version', opamList, ourList, 50);
  ratio('one-package solve', opamSolve, ourSolve, 20);
}
