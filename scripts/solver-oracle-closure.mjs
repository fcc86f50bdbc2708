#!/usr/bin/env node
// The package names opam can need to solve `opam install NAME…` in a repository: the names given, the
// compiler's, and every name their versions mention in `depends:` or `depopts:` (any filter),
// transitively. A solution only installs packages of these names and version-lag counts the versions
// of a name only, so opam's solution is the same in a copy of the repository that keeps all versions of
// these names and nothing else (scripts/solver-oracle.sh uses it: opam's time is the loading of every
// opam file, not the solve). Usage: node scripts/solver-oracle-closure.mjs REPO NAME… > names.txt
import { loadRepositories } from '../dist/src/opam/repository.js';
import { atoms } from '../dist/src/opam/formula.js';

const [repo, ...roots] = process.argv.slice(2);
const load = loadRepositories([repo]);
const seen = new Set();
const queue = [...roots];
while (queue.length > 0) {
  const name = queue.pop();
  if (seen.has(name) || !load.packages.has(name)) continue;
  seen.add(name);
  for (const p of load.packages.get(name)) for (const a of [...atoms(p.depends), ...atoms(p.depopts)]) queue.push(a.name);
}
let versions = 0;
for (const n of seen) versions += load.packages.get(n).length;
process.stderr.write(`${seen.size} names, ${versions} versions\n`);
for (const n of [...seen].sort()) process.stdout.write(`${n}\n`);
