/**
 * Which recorded baseline a run is compared with, when the user names none: the newest finished
 * baseline of the same targets over the same repositories; failing that, one over the repositories the
 * run layers overlays in front of (the compiler under test in an overlay, `overlay + opam-repository`,
 * against a baseline of opam-repository alone). Never the run itself.
 */
import type { TargetSelection } from '../plan/targets.js';
import type { RunInfo } from '../store/runs.js';

/** Two target selections ask for the same packages: the same kind, and for explicit ones the same set. */
export function sameTargets(a: unknown, b: unknown): boolean {
  const x = a as Partial<TargetSelection> | null;
  const y = b as Partial<TargetSelection> | null;
  if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object' || x.kind !== y.kind) return false;
  if (x.kind !== 'explicit') return true;
  const xs = new Set((x as { specs?: unknown }).specs as string[] | undefined);
  const ys = new Set((y as { specs?: unknown }).specs as string[] | undefined);
  return xs.size === ys.size && [...xs].every((s) => ys.has(s));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** `run`'s repositories end with all of `base`'s, in order, after at least one overlay. */
function layersOverlaysOn(run: readonly string[], base: readonly string[]): boolean {
  return base.length < run.length && sameList(run.slice(run.length - base.length), base);
}

/** What a run to be compared is: its id (-1 for one not yet recorded), repositories, targets and pins. */
export interface BaselineQuery {
  id: number;
  repositories: readonly string[];
  targets: unknown;
  /** The pins as arguments; a baseline must have the same (a pin check records its own, without). */
  pins: readonly string[];
}

export function baselineQueryOf(run: RunInfo): BaselineQuery {
  return { id: run.id, repositories: run.repositories, targets: run.targets, pins: run.options.pins };
}

/** The baseline for `run` among `baselines` (finished baselines, newest first), or null. */
export function chooseBaseline(baselines: readonly RunInfo[], run: BaselineQuery): RunInfo | null {
  const candidates = baselines.filter(
    (b) =>
      b.id !== run.id &&
      b.kind === 'baseline' &&
      b.status === 'finished' &&
      sameTargets(b.targets, run.targets) &&
      sameList(b.options.pins, run.pins),
  );
  return (
    candidates.find((b) => sameList(b.repositories, run.repositories)) ??
    candidates.find((b) => layersOverlaysOn(run.repositories, b.repositories)) ??
    null
  );
}
