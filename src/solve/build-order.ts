/**
 * Build order of a solution: a package is built after the packages of the solution it depends on
 * (`depends` without the `post` ones) and after its `depopts` that are in the solution, as opam's
 * action graph orders them. Ties are broken by name, so the order is deterministic.
 *
 * A dependency cycle (only in a broken repository) is opam's "the solver may accept it, but there is no
 * build order": opam's solver does not order, its install then fails on the cycle. `dependencyCycle`
 * finds one, `noBuildOrderReason` says it the one way every verb says it (`solve`, `installable`, `plan`
 * and `check`); `buildOrder` still lists such a solution whole, breaking the cycle at its first package.
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
  const ready = [...missing]
    .filter(([, n]) => n === 0)
    .map(([id]) => id)
    .sort();
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

/**
 * A dependency cycle among the build dependencies of a solution, as `NAME.VERSION`s from its first
 * package back to it (`[a.1, b.1, a.1]`), or null when there is none. Deterministic: ids are visited in
 * order and the cycle is rotated to start at its smallest id. Walked with a work list (no recursion).
 */
export function dependencyCycle(deps: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 1 | 2>(); // 1 on the current path, 2 done
  for (const root of [...deps.keys()].sort()) {
    if (state.has(root)) continue;
    const path: string[] = [root];
    const next: number[] = [0];
    state.set(root, 1);
    while (path.length > 0) {
      const top = path.length - 1;
      const id = path[top];
      const ds = (deps.get(id) ?? []).filter((d) => deps.has(d));
      if (next[top] >= ds.length) {
        state.set(id, 2);
        path.pop();
        next.pop();
        continue;
      }
      const d = ds[next[top]++];
      const s = state.get(d);
      if (s === 1) {
        const cycle = path.slice(path.indexOf(d));
        let start = 0;
        for (let k = 1; k < cycle.length; k++) if (cycle[k] < cycle[start]) start = k;
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        return [...rotated, rotated[0]];
      }
      if (s === undefined) {
        state.set(d, 1);
        path.push(d);
        next.push(0);
      }
    }
  }
  return null;
}

/**
 * Why an installation with a dependency cycle cannot be built, said once for every verb. `target` is the
 * package asked about: on the cycle, or depending on it.
 */
export function noBuildOrderReason(target: string, cycle: readonly string[]): string {
  const on = cycle.includes(target);
  return `installable by the solver but no build order: ${on ? '' : 'its installation holds '}the dependency cycle ${cycle.join(' → ')}`;
}
