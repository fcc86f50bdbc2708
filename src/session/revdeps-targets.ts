/**
 * `--revdeps NAME`: the targets of a check of one package's change: NAME and every package whose
 * installable latest version depends on it (directly, or up to `depth` steps away), as opam-repository's
 * own revdeps checks pick them, found in the repositories without the pins (what depends on the
 * package as it is released). Names, not versions: each run takes the newest installable version of
 * each, so the pinned one in the candidate and the released one in the baseline.
 */
import { reverseDependencies } from '../solve/reverse-dependencies.js';
import type { CommandContext } from './command-context.js';
import type { PlanRequest } from './plan-preparation.js';
import { openSolver } from './solver-queries.js';

export interface RevdepsRequest {
  name: string;
  /** 1: direct reverse dependencies; N: up to N steps; Infinity: all. */
  depth: number;
}

export function reverseDependencyTargets(ctx: CommandContext, plan: PlanRequest, revdeps: RevdepsRequest): string[] {
  return reverseDependencyTargetsOf(ctx, plan, [revdeps.name], revdeps.depth, false);
}

/**
 * The union over `names` (sorted): each name and what depends on it. With `allowUnknown`, a name the
 * repositories do not have (a package a change adds) stands for itself alone.
 */
export function reverseDependencyTargetsOf(
  ctx: CommandContext,
  plan: PlanRequest,
  names: readonly string[],
  depth: number,
  allowUnknown: boolean,
): string[] {
  // The context's solver of the unpinned universe: the one a pinned check's baseline plans with.
  const { solver, packages } = openSolver(ctx, { ...plan, ignorePins: true });
  const out = new Set<string>();
  for (const name of names) {
    out.add(name);
    if (allowUnknown && !packages.has(name)) continue;
    for (const d of reverseDependencies(solver, name, { depth, withTest: plan.withTest })) out.add(d.pkg.name);
  }
  return names.length === 1 && !allowUnknown ? [...out] : [...out].sort();
}
