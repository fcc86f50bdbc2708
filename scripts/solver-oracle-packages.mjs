#!/usr/bin/env node
// The packages of a solver oracle (fixtures/oracle/solutions-COMPILER.tsv), one name a line, in the
// order the oracle solves them:
// - the COUNT most depended-on names of a repository (how many other package names mention the name in
//   `depends:`, any version, any filter; ties by name), and
// - with a COMPILER, up to EXTRA more names whose newest version ecocheck's solver finds NOT installable
//   on a fresh switch with that compiler (the packages where `opam install NAME` must fall back on an
//   older version, or has none), the most depended-on first. There are thousands of them on an old
//   compiler, and one opam solve takes seconds: the cap keeps the ones most users meet.
// The two sets are interleaved (three of the first, one of the second) so that a partial run covers both.
// Needs `npm run build` (reads the repository with ecocheck's loader and solver).
// Usage: node scripts/solver-oracle-packages.mjs REPO COUNT [COMPILER [EXTRA]]
import { loadRepositories } from '../dist/src/opam/repository.js';
import { atoms } from '../dist/src/opam/formula.js';
import { createSolver } from '../dist/src/solve/package-solver.js';

const [repo, count, compiler, extra] = process.argv.slice(2);
if (repo === undefined) throw new Error('usage: solver-oracle-packages.mjs REPO [COUNT [COMPILER [EXTRA]]]');
const load = loadRepositories([repo]);
const dependents = new Map();
for (const [name, versions] of load.packages) {
  for (const p of versions) {
    for (const a of atoms(p.depends)) {
      if (a.name === name) continue;
      let s = dependents.get(a.name);
      if (s === undefined) dependents.set(a.name, (s = new Set()));
      s.add(name);
    }
  }
}
const rank = (name) => dependents.get(name)?.size ?? 0;
const byRank = (a, b) => rank(b) - rank(a) || (a < b ? -1 : 1);
const top = [...dependents.keys()]
  .filter((name) => load.packages.has(name))
  .sort(byRank)
  .slice(0, Number(count ?? 250));
let second = [];
if (compiler !== undefined) {
  const solver = createSolver(load, { compiler });
  const inTop = new Set(top);
  const notInstallable = [];
  for (const [name, versions] of load.packages) {
    if (inTop.has(name) || versions.length === 0) continue;
    if (!solver.isInstallable(versions[versions.length - 1])) notInstallable.push(name);
  }
  process.stderr.write(`${notInstallable.length} other names whose newest version is not installable with ${compiler}\n`);
  second = notInstallable.sort(byRank).slice(0, Number(extra ?? 100));
}
const out = [];
for (let i = 0, j = 0; i < top.length || j < second.length;) {
  for (let k = 0; k < 3 && i < top.length; k++) out.push([top[i++], 'top']);
  if (j < second.length) out.push([second[j++], 'newest-not-installable']);
}
for (const [name, why] of out) process.stdout.write(`${name}\t${rank(name)}\t${why}\n`);
