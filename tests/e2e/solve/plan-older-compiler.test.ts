/**
 * The plan's targets on an older compiler stay what they were (issue #23: planning made faster, the
 * same solutions): a slice of `plan --latest` on 4.14.2 over the real snapshot, recorded in
 * fixtures/plan/latest-4.14.2-slice.tsv from the whole plan's output — names whose newest version needs
 * OCaml 5 (an older version is the target), and names with no installable version (the reason). Each
 * is selected as the planner selects it (`selectTargets`, the newest installable version) and must give
 * the recorded version and installation in build order, or the recorded reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, snapshotRepo } from '../../support/snapshot.js';
import { skipWithoutSnapshot } from '../../support/missing-setup.js';
import { loadRepositories } from '../../../src/opam/repository.js';
import { createSolver } from '../../../src/solve/package-solver.js';
import { selectTargets } from '../../../src/plan/targets.js';
import { packageId } from '../../../src/opam/package-model.js';

const skip = skipWithoutSnapshot();

function recorded(): Map<string, { id: string; line: string }> {
  const out = new Map<string, { id: string; line: string }>();
  for (const line of readFileSync(join(projectRoot, 'fixtures', 'plan', 'latest-4.14.2-slice.tsv'), 'utf8').split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const id = line.split('\t')[0];
    out.set(id.slice(0, id.indexOf('.')), { id, line });
  }
  return out;
}

test('a slice of plan --latest on 4.14.2 gives the recorded targets and solutions', { skip }, () => {
  const expected = recorded();
  assert.ok(expected.size >= 15, `${expected.size} recorded targets`);
  const load = loadRepositories([snapshotRepo()]);
  const solver = createSolver(load, { compiler: '4.14.2' });
  const outcomes = selectTargets({ kind: 'explicit', specs: [...expected.keys()] }, load.packages, solver);
  const differences: string[] = [];
  for (const { target, outcome } of outcomes) {
    const id = packageId(target);
    const line = outcome.installable
      ? `${id}\tYES\t${outcome.solution.packages.map(packageId).join(' ')}`
      : `${id}\tNO\t${outcome.reason.replace(/\n/g, '\\n')}`;
    const want = expected.get(target.name);
    if (want === undefined || want.line !== line)
      differences.push(`${target.name}:\n  recorded ${want?.line ?? '(none)'}\n  now      ${line}`);
  }
  assert.deepEqual(differences, []);
  // A target whose newest version needs OCaml 5 is an older version: the slice holds some.
  const older = outcomes.filter((o) => o.target !== load.packages.get(o.target.name)?.at(-1) && o.outcome.installable);
  assert.ok(older.length >= 5, `${older.length} targets older than their name's newest version`);
});
