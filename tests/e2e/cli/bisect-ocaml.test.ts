/**
 * The acceptance test of `ecocheck bisect` on the real compiler (e2e tier: it builds OCaml twice, about
 * 5 to 15 minutes a build on 2 cores). The npm registry's OCaml 5.3.0 sources (the demo's compiler,
 * fetched into the download cache by scripts/demo-setup.sh --sources-only) become a git history of
 * five commits: the release, a documentation change in the stdlib, a comment in the typechecker, the
 * removal of `List.filteri` from the stdlib's interface (the breaking change: the demo's `slurp`, real
 * OCaml code, uses it), and one more documentation change. Bisecting `slurp` over it must name the
 * removal, with slurp's first error there (`List.filteri` unbound), in ⌈log2(4)⌉ = 2 compiler builds or
 * fewer, leave the checkout as it was, and a second bisect must build nothing.
 *
 * The commits have fixed dates and authors, so their hashes, the trees bisect writes and the compiler
 * jobs' keys are the same at every run: the state folder is kept between runs on a machine
 * (the checkout's .test-state/bisect, or ECOCHECK_BISECT_STATE) and a later run is cache hits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../support/snapshot.js';
import { testStateDir } from '../../support/test-state.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const state = process.env.ECOCHECK_BISECT_STATE ?? testStateDir('bisect');
const sandboxArgs = sandboxAvailable().ok ? [] : ['--no-sandbox'];
/** ocaml@5.3.0 on the npm registry, as fixtures/demo's ocaml-base-compiler.5.3.0 names it. */
const OCAML_SHA256 = 'c4108bac7b45c46325f0e15a988c308f7785cd6c4d29dac190df06f543f7c992';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: projectRoot, env, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

/** The OCaml 5.3.0 sources as a git history of five commits; the hashes, oldest first. */
function ocamlHistory(tarball: string, dir: string): string[] {
  mkdirSync(dir);
  execFileSync('tar', ['-xzf', tarball, '-C', dir, '--strip-components=1']);
  let day = 1;
  const git = (...args: string[]) => {
    const date = `2025-01-0${day}T12:00:00+0000`;
    const env = {
      ...process.env,
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_DATE: date,
      GIT_AUTHOR_NAME: 'Compiler Dev',
      GIT_AUTHOR_EMAIL: 'dev@example.org',
      GIT_COMMITTER_NAME: 'Compiler Dev',
      GIT_COMMITTER_EMAIL: 'dev@example.org',
    };
    return execFileSync('git', ['-C', dir, '-c', 'commit.gpgsign=false', '-c', 'core.autocrlf=false', ...args], {
      encoding: 'utf8',
      env,
      maxBuffer: 64 * 1024 * 1024,
    }).trim();
  };
  const commits: string[] = [];
  const commit = (subject: string) => {
    // -f: everything of the release, whatever its .gitignore says.
    git('add', '-A', '-f', '.');
    git('commit', '-q', '-m', subject);
    commits.push(git('rev-parse', 'HEAD'));
    day++;
  };
  const edit = (file: string, from: string, to: string) => {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    assert.ok(text.includes(from), `${file} holds ${JSON.stringify(from.slice(0, 60))}`);
    writeFileSync(path, text.replace(from, to));
  };
  git('init', '-q', '-b', 'trunk');
  commit('OCaml 5.3.0');
  edit(
    'stdlib/list.mli',
    '(** [find_all] is another name for {!filter}.\n *)',
    '(** [find_all] is another name for {!filter}: it keeps every element satisfying\n    the predicate, in order.\n *)',
  );
  commit('stdlib: say what List.find_all keeps');
  edit(
    'typing/typecore.ml',
    '(** This type is used for candidate filtering functions.',
    '(** This type is used for candidate filtering functions (see below).',
  );
  commit('typing: point the candidate filtering comment at its users');
  const filteriDoc =
    "\nval filteri : (int -> 'a -> bool) -> 'a list -> 'a list\n(** Same as {!filter}, but the predicate is applied to the index of\n   the element as first argument (counting from 0), and the element\n   itself as second argument.\n   @since 4.11\n*)\n";
  edit('stdlib/list.mli', filteriDoc, '\n');
  edit('stdlib/listLabels.mli', filteriDoc.replace("(int -> 'a -> bool)", "f:(int -> 'a -> bool)"), '\n');
  edit(
    'stdlib/list.ml',
    "let[@tail_mod_cons] rec filteri p i = function\n  | [] -> []\n  | x::l ->\n      let i' = i + 1 in\n      if p i x then x :: filteri p i' l else filteri p i' l\n\nlet filteri p l = filteri p 0 l\n\n",
    '',
  );
  commit('stdlib: remove List.filteri');
  edit(
    'stdlib/listLabels.mli',
    '(** [find_all] is another name for {!filter}.\n *)',
    '(** [find_all] is another name for {!filter}; see also {!partition}.\n *)',
  );
  commit('stdlib: cross-reference ListLabels.find_all');
  return commits;
}

/**
 * An overlay holding the demo's `ocaml.5.3.0` with the version range opam-repository's has
 * (`>= 5.3.0 & < 5.3.1~`) instead of the demo's exact `= 5.3.0`: a tree is built as
 * `ocaml-base-compiler.5.3.0+local`, which the exact constraint leaves out.
 */
function ocamlOverlay(dir: string): string {
  const from = join(projectRoot, 'fixtures', 'demo', 'packages', 'ocaml', 'ocaml.5.3.0');
  const to = join(dir, 'packages', 'ocaml', 'ocaml.5.3.0');
  mkdirSync(dir, { recursive: true });
  cpSync(from, to, { recursive: true });
  writeFileSync(join(dir, 'repo'), 'opam-version: "2.0"\n');
  const opam = readFileSync(join(to, 'opam'), 'utf8');
  assert.match(opam, /"ocaml-base-compiler" \{= "5\.3\.0"\}/);
  writeFileSync(join(to, 'opam'), opam.replace('"ocaml-base-compiler" {= "5.3.0"}', '"ocaml-base-compiler" {>= "5.3.0" & < "5.3.1~"}'));
  return dir;
}

function checkoutState(dir: string): string {
  const head = execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD', '--symbolic-full-name', 'HEAD'], { encoding: 'utf8' });
  const index = execFileSync('sha256sum', [join(dir, '.git', 'index')], { encoding: 'utf8' });
  // git diff-files compares with the index without writing it (git status may refresh it).
  const changed = execFileSync('git', ['-C', dir, 'diff-files', '--name-only'], { encoding: 'utf8' });
  return `${head}${index}${changed}`;
}

test(
  'bisect on a real OCaml history names the commit that removed the stdlib function a package uses, in ⌈log2(n)⌉ compiler builds',
  { timeout: 3 * 3600_000 },
  () => {
    mkdirSync(state, { recursive: true });
    const setup = run('bash', [join(projectRoot, 'scripts', 'demo-setup.sh'), '--sources-only', '--state-dir', state]);
    assert.equal(setup.code, 0, setup.stderr);
    const tarball = join(state, 'downloads', 'sha256', OCAML_SHA256.slice(0, 2), OCAML_SHA256);
    assert.ok(existsSync(tarball), `${tarball}: the setup put the OCaml 5.3.0 sources there`);
    const work = mkdtempSync(join(tmpdir(), 'ecocheck-bisect-ocaml-'));
    try {
      const checkout = join(work, 'ocaml');
      const commits = ocamlHistory(tarball, checkout);
      const before = checkoutState(checkout);
      const args = [
        'bisect',
        'slurp',
        '--compiler-tree',
        checkout,
        '--good',
        commits[0],
        '--bad',
        'trunk',
        '--repo',
        ocamlOverlay(join(work, 'overlay')),
        '--repo',
        join(projectRoot, 'fixtures', 'demo'),
        '--state-dir',
        state,
        '--format',
        'json',
        ...sandboxArgs,
      ];
      const first = run(process.execPath, [bin, ...args]);
      assert.equal(first.code, 1, first.stderr.slice(-4000));
      const report = JSON.parse(first.stdout) as {
        commitCount: number;
        compilerBuilds: number;
        findings: {
          package: string;
          outcome: string;
          firstBad: { sha: string; subject: string } | null;
          status: string | null;
          firstError: string | null;
        }[];
        steps: { commit: { sha: string }; built: number; wallMs: number }[];
      };
      const built = report.steps.filter((s) => s.built > 0);
      process.stdout.write(
        `# bisect of OCaml 5.3.0 (4 commits): ${first.seconds.toFixed(0)} s, ${report.compilerBuilds} compiler build(s); steps ${report.steps.map((s) => `${(s.wallMs / 1000).toFixed(0)} s (${s.built} built)`).join(', ')}${built.length === 0 ? ' (all from the cache of an earlier run)' : ''}\n`,
      );
      assert.equal(report.commitCount, 4);
      const [slurp] = report.findings;
      assert.equal(slurp.outcome, 'first-bad');
      assert.deepEqual(slurp.firstBad, { sha: commits[3], subject: 'stdlib: remove List.filteri' });
      assert.equal(slurp.status, 'build-failed');
      assert.match(slurp.firstError ?? '', /filteri/);
      assert.ok(report.compilerBuilds <= 2, `${report.compilerBuilds} compiler builds for 4 commits`);
      assert.equal(checkoutState(checkout), before);

      const again = run(process.execPath, [bin, ...args]);
      assert.equal(again.code, 1, again.stderr.slice(-4000));
      const second = JSON.parse(again.stdout) as typeof report;
      assert.deepEqual(second.findings[0].firstBad, slurp.firstBad);
      assert.deepEqual(
        second.steps.map((s) => s.built),
        second.steps.map(() => 0),
        'the second bisect builds nothing',
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
);
