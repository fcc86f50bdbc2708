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
  depends: DependencyAtom[];
  depopts: DependencyAtom[];
}

export function buildEdges(depends: Formula<DependencyAtom>, depopts: Formula<DependencyAtom>): BuildEdges {
  return { depends: atoms(depends), depopts: atoms(depopts) };
}

export function buildDependencies(
  solution: readonly OpamPackage[],
  edgesOf: (p: OpamPackage) => BuildEdges,
  idOf: (p: OpamPackage) => string = packageId,
): Map<string, string[]> {
  const byName = new Map<string, OpamPackage>();
  for (const p of solution) byName.set(p.name, p);
  const out = new Map<string, string[]>();
  for (const p of solution) {
    const e = edgesOf(p);
    const deps: string[] = [];
    const add = (q: OpamPackage) => {
      const id = idOf(q);
      if (!deps.includes(id)) deps.push(id);
    };
    for (const a of e.depends) {
      const q = byName.get(a.name);
      if (q !== undefined && q !== p && versionSatisfies(q.version, a.constraint)) add(q);
    }
    // depopts: ordered before the package whenever present (their constraints do not force anything).
    for (const a of e.depopts) {
      const q = byName.get(a.name);
      if (q !== undefined && q !== p) add(q);
    }
    out.set(idOf(p), deps.sort());
  }
  return out;
}

/** Kahn's algorithm, smallest `NAME.VERSION` first among the ready packages. */
export function buildOrder(
  solution: readonly OpamPackage[],
  deps: Map<string, string[]>,
  idOf: (p: OpamPackage) => string = packageId,
): OpamPackage[] {
  const byId = new Map<string, OpamPackage>();
  for (const p of solution) byId.set(idOf(p), p);
  const missing = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const p of solution) {
    const id = idOf(p);
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
