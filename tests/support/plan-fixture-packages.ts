/**
 * Packages and solutions for the plan, scheduler and store tests: small packages read from opam text
 * (name, version, content hash, files folder are what the plan reads), and solutions built from a
 * dependency table the way the solver reports them.
 */
import { createHash } from 'node:crypto';
import type { OpamPackage } from '../../src/opam/package-model.js';
import { parseOpamFile } from '../../src/opam/parser.js';
import { packageFromAst } from '../../src/opam/package-from-ast.js';
import type { Solution } from '../../src/solve/solution.js';
import type { TargetOutcome } from '../../src/plan/build-plan.js';

/** `NAME.VERSION` read from `opamText` through the real parser and package model. */
export function fakePackage(id: string, opamText = `opam-version: "2.0"\n# ${id}\n`, filesDir: string | null = null): OpamPackage {
  const dot = id.indexOf('.');
  const name = id.slice(0, dot);
  const version = id.slice(dot + 1);
  const file = `/fake/packages/${name}/${id}/opam`;
  const contentHash = createHash('sha256').update(opamText).digest('hex');
  return packageFromAst(parseOpamFile(opamText, file), { name, version, file, repository: '/fake', filesDir, contentHash });
}

/**
 * A solution for `target` from a table `id -> dependency ids` (the solution holds the target's
 * transitive dependencies, in build order).
 */
export function fakeSolution(target: string, deps: Record<string, string[]>, packages: Map<string, OpamPackage>): Solution {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    for (const d of deps[id] ?? []) visit(d);
    order.push(id);
  };
  visit(target);
  const pkg = (id: string) => {
    let p = packages.get(id);
    if (!p) packages.set(id, (p = fakePackage(id)));
    return p;
  };
  return {
    target: pkg(target),
    packages: order.map(pkg),
    buildDependencies: new Map(order.map((id) => [id, deps[id] ?? []])),
  };
}

export function fakeTargets(targets: string[], deps: Record<string, string[]>, packages = new Map<string, OpamPackage>()): TargetOutcome[] {
  return targets.map((t) => {
    const solution = fakeSolution(t, deps, packages);
    return { target: solution.target, outcome: { installable: true, solution } };
  });
}
