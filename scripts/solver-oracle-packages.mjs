#!/usr/bin/env node
// The packages of the solver oracle (fixtures/oracle/solutions-5.3.0.tsv): package names of a repository
// ranked by how many other package names depend on them (any version, any filter), most depended-on
// first; ties by name. Needs `npm run build` (reads the repository with ecocheck's loader).
// Usage: node scripts/solver-oracle-packages.mjs REPO COUNT
import { loadRepositories } from '../dist/src/opam/repository.js';
import { atoms } from '../dist/src/opam/formula.js';

const [repo, count] = process.argv.slice(2);
if (repo === undefined) throw new Error('usage: solver-oracle-packages.mjs REPO [COUNT]');
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
const ranked = [...dependents]
  .filter(([name]) => load.packages.has(name))
  .map(([name, s]) => [name, s.size])
  .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
for (const [name, n] of ranked.slice(0, Number(count ?? 250))) process.stdout.write(`${name}\t${n}\n`);
