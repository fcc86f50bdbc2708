/**
 * A durations file: the build durations a check's shards all split the plan with, so each computes the
 * same partition whatever its own state recorded (`--durations FILE`; written by `ecocheck durations`
 * from recorded runs). JSON: `{"format": "ecocheck-durations", "version": 1, "byPackage": {NAME.VERSION:
 * ms}, "byKey": {job key: ms}}`, keys sorted, so the same durations give the same bytes. Read here as the
 * cost lookup of job-cost.ts, with no cached results (what a runner has cached is its own).
 */
import { readFileSync } from 'node:fs';
import type { CostLookup } from './job-cost.js';
import { PlanError } from './plan-error.js';

export const DURATIONS_FORMAT = 'ecocheck-durations';
export const DURATIONS_VERSION = 1;

export interface Durations {
  /** Recorded duration (ms) of a build of `NAME.VERSION` (any key: e.g. under the baseline compiler). */
  byPackage: Map<string, number>;
  /** Recorded duration (ms) of the job with this content key. */
  byKey: Map<string, number>;
}

function isDuration(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function table(v: unknown, field: string, file: string): Map<string, number> {
  if (v === undefined) return new Map();
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new PlanError(`${file}: ${field} must be an object of durations in ms`, 'input', { setting: 'durations' });
  const out = new Map<string, number>();
  for (const [k, ms] of Object.entries(v as Record<string, unknown>)) {
    if (!isDuration(ms))
      throw new PlanError(`${file}: ${field}.${k} must be a duration in ms (a number of 0 or more), not ${JSON.stringify(ms)}`, 'input', {
        setting: 'durations',
      });
    out.set(k, Math.round(ms));
  }
  return out;
}

/** Reads a durations file's text; `file` names it in errors. */
export function parseDurations(text: string, file: string): Durations {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new PlanError(`${file}: not a durations file (not JSON: ${(err as Error).message})`, 'input', { setting: 'durations' });
  }
  const o = data as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || o.format !== DURATIONS_FORMAT)
    throw new PlanError(`${file}: not a durations file (written by ecocheck durations --output FILE)`, 'input', { setting: 'durations' });
  if (o.version !== DURATIONS_VERSION)
    throw new PlanError(`${file}: durations file version ${String(o.version)}, this ecocheck reads version ${DURATIONS_VERSION}`, 'input', {
      setting: 'durations',
    });
  return { byPackage: table(o.byPackage, 'byPackage', file), byKey: table(o.byKey, 'byKey', file) };
}

export function readDurationsFile(file: string): Durations {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PlanError(
      `cannot read the durations file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      'input',
      { setting: 'durations' },
    );
  }
  return parseDurations(text, file);
}

function sortedObject(m: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of [...m.keys()].sort()) out[k] = m.get(k)!;
  return out;
}

/** The file's text (keys sorted: the same durations, the same bytes). */
export function formatDurations(d: Durations): string {
  return `${JSON.stringify({ format: DURATIONS_FORMAT, version: DURATIONS_VERSION, byPackage: sortedObject(d.byPackage), byKey: sortedObject(d.byKey) }, null, 1)}\n`;
}

/** No durations at all: every job is the stated estimate. */
export const NO_DURATIONS: Durations = { byPackage: new Map(), byKey: new Map() };

/** The cost lookup of these durations (nothing counted as cached: a partition must not depend on a runner's state). */
export function durationsLookup(d: Durations): CostLookup {
  return { byKey: (key) => d.byKey.get(key), byPackage: (id) => d.byPackage.get(id) };
}
