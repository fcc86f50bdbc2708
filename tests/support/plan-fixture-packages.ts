/**
 * Hand-built packages and solutions for the plan, scheduler and store tests: the smallest OpamPackage
 * values the plan reads (name, version, content hash, files folder), and solutions built from a
 * dependency table the way the solver reports them.
 */
import { createHash } from 'node:crypto';
import type { OpamPackage } from '../../src/opam/package-model.js';
import type { Solution } from '../../src/solve/solution.js';
import type { TargetOutcome } from '../../src/plan/build-plan.js';

export function fakePackage(id: string, opamText = `opam-version: "2.0"\n# ${id}\n`, filesDir: string | null = null): OpamPackage {
  const dot = id.indexOf('.');
  const name = id.slice(0, dot);
  const version = id.slice(dot + 1);
  const empty = { kind: 'empty' } as const;
  return {
    name,
    version,
    file: `/fake/packages/${name}/${id}/opam`,
    repository: '/fake',
    filesDir,
    contentHash: createHash('sha256').update(opamText).digest('hex'),
    opamVersion: '2.0',
    depends: empty,
    depopts: empty,
    conflicts: empty,
    conflictClass: [],
    available: { kind: 'bool', value: true },
    flags: [],
    build: [],
    install: [],
    remove: [],
    runTest: [],
    patches: [],
    substs: [],
    extraFiles: [],
    extraSources: [],
    url: null,
    depexts: [],
    setenv: [],
    buildEnv: [],
    synopsis: null,
    extensions: {},
    ast: { items: [] } as unknown as OpamPackage['ast'],
    fieldSpans: {},
  };
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
