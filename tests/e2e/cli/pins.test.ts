/**
 * `--pin` and `--revdeps` on the fixture ecosystem (compiler 1.0): the reverse dependencies a check
 * takes, and a pinned change compared with its release: a real regression (a pinned chain-a that no
 * longer builds breaks chain-b and chain-c through it) and a real fix (a pinned broken-install whose
 * .install is corrected).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../support/snapshot.js';
import { instantiateEcosystem } from '../../support/fixture-ecosystem.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';
import { openDatabase } from '../../../src/store/database.js';
import { loadRunResults } from '../../../src/store/run-records.js';
import { listRuns, type RunInfo } from '../../../src/store/runs.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const sandboxArgs = sandboxAvailable().ok ? [] : ['--no-sandbox'];

function ecocheck(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: projectRoot });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

interface JsonComparison {
  counts: Record<string, number>;
  packages: { key: string; category: string; rootCause: string | null }[];
}

function categories(c: JsonComparison): Record<string, string> {
  return Object.fromEntries(
    c.packages.map((p) => [p.key, p.category === 'dependency-regressed' ? `dependency-regressed(${p.rootCause})` : p.category]),
  );
}

function runs(state: string): (RunInfo & { targets: string[] })[] {
  const db = openDatabase(join(state, 'ecocheck.sqlite'));
  try {
    return listRuns(db)
      .reverse()
      .map((r) => ({ ...r, targets: loadRunResults(db, r.id).map((x) => x.id) }));
  } finally {
    db.close();
  }
}

/** A source directory for a pin: its own opam file (no version: the repository's is taken) and files. */
function sourceDir(parent: string, name: string, files: Record<string, string>): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

test('--revdeps: the package and exactly what depends on it, to the depth asked', () => {
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-revdeps-'));
  try {
    const common = ['check', '--compiler', '1.0', '--repo', eco.root, '--state-dir', state, '--jobs', '2', ...sandboxArgs];
    const direct = ecocheck([...common, '--revdeps', 'stdext']);
    assert.equal(direct.code, 0, direct.stderr);
    assert.match(direct.stderr, /reverse dependencies of stdext: 1 package/);
    const deep = ecocheck([...common, '--revdeps', 'stdext', '--revdeps-depth', 'all']);
    assert.equal(deep.code, 0, deep.stderr);
    const two = ecocheck([...common, '--revdeps', 'chain-a', '--revdeps-depth', '1']);
    assert.equal(two.code, 0, two.stderr);
    const [r1, r2, r3] = runs(state);
    assert.deepEqual(r1.targets, ['chain-a.1.0', 'stdext.1.0']);
    assert.deepEqual(r2.targets, ['chain-a.1.0', 'chain-b.1.0', 'chain-c.1.0', 'stdext.1.0']);
    assert.deepEqual(r3.targets, ['chain-a.1.0', 'chain-b.1.0']);
    assert.deepEqual(r1.options.pins, []);
    const bad = ecocheck([...common, '--revdeps', 'no-such-package']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'ecocheck: --revdeps no-such-package: no such package\n');
    assert.equal(
      ecocheck([...common, '--revdeps-depth', '2']).stderr,
      'ecocheck: --revdeps-depth goes with --revdeps NAME or --changed-since DIR\n',
    );
    assert.equal(ecocheck([...common, '--revdeps', 'chain-a', 'stdext']).code, 2, 'targets and --revdeps do not go together');
  } finally {
    rmSync(state, { recursive: true, force: true });
    eco.dispose();
  }
});

test('a pinned change against its release: a real regression with its root cause, and a real fix', () => {
  const eco = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-pin-check-'));
  const work = mkdtempSync(join(tmpdir(), 'ecocheck-pin-src-'));
  try {
    const common = [
      'check',
      '--compiler',
      '1.0',
      '--repo',
      eco.root,
      '--state-dir',
      state,
      '--jobs',
      '2',
      '--format',
      'json',
      ...sandboxArgs,
    ];
    const released = readFileSync(join(eco.root, 'packages', 'chain-a', 'chain-a.1.0', 'opam'), 'utf8').replace(/^extra-files:.*$/m, '');
    // chain-a's new release requires a library that does not exist: it no longer builds.
    const broken = sourceDir(work, 'chain-a', {
      opam: released,
      'chain_a.fml': '(* chain-a, next *)\nrequire stdext\nrequire no-such-lib\nlet effect = 42\n',
    });
    const r = ecocheck([...common, '--revdeps', 'chain-a', '--revdeps-depth', 'all', '--pin', `chain-a=${broken}`]);
    assert.equal(r.code, 1, `a regression exits 1\n${r.stderr}`);
    assert.match(r.stderr, /pinned: chain-a\.1\.0=.*chain-a \(opam file: .*chain-a\/opam\) \[content [0-9a-f]{16}\]/);
    assert.deepEqual(categories(JSON.parse(r.stdout) as JsonComparison), {
      'chain-a': 'regressed',
      'chain-b': 'dependency-regressed(chain-a)',
      'chain-c': 'dependency-regressed(chain-a)',
    });
    const [baseline, candidate] = runs(state).filter((x) => x.kind !== 'retry');
    assert.equal(baseline.kind, 'baseline');
    assert.deepEqual(baseline.options.pins, [], 'the baseline is the release, without the pin');
    assert.equal(candidate.kind, 'candidate');
    assert.equal(candidate.against, baseline.id);
    assert.deepEqual(candidate.options.pins, [`chain-a=${broken}`]);
    assert.match(candidate.options.pinned[0], /^chain-a\.1\.0=/);
    // A rerun of the regressions builds them again with the run's pins: still regressed.
    const again = ecocheck(['rerun', '--regressed', '--state-dir', state, '--format', 'json', ...sandboxArgs]);
    assert.equal(again.code, 1, again.stderr);
    assert.deepEqual(categories(JSON.parse(again.stdout) as JsonComparison), {
      'chain-a': 'regressed',
      'chain-b': 'dependency-regressed(chain-a)',
      'chain-c': 'dependency-regressed(chain-a)',
    });
    assert.deepEqual(runs(state).at(-1)!.options.pins, [`chain-a=${broken}`]);

    // broken-install's fix: its .install names what the build makes.
    const fixedOpam = readFileSync(join(eco.root, 'packages', 'broken-install', 'broken-install.1.0', 'opam'), 'utf8').replace(
      /^extra-files: \[[^\]]*\]\n\]\n?|^extra-files:[\s\S]*?\n\]\n/m,
      '',
    );
    const fixed = sourceDir(work, 'broken-install', {
      opam: fixedOpam,
      'broken.fml': '(* broken-install, fixed *)\nlet broken = ()\n',
      'broken-install.install': 'lib: ["broken-install.fmo"]\n',
    });
    const f = ecocheck([...common, '--revdeps', 'broken-install', '--pin', `broken-install=${fixed}`]);
    assert.equal(f.code, 0, `a fix is no regression\n${f.stderr}`);
    assert.deepEqual(categories(JSON.parse(f.stdout) as JsonComparison), { 'broken-install': 'fixed' });
  } finally {
    rmSync(state, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    eco.dispose();
  }
});

test('an opam-repository change (--changed-since BASE): the new versions against the previous ones, on what depends on them', () => {
  const base = instantiateEcosystem();
  const state = mkdtempSync(join(tmpdir(), 'ecocheck-change-'));
  // The pull request's checkout: the base's files (its sources are the base's distfiles), then changed.
  const head = { root: join(state, 'head') };
  cpSync(base.root, head.root, { recursive: true });
  try {
    // The change: chain-a.1.1, whose source requires a library that does not exist; a brand-new package.
    const dir = join(head.root, 'packages', 'chain-a', 'chain-a.1.1');
    mkdirSync(join(dir, 'files'), { recursive: true });
    writeFileSync(join(dir, 'files', 'chain_a.fml'), '(* chain-a 1.1 *)\nrequire stdext\nrequire no-such-lib\nlet effect = 42\n');
    const released = readFileSync(join(head.root, 'packages', 'chain-a', 'chain-a.1.0', 'opam'), 'utf8').replace(/^extra-files:.*$/m, '');
    writeFileSync(join(dir, 'opam'), released);
    mkdirSync(join(head.root, 'packages', 'brand-new', 'brand-new.1.0'), { recursive: true });
    writeFileSync(
      join(head.root, 'packages', 'brand-new', 'brand-new.1.0', 'opam'),
      'opam-version: "2.0"\ndepends: ["ocaml"]\nbuild: ["true"]\n',
    );
    const common = [
      'check',
      '--compiler',
      '1.0',
      '--repo',
      head.root,
      '--state-dir',
      state,
      '--jobs',
      '2',
      '--format',
      'json',
      ...sandboxArgs,
    ];
    const r = ecocheck([...common, '--changed-since', base.root, '--revdeps-depth', 'all']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /changed since .*: brand-new \(\+1\.0\), chain-a \(\+1\.1\)/);
    assert.deepEqual(categories(JSON.parse(r.stdout) as JsonComparison), {
      'brand-new': 'newly-installable',
      'chain-a': 'regressed',
      'chain-b': 'dependency-regressed(chain-a)',
      'chain-c': 'dependency-regressed(chain-a)',
    });
    const [b, c] = runs(state);
    assert.deepEqual([b.kind, b.repositories[0], b.targets], ['baseline', base.root, ['chain-a.1.0', 'chain-b.1.0', 'chain-c.1.0']]);
    assert.deepEqual([c.kind, c.against, c.targets], ['candidate', b.id, ['brand-new.1.0', 'chain-a.1.1', 'chain-b.1.0', 'chain-c.1.0']]);
    // A change that touches no package: nothing to check, exit 0.
    const none = ecocheck([...common.slice(0, 3), '--repo', base.root, ...common.slice(5), '--changed-since', base.root]);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stderr, /touches no package: nothing to check/);
  } finally {
    rmSync(state, { recursive: true, force: true });
    base.dispose();
  }
});

test('pins and revdeps from ecocheck.json: the project config asks for the same check', () => {
  const eco = instantiateEcosystem();
  const project = mkdtempSync(join(tmpdir(), 'ecocheck-pin-project-'));
  try {
    const released = readFileSync(join(eco.root, 'packages', 'chain-a', 'chain-a.1.0', 'opam'), 'utf8').replace(/^extra-files:.*$/m, '');
    sourceDir(project, 'chain-a-next', { opam: released, 'chain_a.fml': '(* next *)\nrequire stdext\nrequire no-such-lib\n' });
    writeFileSync(
      join(project, 'ecocheck.json'),
      JSON.stringify({ repositories: [eco.root], pins: ['chain-a=chain-a-next'], revdeps: 'chain-a', revdepsDepth: 1 }),
    );
    const r = spawnSync(
      process.execPath,
      [bin, 'check', '--compiler', '1.0', '--state-dir', join(project, 'state'), '--jobs', '2', '--format', 'json', ...sandboxArgs],
      { encoding: 'utf8', cwd: project },
    );
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(categories(JSON.parse(r.stdout) as JsonComparison), {
      'chain-a': 'regressed',
      'chain-b': 'dependency-regressed(chain-a)',
    });
    assert.deepEqual(
      runs(join(project, 'state')).at(-1)!.options.pins,
      [`chain-a=${join(project, 'chain-a-next')}`],
      'DIR relative to the config file',
    );
    const bad = spawnSync(process.execPath, [bin, 'plan', '--compiler', '1.0', '--config', join(project, 'bad.json')], {
      encoding: 'utf8',
      cwd: project,
    });
    assert.equal(bad.status, 2);
  } finally {
    rmSync(project, { recursive: true, force: true });
    eco.dispose();
  }
});
