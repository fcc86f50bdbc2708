/**
 * Compares a candidate run with a baseline run, package by package.
 *
 * Matching: a result of one run is paired with the result of the other run that has the same id
 * (`NAME.VERSION`); the rest are paired by NAME (a check of "latest versions" may pick another version
 * in each run). When several versions of one name are left on a side, they pair up from the highest
 * version down; any left over are absent from the other run. A package absent from a run counts as
 * not installable there.
 *
 * Categories, first rule that applies:
 * - spurious: either side timed out, ran out of memory, failed to fetch or hit an internal error, or is a
 *   dependency failure whose root cause did (it says nothing about the package);
 * - both sides not installable: still-failing (note says so);
 * - installable → not installable: newly-not-installable; not installable → installable: newly-installable
 *   (whatever the candidate status; a failure is noted);
 * - ok → ok: still-ok; ok → build/install failure: regressed; ok → dependency failure:
 *   dependency-regressed, grouped under its root cause (the dependency whose own build failed first,
 *   found by following `rootCause` records transitively in the candidate run);
 * - failing → ok: fixed; failing → failing: still-failing.
 */
import { compareVersions } from '../opam/version.js';
import {
  COMPARISON_CATEGORIES,
  OWN_FAILURE_STATUSES,
  isSpurious,
  type ComparisonCategory,
  type PackageRunResult,
} from '../results/taxonomy.js';
import type { Comparison, MatchRule, PackageComparison, RootCause } from './comparison.js';
import { clusterEntries, resultFirstError } from './error-clusters.js';
import type { RunSide } from './run-side.js';

interface Pair {
  name: string;
  baseline: PackageRunResult | null;
  candidate: PackageRunResult | null;
  matchedBy: MatchRule;
}

function indexById(results: PackageRunResult[]): Map<string, PackageRunResult> {
  const m = new Map<string, PackageRunResult>();
  for (const r of results) if (!m.has(r.id)) m.set(r.id, r);
  return m;
}

function pairResults(baseline: PackageRunResult[], candidate: PackageRunResult[]): Pair[] {
  const candById = indexById(candidate);
  const pairs: Pair[] = [];
  const usedCandidate = new Set<PackageRunResult>();
  const leftBaseline = new Map<string, PackageRunResult[]>();
  const seenBaselineIds = new Set<string>();
  for (const b of baseline) {
    if (seenBaselineIds.has(b.id)) continue; // a duplicated record counts once
    seenBaselineIds.add(b.id);
    const c = candById.get(b.id);
    if (c !== undefined && !usedCandidate.has(c)) {
      usedCandidate.add(c);
      pairs.push({ name: b.name, baseline: b, candidate: c, matchedBy: 'id' });
    } else {
      const list = leftBaseline.get(b.name) ?? [];
      list.push(b);
      leftBaseline.set(b.name, list);
    }
  }
  const leftCandidate = new Map<string, PackageRunResult[]>();
  const seenCandidateIds = new Set<string>();
  for (const c of candidate) {
    if (usedCandidate.has(c) || seenCandidateIds.has(c.id)) continue;
    seenCandidateIds.add(c.id);
    const list = leftCandidate.get(c.name) ?? [];
    list.push(c);
    leftCandidate.set(c.name, list);
  }
  const byVersionDesc = (a: PackageRunResult, b: PackageRunResult) => compareVersions(b.version, a.version);
  const names = new Set([...leftBaseline.keys(), ...leftCandidate.keys()]);
  for (const name of names) {
    const bs = (leftBaseline.get(name) ?? []).sort(byVersionDesc);
    const cs = (leftCandidate.get(name) ?? []).sort(byVersionDesc);
    const n = Math.max(bs.length, cs.length);
    for (let i = 0; i < n; i++) {
      const b = bs[i] ?? null;
      const c = cs[i] ?? null;
      pairs.push({ name, baseline: b, candidate: c, matchedBy: b !== null && c !== null ? 'name' : 'one-side' });
    }
  }
  return pairs;
}

/** Follows `rootCause` records within one run until a result that is not itself a dependency failure. */
function resolveRoot(r: PackageRunResult, byId: Map<string, PackageRunResult>): { id: string | null; result: PackageRunResult | null } {
  let id = r.rootCause;
  let result: PackageRunResult | null = null;
  const seen = new Set<string>([r.id]);
  while (id !== null && !seen.has(id)) {
    seen.add(id);
    const next = byId.get(id);
    if (next === undefined) break;
    result = next;
    if (next.status !== 'dependency-failed' || next.rootCause === null) break;
    id = next.rootCause;
  }
  return { id, result };
}

/** Why a side is spurious, or null: its own status, or the status of its dependency failure's root. */
function spuriousReason(r: PackageRunResult | null, byId: Map<string, PackageRunResult>): string | null {
  if (r === null) return null;
  if (isSpurious(r.status)) return r.reason !== '' ? `${r.status}: ${r.reason}` : r.status;
  if (r.status === 'dependency-failed') {
    const root = resolveRoot(r, byId);
    if (root.result !== null && isSpurious(root.result.status)) return `dependency ${root.result.id}: ${root.result.status}`;
  }
  return null;
}

function installable(r: PackageRunResult | null): boolean {
  return r !== null && r.status !== 'not-installable';
}

function failureDetail(r: PackageRunResult): string {
  if (r.status === 'dependency-failed')
    return r.rootCause !== null ? `dependency ${r.rootCause} failed` : r.reason || 'a dependency failed';
  if (r.status === 'not-installable') return r.reason !== '' ? `not installable: ${r.reason}` : 'not installable';
  return resultFirstError(r);
}

export function compareRuns(baseline: RunSide, candidate: RunSide): Comparison {
  const pairs = pairResults(baseline.results, candidate.results);
  const nameCount = new Map<string, number>();
  for (const p of pairs) nameCount.set(p.name, (nameCount.get(p.name) ?? 0) + 1);
  const keyOf = (p: Pair) => (nameCount.get(p.name) === 1 ? p.name : (p.candidate ?? p.baseline)!.id);

  const baseById = indexById(baseline.results);
  const candById = indexById(candidate.results);
  const pairByCandidateId = new Map<string, Pair>();
  for (const p of pairs) if (p.candidate !== null) pairByCandidateId.set(p.candidate.id, p);

  const packages: PackageComparison[] = [];
  for (const p of pairs) {
    const { baseline: b, candidate: c } = p;
    const entry: PackageComparison = {
      key: keyOf(p),
      name: p.name,
      baseline: b,
      candidate: c,
      matchedBy: p.matchedBy,
      category: 'still-ok',
      rootCause: null,
      detail: '',
      note: null,
    };
    const spuriousB = spuriousReason(b, baseById);
    const spuriousC = spuriousReason(c, candById);
    if (spuriousB !== null || spuriousC !== null) {
      entry.category = 'spurious';
      entry.detail = [spuriousB && `baseline ${spuriousB}`, spuriousC && `candidate ${spuriousC}`].filter(Boolean).join('; ');
    } else if (!installable(b) && !installable(c)) {
      entry.category = 'still-failing';
      entry.detail = c !== null ? failureDetail(c) : failureDetail(b!);
      entry.note = 'not installable in either run';
    } else if (installable(b) && !installable(c)) {
      entry.category = 'newly-not-installable';
      entry.detail = c === null ? 'absent from the candidate run' : failureDetail(c);
    } else if (!installable(b) && installable(c)) {
      entry.category = 'newly-installable';
      if (c!.status !== 'ok') {
        entry.detail = failureDetail(c!);
        entry.note = `installable now, but ${c!.status}`;
      } else entry.detail = b === null ? 'absent from the baseline run' : '';
    } else if (b!.status === 'ok') {
      if (c!.status === 'ok') entry.category = 'still-ok';
      else if (OWN_FAILURE_STATUSES.has(c!.status)) {
        entry.category = 'regressed';
        entry.detail = failureDetail(c!);
      } else {
        // dependency-failed (the only status left once spurious and not-installable are out)
        entry.category = 'dependency-regressed';
        const root = resolveRoot(c!, candById);
        const rootKey = (id: string | null) => {
          const rootPair = id !== null ? pairByCandidateId.get(id) : undefined;
          return rootPair !== undefined ? keyOf(rootPair) : (id ?? '(unknown root cause)');
        };
        entry.rootCause = rootKey(root.id);
        entry.detail = `dependency ${root.id ?? '(unknown)'} failed`;
        // Every root the record names, each resolved the same way, the first one first.
        if (c!.rootCauses !== undefined && c!.rootCauses.length > 1) {
          const all = new Map<string, string | null>();
          for (const id of c!.rootCauses) {
            const other = resolveRoot({ ...c!, rootCause: id, rootCauses: undefined }, candById).id;
            all.set(rootKey(other), other);
          }
          if (all.size > 1) {
            entry.rootCauses = [...all.keys()];
            entry.detail = `dependencies ${[...all.values()].map((id) => id ?? '(unknown)').join(', ')} failed`;
          }
        }
      }
    } else if (c!.status === 'ok') {
      entry.category = 'fixed';
      entry.detail = `was: ${failureDetail(b!)}`;
    } else {
      entry.category = 'still-failing';
      entry.detail = failureDetail(c!);
    }
    packages.push(entry);
  }
  packages.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));

  const counts = Object.fromEntries(COMPARISON_CATEGORIES.map((k) => [k, 0])) as Record<ComparisonCategory, number>;
  for (const e of packages) counts[e.category]++;

  // Root causes: every regressed package, and every root that dependency regressions point at.
  const roots = new Map<string, RootCause>();
  const byKey = new Map(packages.map((e) => [e.key, e]));
  const rootEntry = (key: string): RootCause => {
    let rc = roots.get(key);
    if (rc === undefined) {
      const e = byKey.get(key);
      let firstError = '';
      if (e !== undefined && e.candidate !== null && e.candidate.status !== 'ok') firstError = failureDetail(e.candidate);
      else if (e === undefined) {
        const r = candById.get(key);
        if (r !== undefined) firstError = failureDetail(r);
      }
      rc = { key, category: e?.category ?? null, firstError, dependents: [] };
      roots.set(key, rc);
    }
    return rc;
  };
  for (const e of packages) if (e.category === 'regressed') rootEntry(e.key);
  for (const e of packages)
    if (e.category === 'dependency-regressed') for (const k of e.rootCauses ?? [e.rootCause!]) rootEntry(k).dependents.push(e.key);
  const rootCauses = [...roots.values()]
    .map((rc) => ({ ...rc, dependents: rc.dependents.sort() }))
    .sort((a, b) => b.dependents.length - a.dependents.length || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const regressionClusters = clusterEntries(
    packages.filter((e) => e.category === 'regressed'),
    (e) => e.key,
    (e) => e.candidate!,
  );

  return {
    baseline: { runId: baseline.runId, label: baseline.label, compiler: baseline.compiler, packageCount: baseline.results.length },
    candidate: { runId: candidate.runId, label: candidate.label, compiler: candidate.compiler, packageCount: candidate.results.length },
    packages,
    counts,
    rootCauses,
    regressionClusters,
  };
}
