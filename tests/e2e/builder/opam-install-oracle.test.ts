/**
 * What a build installs, against opam 2.1.2 itself: fixtures/opam-install-oracle holds the
 * `.opam-switch/install/NAME.changes` opam wrote for real packages of several build systems (findlib,
 * dune, topkg, oasis/ocamlbuild, Makefile + ocamlfind install, conf-*) built with Debian's OCaml 4.13.1
 * (scripts/make-opam-install-oracle.sh). The files of each ecocheck job's layer must be the same paths.
 *
 * tests/e2e/builder/real-packages.test.ts makes that comparison for the packages it builds, in every run. This file
 * makes it for the whole oracle over a state directory where the real corpus was checked with
 * ocaml-system.4.13.1 (../shared/realworld/make-debian-corpus; see the README), when
 * ECOCHECK_CORPUS_STATE names one; and always checks that the oracle reads as expected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../../src/store/database.js';
import { compareWithOracle, oracleFiles, oraclePackages, oracleSolution } from '../../support/opam-install-oracle.js';
import { skipWithout } from '../../support/missing-setup.js';

test('the oracle reads as opam wrote it: files and links, not directories, relative to the switch', () => {
  const ids = oraclePackages();
  assert.ok(ids.length >= 20, `${ids.length} packages in the oracle`);
  const findlib = oracleFiles('ocamlfind.1.9.6')!;
  for (const f of ['bin/ocamlfind', 'lib/findlib.conf', 'lib/findlib/META']) assert.ok(findlib.includes(f), f);
  assert.ok(!findlib.includes('lib/findlib'), 'a directory is not listed');
  assert.deepEqual(oracleFiles('base-unix.base'), []);
  assert.deepEqual(oracleFiles('ocamlwc.0.3'), ['bin/ocamlwc'], 'a single entry is written without brackets');
  assert.equal(oracleFiles('no-such-package.1.0'), null);
});

const state = process.env.ECOCHECK_CORPUS_STATE;
const skip = skipWithout(
  'corpus-state',
  state === undefined
    ? 'ECOCHECK_CORPUS_STATE is not set (a state directory where the real corpus was checked with ocaml-system.4.13.1)'
    : false,
);

test('every oracle package built in the corpus run installs exactly what opam installs', { skip }, () => {
  const db = openDatabase(join(state!, 'ecocheck.sqlite'));
  try {
    const run = db.prepare(`SELECT id FROM runs WHERE compiler_spec = 'ocaml-system.4.13.1' ORDER BY id DESC LIMIT 1`).get() as
      { id: number } | undefined;
    assert.ok(run, 'a run with ocaml-system.4.13.1 in the state directory');
    const layers = db
      .prepare(
        `SELECT j.key AS key, j.name || '.' || j.version AS id FROM run_jobs rj JOIN jobs j ON j.key = rj.job_key
         JOIN results r ON r.job_key = rj.job_key WHERE rj.run_id = ? AND r.status = 'ok'`,
      )
      .all(run.id)
      // Results name a layer by its key: it is the store's folder of that key.
      .map((l) => ({ ...(l as { key: string; id: string }), layer: join(state!, 'store', (l as { key: string }).key) }));
    const byId = new Map(layers.map((l) => [l.id, l]));
    const idOfKey = new Map(layers.map((l) => [l.key, l.id]));
    const depsOf = db.prepare(`SELECT dependencies FROM jobs WHERE key = ?`);
    /** Every job the job was built against, transitively (the jobs table keeps the direct ones). */
    const closureOf = (key: string): string[] => {
      const seen = new Set<string>();
      const visit = (k: string) => {
        for (const d of JSON.parse((depsOf.get(k) as { dependencies: string }).dependencies) as string[]) {
          if (!seen.has(d)) {
            seen.add(d);
            visit(d);
          }
        }
      };
      visit(key);
      return [...seen];
    };
    const compared: string[] = [];
    const otherSolution: string[] = [];
    const differences: string[] = [];
    for (const id of oraclePackages()) {
      const job = byId.get(id);
      if (job === undefined || !existsSync(job.layer)) continue;
      const layer = job.layer;
      // What a build installs depends on what it is built with (depopts): compare like with like.
      const opamSolution = oracleSolution(id);
      const ours = [...closureOf(job.key).map((k) => idOfKey.get(k) ?? k), id].sort();
      if (opamSolution !== null && JSON.stringify(opamSolution) !== JSON.stringify(ours)) {
        otherSolution.push(
          `${id} (opam's switch also had ${opamSolution.filter((x) => !ours.includes(x)).join(' ') || '-'}; ours also ${ours.filter((x) => !opamSolution.includes(x)).join(' ') || '-'})`,
        );
        continue;
      }
      const diff = compareWithOracle(id, layer)!;
      compared.push(id);
      if (diff.onlyEcocheck.length > 0 || diff.onlyOpam.length > 0) {
        differences.push(`${id}: only ecocheck ${JSON.stringify(diff.onlyEcocheck)}, only opam ${JSON.stringify(diff.onlyOpam)}`);
      }
    }
    process.stdout.write(`# compared ${compared.length} packages with opam: ${compared.join(' ')}\n`);
    process.stdout.write(`# not compared, built with other dependencies than opam's: ${otherSolution.join('; ') || 'none'}\n`);
    assert.ok(compared.length >= 15, `${compared.length} oracle packages were built in run ${run.id}`);
    assert.deepEqual(differences, []);
  } finally {
    db.close();
  }
});
