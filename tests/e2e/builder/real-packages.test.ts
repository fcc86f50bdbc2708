/**
 * Real packages of opam-repository, with their real upstream sources (Debian 12's tarballs, matched to
 * opam's checksums), built offline with Debian's OCaml 4.13.1 through fixtures/compilers and
 * fixtures/offline-sources, the way opam builds them: ocamlfind (its configure and `make install` into
 * the switch), dune (bootstrapped), topkg and a topkg package (astring), ocamlbuild, a Makefile +
 * `ocamlfind install` package (xml-light), a conf-* package on a system library and C stubs (conf-gmp,
 * zarith). Each job's layer holds what opam installs for the package: checked against opam 2.1.2's
 * own record of it (fixtures/opam-install-oracle, NAME.VERSION.changes) where the oracle has the package.
 *
 * The sources come from Debian's package registry (scripts/fetch-debian-sources.sh, once per machine).
 * Where it cannot be reached the test is skipped, except in CI (CI=true), where that is a failure (tests/support/missing-setup.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveRepo, projectRoot, snapshotRepo } from '../../support/snapshot.js';
import { fetchDebianSources, importSources, servedRepository } from '../../support/real-sources.js';
import { openDatabase } from '../../../src/store/database.js';
import { loadRunResults } from '../../../src/store/run-records.js';
import { listRuns } from '../../../src/store/runs.js';
import { compareWithOracle, layerFiles } from '../../support/opam-install-oracle.js';
import { skipWithout, skipWithoutSnapshotAndArchive } from '../../support/missing-setup.js';

const SUITE = 'bookworm';
const SOURCE_PACKAGES = ['findlib', 'ocaml-dune', 'ocaml-topkg', 'ocamlbuild', 'ocaml-astring', 'xml-light', 'ocaml-zarith'];
const TARGETS = [
  'ocamlfind.1.9.6',
  'dune.2.9.3',
  'ocamlbuild.0.14.1',
  'topkg.1.0.7',
  'astring.0.8.5',
  'xml-light.2.4',
  'conf-gmp.5',
  'zarith.1.12',
];
const ocamlOk = spawnSync('ocamlc', ['-version'], { encoding: 'utf8' }).stdout?.trim() === '4.13.1';

function skipReason(): string | false {
  const early =
    skipWithoutSnapshotAndArchive() ||
    skipWithout('system-ocaml', ocamlOk ? false : "Debian's OCaml 4.13.1 (ocaml-nox) is not the ocamlc on PATH");
  if (early) return early;
  const err = fetchDebianSources(SUITE, SOURCE_PACKAGES);
  return skipWithout('debian-sources', err === null ? false : `Debian's source packages cannot be fetched here: ${err}`);
}

const skip = skipReason();

test('real packages build offline as opam builds them, each layer holding what opam installs', { skip, timeout: 40 * 60_000 }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'ecocheck-real-packages-'));
  try {
    const upstream = [snapshotRepo(), archiveRepo()];
    const cache = join(scratch, 'downloads');
    const served = importSources(SUITE, cache, upstream);
    for (const t of TARGETS.filter((t) => !t.startsWith('conf-'))) assert.ok(served.has(t), `Debian's tarballs serve ${t}`);
    const repo = servedRepository(join(scratch, 'corpus'), upstream, served);
    const state = join(scratch, 'state');
    const r = spawnSync(
      process.execPath,
      [
        join(projectRoot, 'bin', 'ecocheck'),
        'check',
        '--repo',
        join(projectRoot, 'fixtures', 'compilers'),
        '--repo',
        join(projectRoot, 'fixtures', 'offline-sources'),
        '--repo',
        repo,
        '--compiler',
        'ocaml-system.4.13.1',
        '--state-dir',
        state,
        '--cache-dir',
        cache,
        '--jobs',
        '2',
        '--format',
        'json',
        ...TARGETS,
      ],
      { encoding: 'utf8', cwd: projectRoot },
    );
    assert.equal(r.status, 0, r.stderr);
    const db = openDatabase(join(state, 'ecocheck.sqlite'));
    try {
      const [run] = listRuns(db);
      const results = loadRunResults(db, run.id);
      const byId = new Map(results.map((x) => [x.id, x]));
      for (const t of TARGETS) assert.equal(byId.get(t)?.status, 'ok', `${t}: ${byId.get(t)?.status}: ${byId.get(t)?.reason}`);
      let compared = 0;
      for (const t of TARGETS) {
        const key = byId.get(t)!.jobKey!;
        // Results name a layer by its key: it is the store's folder of that key.
        const layer = join(state, 'store', key);
        assert.ok(layerFiles(layer).length > 0 || t.startsWith('conf-'), `${t} installed nothing`);
        const diff = compareWithOracle(t, layer);
        if (diff === null) continue;
        compared++;
        assert.deepEqual(diff, { onlyEcocheck: [], onlyOpam: [] }, `${t}: the layer's files are what opam 2.1.2 installs`);
      }
      assert.ok(compared >= 6, `the opam oracle has most of these packages (${compared} compared)`);
    } finally {
      db.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
