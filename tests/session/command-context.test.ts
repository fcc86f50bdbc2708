/**
 * One context per command (src/session/command-context.ts): a whole check — its run, a pinned check's
 * baseline, its retries, its reverse-dependency search — loads the repositories once and builds each
 * solver once. The loads and solver constructions are counted by wrapping the real loader and solver
 * factory the context is given (they still do the work), and, so that nothing can load beside the
 * context, no module on the check's path but the context imports the loader or the solver factory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { instantiateEcosystem } from '../support/fixture-ecosystem.js';
import { projectRoot } from '../support/snapshot.js';
import { sandboxAvailable } from '../../src/builder/process-runner.js';
import { loadRepositories } from '../../src/opam/repository.js';
import { createSolver } from '../../src/solve/package-solver.js';
import { openCommandContext, type CommandRequest } from '../../src/session/command-context.js';
import { runCheck, type CheckOutcome, type CheckRequest } from '../../src/session/check.js';
import { resolveStatePaths } from '../../src/session/state-paths.js';

const sandboxMode = sandboxAvailable().ok ? 'confined' : 'host';
const quiet = { notice: () => {}, progress: new Writable({ write: (_c, _e, done) => done() }) };
/** The run settings of these tests' checks (two jobs, the sandbox when the host has it). */
const settings: CheckRequest['settings'] = {
  archiveMirrors: [],
  jobs: 2,
  maxProcesses: 1024,
  sandboxMode,
  timeoutMs: 120_000,
  memoryBytes: 2 * 1024 ** 3,
  diskBytes: 1024 ** 3,
  inodes: 100_000,
  env: [],
  withTest: false,
};

/** What the real loader and solver factory were asked, counted where they are called. */
interface Observed {
  loads: string[][];
  solvers: string[];
}

function countingLoaders(observed: Observed): CommandRequest['loaders'] {
  return {
    loadRepositories: (roots, options) => {
      observed.loads.push([...roots]);
      return loadRepositories(roots, options);
    },
    createSolver: (load, options) => {
      observed.solvers.push(options.compiler);
      return createSolver(load, options);
    },
  };
}

/** One `check` command in-process, as the CLI runs it: one context, then runCheck. */
async function checkCommand(
  state: string,
  workspace: Pick<CommandRequest, 'repositories' | 'pins'>,
  request: Partial<CheckRequest> & Pick<CheckRequest, 'plan'>,
): Promise<{ outcome: CheckOutcome; observed: Observed; counts: { repositoryLoads: number; solvers: number } }> {
  const observed: Observed = { loads: [], solvers: [] };
  const ctx = await openCommandContext({
    paths: resolveStatePaths({ stateDir: state }),
    ...workspace,
    database: 'write',
    loaders: countingLoaders(observed),
  });
  try {
    const outcome = await runCheck(ctx, {
      settings,
      baseline: false,
      against: null,
      retries: 0,
      revdeps: null,
      output: quiet,
      ...request,
    });
    return { outcome, observed, counts: { ...ctx.counts } };
  } finally {
    ctx.close();
  }
}

const plan = (compiler: string, targets: string[] = []) => ({ targets, compiler, env: [], withTest: false });

test('a check with --retries: one repository load and one solver for the run and every retry', async () => {
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-context-retries-'));
  try {
    const baseline = await checkCommand(
      state,
      { repositories: [eco.root] },
      { plan: plan('1.0', ['chain-a', 'legacy-lib', 'installer']), baseline: true },
    );
    assert.equal(baseline.outcome.runs.length, 1);
    assert.deepEqual(baseline.observed, { loads: [[eco.root]], solvers: ['1.0'] });
    const candidate = await checkCommand(
      state,
      { repositories: [eco.root] },
      { plan: plan('2.0', ['chain-a', 'legacy-lib', 'installer']), retries: 2 },
    );
    // The regressions (chain-a, legacy-lib) were fresh failures: built again, each retry a plan of its own.
    assert.ok(candidate.outcome.runs.length >= 2, 'the run and at least one retry');
    assert.ok(candidate.outcome.runs.every((r) => r.compiler === '2.0'));
    assert.deepEqual(candidate.observed, { loads: [[eco.root]], solvers: ['2.0'] });
    assert.deepEqual(candidate.counts, { repositoryLoads: 1, solvers: 1 }, 'the context counts what the loaders saw');
  } finally {
    rmSync(state, { recursive: true, force: true });
    eco.dispose();
  }
});

test('a pinned check (baseline without the pin, candidate with it, --revdeps, --retries): one repository load, and one solver per universe, released and pinned', async () => {
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-context-pin-'));
  const work = mkdtempSync(join(tmpdir(), 'ecocheck-context-pin-src-'));
  try {
    // chain-a's next release requires a library that does not exist: chain-a regresses, b and c through it.
    const released = readFileSync(join(eco.root, 'packages', 'chain-a', 'chain-a.1.0', 'opam'), 'utf8').replace(/^extra-files:.*$/m, '');
    const src = join(work, 'chain-a');
    mkdirSync(src);
    writeFileSync(join(src, 'opam'), released);
    writeFileSync(join(src, 'chain_a.fml'), '(* chain-a, next *)\nrequire stdext\nrequire no-such-lib\n');
    const r = await checkCommand(
      state,
      { repositories: [eco.root], pins: [`chain-a=${src}`] },
      { plan: plan('1.0'), revdeps: { name: 'chain-a', depth: Infinity }, retries: 1 },
    );
    assert.ok(r.outcome.comparison !== null);
    assert.deepEqual(r.outcome.comparison.packages.map((p) => `${p.key} ${p.category}`).sort(), [
      'chain-a regressed',
      'chain-b dependency-regressed',
      'chain-c dependency-regressed',
    ]);
    assert.equal(r.outcome.runs.length, 3, 'the baseline without the pin, the pinned run, one retry');
    // The pin makes another universe (opam: the pinned version is chain-a's only one): one solver for the
    // release (reverse dependencies and the baseline share it) and one for the pinned run and its retry.
    assert.deepEqual(r.observed, { loads: [[eco.root]], solvers: ['1.0', '1.0'] });
    assert.deepEqual(r.counts, { repositoryLoads: 1, solvers: 2 });
  } finally {
    rmSync(state, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    eco.dispose();
  }
});

test("--changed-since: the base checkout loaded once and the change once (the command's own load), one solver for each", async () => {
  const base = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-context-change-'));
  const head = join(state, 'head');
  cpSync(base.root, head, { recursive: true });
  try {
    const dir = join(head, 'packages', 'chain-b', 'chain-b.1.1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'opam'), readFileSync(join(head, 'packages', 'chain-b', 'chain-b.1.0', 'opam'), 'utf8'));
    cpSync(join(head, 'packages', 'chain-b', 'chain-b.1.0', 'files'), join(dir, 'files'), { recursive: true });
    const r = await checkCommand(
      state,
      { repositories: [head] },
      { plan: plan('1.0'), changedSince: { base: base.root, depth: Infinity } },
    );
    assert.ok(r.outcome.comparison !== null);
    assert.deepEqual(r.outcome.comparison.packages.map((p) => p.key).sort(), ['chain-b', 'chain-c']);
    assert.deepEqual(r.observed.loads.sort(), [[base.root], [head]].sort());
    assert.equal(r.observed.solvers.length, 2);
    assert.deepEqual(r.counts, { repositoryLoads: 2, solvers: 2 });
  } finally {
    rmSync(state, { recursive: true, force: true });
    base.dispose();
  }
});

test('one solver per compiler: a command asking two compilers builds two solvers, and none again for a question asked before', async () => {
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-context-solvers-'));
  const observed: Observed = { loads: [], solvers: [] };
  const ctx = await openCommandContext({
    paths: resolveStatePaths({ stateDir: state }),
    repositories: [eco.root],
    loaders: countingLoaders(observed),
  });
  try {
    const ask = (compiler: string, more: { env?: string[]; withTest?: boolean; universe?: 'pinned' | 'unpinned' } = {}) =>
      ctx.solver({
        universe: more.universe ?? 'pinned',
        compiler,
        env: more.env ?? [],
        withTest: more.withTest ?? false,
        depexts: 'ignore',
      });
    const one = ask('1.0');
    assert.equal(ask('1.0'), one, 'the same question: the same solver');
    assert.equal(ask('1.0', { universe: 'unpinned' }), one, 'no pin: the released and pinned universes are one');
    const two = ask('2.0');
    assert.notEqual(two, one);
    assert.notEqual(ask('1.0', { withTest: true }), one, '--with-test changes the question');
    assert.notEqual(ask('1.0', { env: ['os=freebsd'] }), one, 'the platform changes it');
    assert.deepEqual(observed.solvers, ['1.0', '2.0', '1.0', '1.0']);
    assert.equal(observed.loads.length, 1);
    assert.deepEqual(ctx.counts, { repositoryLoads: 1, solvers: 4 });
  } finally {
    ctx.close();
    rmSync(state, { recursive: true, force: true });
    eco.dispose();
  }
});

test("a baseline check's builds do not hold its solver: it is released once the plan is made", async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-context-release-'));
  let solver: WeakRef<object> | null = null;
  // Whether the solver was alive at the end of the run, as the progress lines go by (each in a turn of its own).
  let aliveAtEnd: boolean | null = null;
  const progress = new Writable({
    write: (_chunk, _encoding, done) => {
      gc();
      aliveAtEnd = solver?.deref() !== undefined;
      done();
    },
  });
  const ctx = await openCommandContext({
    paths: resolveStatePaths({ stateDir: state }),
    repositories: [eco.root],
    database: 'write',
    loaders: {
      createSolver: (load, options) => {
        const s = createSolver(load, options);
        solver = new WeakRef(s);
        return s;
      },
    },
  });
  try {
    const outcome = await runCheck(ctx, {
      plan: plan('1.0', ['chain-c', 'installer']),
      settings,
      baseline: true,
      against: null,
      retries: 0,
      revdeps: null,
      output: { notice: () => {}, progress },
    });
    assert.ok(outcome.runs[0].done.built > 0, 'jobs were built');
    assert.equal(aliveAtEnd, false, 'the solver was collected while the run built');
    assert.equal(ctx.counts.solvers, 1);
  } finally {
    ctx.close();
    rmSync(state, { recursive: true, force: true });
    eco.dispose();
  }
});

/** The relative imports of a module (static, re-exports, and `import('…')`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'(\.[^']+)'/gm), ...text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)].map(
    (m) => resolve(dirname(file), m[1]).replace(/\.js$/, '.ts'),
  );
}

test("on the check's path, only the command context loads repositories or builds solvers", () => {
  const session = join(projectRoot, 'src', 'session');
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file) || !file.startsWith(session)) return;
    seen.add(file);
    for (const f of importsOf(file)) walk(f);
  };
  for (const verb of ['check.ts', 'rerun.ts', 'solver-queries.ts', 'plan-preparation.ts']) walk(join(session, verb));
  assert.ok(seen.has(join(session, 'command-context.ts')) && seen.size > 8, [...seen].join(' '));
  const loaders = [...seen].filter((f) =>
    /\b(loadRepositories|createSolver)\b/.test(readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')),
  );
  assert.deepEqual(
    loaders.map((f) => relative(session, f)),
    ['command-context.ts'],
  );
});

test('the CLI reaches the store only through the session: no module of src/cli imports src/store', () => {
  const cli = join(projectRoot, 'src', 'cli');
  const store = join(projectRoot, 'src', 'store');
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  const all = files(cli);
  assert.ok(all.length > 20, 'the CLI modules were read');
  const reaching = all.flatMap((f) =>
    importsOf(f)
      .filter((t) => t.startsWith(`${store}/`))
      .map((t) => `${relative(projectRoot, f)} imports ${relative(projectRoot, t)}`),
  );
  assert.deepEqual(reaching, []);
  // The check can fail: the reader sees a dynamic import of the store.
  const sample = join(tmpdir(), `ecocheck-cli-sample-${process.pid}.ts`);
  writeFileSync(sample, "const { openDatabase } = await import('../store/database.js');\n");
  try {
    assert.deepEqual(importsOf(sample), [resolve(tmpdir(), '../store/database.ts')]);
  } finally {
    rmSync(sample, { force: true });
  }
});
