/**
 * Acceptance against opam 2.1.2's own solutions (fixtures/oracle/solutions-5.3.0.tsv, made by
 * scripts/solver-oracle.sh, see fixtures/oracle/README.md): `opam install --dry-run PKG` on a fresh
 * switch whose invariant is ocaml-base-compiler.5.3.0, for the most depended-on packages of the
 * snapshot. ecocheck's solution of the version opam chose must be the same set of packages (the switch's
 * own packages plus opam's actions); where opam finds no solution, no version is installable. Every
 * package left out is listed in `EXPLAINED` with its cause.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, snapshotRepo } from '../../support/snapshot.js';
import { loadRepositories } from '../../../src/opam/repository.js';
import { createSolver } from '../../../src/solve/package-solver.js';
import { packageId } from '../../../src/opam/package-model.js';
import { skipWithoutSnapshot } from '../../support/missing-setup.js';

interface OracleRow {
  name: string;
  status: 'ok' | 'none';
  /** opam's dry-run actions, `install:NAME.VERSION`. */
  actions: string[];
}

function oracle(file: string): { switchPackages: string[]; rows: OracleRow[] } {
  const lines = readFileSync(join(projectRoot, 'fixtures', 'oracle', file), 'utf8').split('\n');
  const header = lines.find((l) => l.startsWith('# switch:'));
  assert.ok(header !== undefined, 'the oracle names the switch packages');
  const rows: OracleRow[] = [];
  for (const l of lines) {
    if (l.startsWith('#') || l.trim() === '') continue;
    const [name, status, actions = ''] = l.split('\t');
    assert.ok(status === 'ok' || status === 'none', `${name}: ${status}`);
    rows.push({ name, status, actions: actions.split(' ').filter((a) => a !== '') });
  }
  return { switchPackages: header.slice('# switch:'.length).trim().split(/\s+/), rows };
}

/**
 * Packages whose opam solution ecocheck does not reproduce, each with its cause (none for now: an entry
 * here must say why, and the test checks that each still differs).
 */
const EXPLAINED = new Map<string, string>([]);

const skip = skipWithoutSnapshot();

test('solutions equal opam 2.1.2 dry-run solutions on a fresh 5.3.0 switch', { skip }, () => {
  const { switchPackages, rows } = oracle('solutions-5.3.0.tsv');
  assert.ok(rows.length >= 200, `${rows.length} oracle packages`);
  const load = loadRepositories([snapshotRepo()]);
  const solver = createSolver(load, { compiler: '5.3.0' });
  const differences: string[] = [];
  let equal = 0;
  for (const row of rows) {
    const versions = load.packages.get(row.name) ?? [];
    const t0 = performance.now();
    let verdict: string | null = null;
    if (row.status === 'none') {
      const installable = versions.filter((p) => solver.isInstallable(p)).map(packageId);
      if (installable.length > 0) verdict = `opam finds no solution, ecocheck installs ${installable.join(', ')}`;
    } else {
      for (const a of row.actions) assert.match(a, /^install:/, `${row.name}: a fresh switch only installs (${a})`);
      const theirs = new Set([...switchPackages, ...row.actions.map((a) => a.slice('install:'.length))]);
      const target = versions.find((p) => theirs.has(packageId(p)));
      assert.ok(target !== undefined, `${row.name}: opam installs a version of it`);
      const o = solver.solve(target);
      if (!o.installable) verdict = `ecocheck finds ${packageId(target)} uninstallable: ${o.reason}`;
      else {
        const ours = new Set(o.solution.packages.map(packageId));
        const onlyTheirs = [...theirs].filter((x) => !ours.has(x)).sort();
        const onlyOurs = [...ours].filter((x) => !theirs.has(x)).sort();
        if (onlyTheirs.length + onlyOurs.length > 0) verdict = `opam only: ${onlyTheirs.join(' ')}; ecocheck only: ${onlyOurs.join(' ')}`;
      }
    }
    if (process.env.ECOCHECK_ORACLE_TIMES === '1') process.stderr.write(`${row.name} ${(performance.now() - t0).toFixed(0)} ms\n`);
    if (verdict === null) {
      assert.ok(!EXPLAINED.has(row.name), `${row.name} is listed as differing but now agrees`);
      equal++;
    } else if (!EXPLAINED.has(row.name)) differences.push(`${row.name}: ${verdict}`);
  }
  assert.deepEqual(differences, []);
  assert.equal(equal + EXPLAINED.size, rows.length);
});
