/**
 * Build order of a solution: a package is built after the packages of the solution it depends on
 * (`depends` without the `post` ones) and after its `depopts` that are in the solution, as opam's
 * action graph orders them. Ties are broken by name, so the order is deterministic. A dependency
 * cycle (only possible in a broken repository) is broken at its alphabetically first package.
 */
import type { OpamPackage } from '../opam/package-model.js';
import type { DependencyAtom } from '../opam/filter.js';
import { atoms } from '../opam/formula.js';
import { packageId } from '../opam/package-model.js';
import type { Formula } from '../opam/package-model.js';
import { versionSatisfies } from './universe.js';

/** A package's build-time dependency atoms (depends without post, plus depopts). */
export interface BuildEdges {
  depends: Formula<DependencyAtom>;
  depopts: Formula<DependencyAtom>;
}

export function buildDependencies(
  solution: readonly OpamPackage[],
  edgesOf: (p: OpamPackage) => BuildEdges,
): Map<string, string[]> {
  const byName = new Map<string, OpamPackage>();
  for (const p of solution) byName.set(p.name, p);
  const out = new Map<string, string[]>();
  for (const p of solution) {
    const e = edgesOf(p);
    const deps = new Set<string>();
    for (const a of atoms(e.depends)) {
      const q = byName.get(a.name);
      if (q !== undefined && q !== p && versionSatisfies(q.version, a.constraint)) deps.add(packageId(q));
    }
    // depopts: ordered before the package whenever present (their constraints do not force anything).
    for (const a of atoms(e.depopts)) {
      const q = byName.get(a.name);
      if (q !== undefined && q !== p) deps.add(packageId(q));
    }
    out.set(packageId(p), [...deps].sort());
  }
  return out;
}

/** Kahn's algorithm, smallest `NAME.VERSION` first among the ready packages. */
export function buildOrder(solution: readonly OpamPackage[], deps: Map<string, string[]>): OpamPackage[] {
  const byId = new Map<string, OpamPackage>();
  for (const p of solution) byId.set(packageId(p), p);
  const missing = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const p of solution) {
    const id = packageId(p);
    const ds = (deps.get(id) ?? []).filter((d) => byId.has(d));
    missing.set(id, ds.length);
    for (const d of ds) {
      let l = dependents.get(d);
      if (l === undefined) dependents.set(d, (l = []));
      l.push(id);
    }
  }
  const ready = [...missing].filter(([, n]) => n === 0).map(([id]) => id).sort();
  const out: OpamPackage[] = [];
  const done = new Set<string>();
  const release = (id: string) => {
    for (const r of dependents.get(id) ?? []) {
      const n = (missing.get(r) ?? 0) - 1;
      missing.set(r, n);
      if (n === 0 && !done.has(r)) insertSorted(ready, r);
    }
  };
  while (done.size < solution.length) {
    let id = ready.shift();
    if (id === undefined) {
      // A cycle: take the first remaining package.
      id = [...missing.keys()].filter((k) => !done.has(k)).sort()[0];
    }
    if (done.has(id)) continue;
    done.add(id);
    out.push(byId.get(id) as OpamPackage);
    release(id);
  }
  return out;
}

function insertSorted(list: string[], s: string): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] < s) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, s);
}
