/**
 * opam's own archive mirrors in a check: a repository whose `repo` file declares `archive-mirrors`
 * serves a source whose url is dead, as opam would; `--no-default-mirror` turns that off; a clone of
 * opam-repository falls back on opam.ocaml.org's cache (tried, and failing offline, here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../support/snapshot.js';
import { instantiateEcosystem } from '../../support/fixture-ecosystem.js';

const bin = join(projectRoot, 'bin', 'ecocheck');

function ecocheck(args: string[], opamRoot: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    cwd: projectRoot,
    env: { ...process.env, OPAMROOT: opamRoot },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function statusOf(stdout: string, id: string): string {
  return JSON.parse(stdout).results.find((p: { id: string }) => p.id === id).status;
}

test("a repository's declared archive mirror serves a dead url; --no-default-mirror drops it; opam-repository falls back on opam.ocaml.org", () => {
  const eco = instantiateEcosystem();
  const scratch = mkdtempSync(join(tmpdir(), 'ecocheck-default-mirror-'));
  const opamRoot = join(scratch, 'opamroot');
  mkdirSync(opamRoot);
  try {
    const opam = join(eco.root, 'packages', 'stdext', 'stdext.1.0', 'opam');
    writeFileSync(opam, readFileSync(opam, 'utf8').replace(/src: "[^"]*"/, 'src: "http://127.0.0.1:9/stdext-1.0.tar.gz"'));
    // The repository's own cache, as `opam admin cache` lays it out, named by its repo file.
    assert.equal(
      ecocheck(['cache', 'import', join(eco.root, 'distfiles', 'stdext-1.0.tar.gz'), '--cache-dir', join(eco.root, 'cache')], opamRoot)
        .code,
      0,
    );
    writeFileSync(join(eco.root, 'repo'), 'opam-version: "2.0"\narchive-mirrors: "cache"\n');
    const common = ['check', '--repo', eco.root, '--compiler', '1.0', '--jobs', '2', '--format', 'json'];
    const served = ecocheck([...common, '--state-dir', join(scratch, 'a'), 'stdext'], opamRoot);
    assert.equal(served.code, 0, served.stderr);
    assert.equal(statusOf(served.stdout, 'stdext.1.0'), 'ok');
    assert.match(served.stderr, new RegExp(`archive mirrors \\(opam's defaults.*file://${join(eco.root, 'cache')}`));
    const off = ecocheck([...common, '--state-dir', join(scratch, 'b'), '--no-default-mirror', 'stdext'], opamRoot);
    assert.equal(statusOf(off.stdout, 'stdext.1.0'), 'fetch-failed', off.stdout);
    // The user's opam root declares the mirror instead: the same source is served from it.
    rmSync(join(eco.root, 'repo'));
    writeFileSync(join(opamRoot, 'config'), `opam-version: "2.0"\narchive-mirrors: "file://${join(eco.root, 'cache')}"\n`);
    assert.equal(statusOf(ecocheck([...common, '--state-dir', join(scratch, 'c'), 'stdext'], opamRoot).stdout, 'stdext.1.0'), 'ok');
    rmSync(join(opamRoot, 'config'));
    // A clone of opam-repository: opam.ocaml.org's cache is tried after the url (unreachable offline).
    writeFileSync(join(eco.root, 'repo'), 'opam-version: "2.0"\nupstream: "https://github.com/ocaml/opam-repository/tree/master/"\n');
    const opamOrg = ecocheck([...common, '--state-dir', join(scratch, 'd'), 'stdext'], opamRoot);
    assert.equal(statusOf(opamOrg.stdout, 'stdext.1.0'), 'fetch-failed');
    const log = ecocheck(['log', 'stdext', '--state-dir', join(scratch, 'd')], opamRoot);
    assert.match(log.stdout, /fetching https:\/\/opam\.ocaml\.org\/cache\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}/);
  } finally {
    eco.dispose();
    rmSync(scratch, { recursive: true, force: true });
  }
});
