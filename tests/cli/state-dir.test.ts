/**
 * `--state-dir DIR` holds everything ecocheck writes: with HOME and the XDG folders pointed at an empty
 * folder, `installable`, `solve`, `plan` and `check` leave it empty (and the working folder too); the
 * repository cache and the host package manager's answers are under DIR.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../support/snapshot.js';
import { sandboxAvailable } from '../../src/builder/process-runner.js';
import { MIN_CACHED_FILES } from '../../src/opam/repository-cache.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const aptHere = spawnSync('sh', ['-c', 'command -v apt-cache && command -v dpkg-query'], { stdio: 'ignore' }).status === 0;

function makeRepository(root: string): void {
  const write = (name: string, version: string, body: string): void => {
    const dir = join(root, 'packages', name, `${name}.${version}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'opam'), `opam-version: "2.0"\n${body}\n`);
  };
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'repo'), 'opam-version: "2.0"\n');
  write('ocaml', '5.3.0', 'depends: [ "ocaml-base-compiler" {= "5.3.0"} ]');
  write('ocaml-base-compiler', '5.3.0', 'flags: compiler\nconflict-class: "ocaml-core-compiler"');
  write('app', '1', 'depends: ["ocaml"]\ndepexts: [["libgmp-dev"] {os-family = "debian"}]');
  // Enough opam files for the repository cache to keep this repository.
  for (let i = 0; i < MIN_CACHED_FILES; i++) write(`filler${i}`, '1', '');
}

function everything(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : [];
}

test('with --state-dir, installable, solve, plan and check write nothing outside it', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-state-dir-'));
  try {
    const repo = join(dir, 'repo');
    makeRepository(repo);
    const home = join(dir, 'home');
    const cwd = join(dir, 'cwd');
    const state = join(dir, 'state');
    mkdirSync(home);
    mkdirSync(cwd);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      XDG_CACHE_HOME: join(home, 'cache'),
      XDG_DATA_HOME: join(home, 'data'),
      XDG_CONFIG_HOME: join(home, 'config'),
    };
    delete env.ECOCHECK_CACHE_DIR;
    delete env.ECOCHECK_REPOSITORY_CACHE;
    delete env.ECOCHECK_HOST_ANSWERS;
    const sandbox = sandboxAvailable().ok ? [] : ['--no-sandbox'];
    for (const args of [
      ['installable', '--compiler', '5.3.0'],
      ['solve', 'app', '--compiler', '5.3.0'],
      ['plan', '--compiler', '5.3.0', 'app'],
      ['check', '--compiler', '5.3.0', '--timeout', '30s', '--jobs', '1', ...sandbox, 'ocaml'],
    ]) {
      const r = spawnSync(process.execPath, [bin, ...args, '--repo', repo, '--state-dir', state], { encoding: 'utf8', env, cwd });
      assert.equal(r.status, 0, `${args[0]}: ${r.stderr}`);
      assert.deepEqual(everything(home), [], `${args[0]} wrote under HOME/XDG folders`);
      assert.deepEqual(everything(cwd), [], `${args[0]} wrote into the working folder`);
    }
    const inState = readdirSync(state);
    assert.ok(inState.includes('repositories'), `the repository cache is in the state dir: ${inState.join(' ')}`);
    assert.ok(readdirSync(join(state, 'repositories')).some((f) => f.endsWith('.load')));
    if (aptHere) assert.ok(inState.includes('host-packages.json'), `the host's answers are in the state dir: ${inState.join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
