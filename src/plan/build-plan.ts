/**
 * The union of the per-target solutions as one DAG of hash-consed jobs. Each solution is walked in build
 * order; a package's job is keyed by its content and its dependencies' jobs, so packages solved the same
 * way by many targets share one job, and the same NAME.VERSION solved against different dependencies
 * becomes different jobs.
 */
import type { OpamPackage } from '../opam/package-model.js';
import { packageId } from '../opam/package-model.js';
import type { SolveOutcome, Solution } from '../solve/solution.js';
import type { Job, Plan } from './job.js';
import { FilesDirHashCache } from './files-hash.js';
import { jobKey, keyContextHash, localSourcesKey, pinnedSourceKey, type KeyContext } from './job-key.js';
import { LocalSourcePolicy } from './local-source-policy.js';
import { PlanError } from './plan-error.js';
import { dependencyCycle, noBuildOrderReason } from '../solve/build-order.js';

/** One requested target and what the solver said about it. */
export interface TargetOutcome {
  target: OpamPackage;
  outcome: SolveOutcome;
}

export { PlanError } from './plan-error.js';

export function buildPlan(targets: readonly TargetOutcome[], ctx: KeyContext, filesHashes = new FilesDirHashCache()): Plan {
  const contextHash = keyContextHash(ctx);
  const sourcePolicy = new LocalSourcePolicy(ctx.localSourceRoots ?? []);
  const jobs = new Map<string, Job>();
  /** Build-order index of each job, to order closures. */
  const order = new Map<string, number>();
  const planTargets: Plan['targets'] = [];
  const notInstallable: Plan['notInstallable'] = [];
  const seenTargets = new Set<string>();

  for (const { target, outcome } of targets) {
    const id = packageId(target);
    if (seenTargets.has(id)) continue;
    seenTargets.add(id);
    if (!outcome.installable) {
      notInstallable.push({ id, reason: outcome.reason });
      continue;
    }
    // An installation holding a dependency cycle has no build order: that target is not installable.
    const cycle = outcome.solution.cycle ?? dependencyCycle(outcome.solution.buildDependencies);
    if (cycle !== null) {
      notInstallable.push({ id, reason: noBuildOrderReason(id, cycle) });
      continue;
    }
    // A malformed solution (a solver bug) loses that target only, never the whole plan.
    try {
      const key = addSolution(outcome.solution).get(id);
      if (key === undefined) throw new PlanError(`the solution for ${id} does not contain ${id}`);
      planTargets.push({ id, key });
    } catch (err) {
      if (!(err instanceof PlanError)) throw err;
      notInstallable.push({ id, reason: `internal error, no plan: ${err.message}` });
    }
  }
  return { jobs, targets: planTargets, notInstallable };

  function addSolution(solution: Solution): Map<string, string> {
    const byId = new Map<string, OpamPackage>();
    for (const p of solution.packages) byId.set(packageId(p), p);
    const keyOf = new Map<string, string>();
    const visiting = new Set<string>();
    const targetId = packageId(solution.target);
    const visit = (id: string): string => {
      const known = keyOf.get(id);
      if (known !== undefined) return known;
      const pkg = byId.get(id);
      if (pkg === undefined) throw new PlanError(`the solution for ${packageId(solution.target)} names ${id}, which is not in it`);
      if (visiting.has(id)) throw new PlanError(`dependency cycle through ${id} in the solution for ${packageId(solution.target)}`);
      visiting.add(id);
      const depIds = solution.buildDependencies.get(id) ?? [];
      const depKeys: string[] = [];
      for (const d of depIds) depKeys.push(visit(d));
      visiting.delete(id);
      const uniqueDeps = [...new Set(depKeys)].sort();
      const runTests = ctx.testTargets === true && id === targetId;
      const key = jobKey(
        contextHash,
        pkg,
        filesHashes.hash(pkg.filesDir),
        uniqueDeps,
        runTests,
        ctx.systemPackages?.(pkg) ?? '',
        pinnedSourceKey(pkg, filesHashes),
        localSourcesKey(pkg, filesHashes, sourcePolicy),
      );
      keyOf.set(id, key);
      if (!jobs.has(key)) {
        const closureSet = new Set<string>();
        for (const d of uniqueDeps) {
          closureSet.add(d);
          for (const c of jobs.get(d)!.closure) closureSet.add(c);
        }
        const closure = [...closureSet].sort((a, b) => order.get(a)! - order.get(b)!);
        order.set(key, jobs.size);
        jobs.set(
          key,
          runTests
            ? { key, id, package: pkg, dependencies: uniqueDeps, closure, runTests }
            : { key, id, package: pkg, dependencies: uniqueDeps, closure },
        );
      }
      return key;
    };
    for (const p of solution.packages) visit(packageId(p));
    return keyOf;
  }
}
