/**
 * Reads a run side from the JSON of the fixture runs (fixtures/runs), checking every field: test data
 * for compare and report, which take sides from the store in the tool itself.
 */
import { isJobStatus, type PackageRunResult } from '../../src/results/taxonomy.js';
import type { RunSide } from '../../src/compare/run-side.js';
import { verdictsOfLog } from '../../src/builder/first-error.js';

export type { RunSide };

function fail(source: string, where: string, what: string): never {
  throw new Error(`${source}: ${where}: ${what}`);
}

function stringField(o: Record<string, unknown>, key: string, source: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail(source, where, `field "${key}" must be a string`);
  return v;
}

function nullableString(o: Record<string, unknown>, key: string, source: string, where: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') fail(source, where, `field "${key}" must be a string or null`);
  return v;
}

function nullableNumber(o: Record<string, unknown>, key: string, source: string, where: string): number | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(source, where, `field "${key}" must be a number or null`);
  return v;
}

/**
 * A result as the store gives it for a record written before the builder's verdicts were data: the first
 * error and the missing system packages read once from the log tail, with the builder's own extractor
 * (what migration 4 does). Fields given are kept. Test data written as log tails stays meaningful.
 */
export function withLogVerdicts(
  r: Omit<PackageRunResult, 'firstError' | 'missingSystemPackages'> &
    Partial<Pick<PackageRunResult, 'firstError' | 'missingSystemPackages'>>,
): PackageRunResult {
  const v = verdictsOfLog(r.logTail);
  return {
    ...r,
    firstError: r.firstError !== undefined ? r.firstError : r.status === 'ok' ? null : v.firstError,
    missingSystemPackages: r.missingSystemPackages ?? v.missingSystemPackages,
  };
}

function stringList(o: Record<string, unknown>, key: string, source: string, where: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail(source, where, `field "${key}" must be an array of strings`);
  return v as string[];
}

/** Checks one result record read from JSON; `where` names it in errors. */
export function parsePackageRunResult(value: unknown, source: string, where: string): PackageRunResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(source, where, 'must be an object');
  const o = value as Record<string, unknown>;
  const name = stringField(o, 'name', source, where);
  const version = stringField(o, 'version', source, where);
  const id = typeof o.id === 'string' ? o.id : `${name}.${version}`;
  const status = stringField(o, 'status', source, where);
  if (!isJobStatus(status)) fail(source, where, `unknown status "${status}"`);
  const firstError = nullableString(o, 'firstError', source, where);
  const missingSystemPackages = stringList(o, 'missingSystemPackages', source, where);
  // Without the fields (the fixture runs hold log tails only), they are read from the log tail.
  return withLogVerdicts({
    id,
    name,
    version,
    status,
    reason: typeof o.reason === 'string' ? o.reason : '',
    rootCause: nullableString(o, 'rootCause', source, where),
    ...(Array.isArray(o.rootCauses) && o.rootCauses.every((x) => typeof x === 'string') ? { rootCauses: o.rootCauses as string[] } : {}),
    jobKey: nullableString(o, 'jobKey', source, where),
    durationMs: nullableNumber(o, 'durationMs', source, where),
    exitCode: nullableNumber(o, 'exitCode', source, where),
    logPath: nullableString(o, 'logPath', source, where),
    logTail: typeof o.logTail === 'string' ? o.logTail : '',
    cached: o.cached === true,
    ...(o.firstError !== undefined ? { firstError } : {}),
    ...(missingSystemPackages !== undefined ? { missingSystemPackages } : {}),
  });
}

/**
 * Reads a run side from parsed JSON (`{runId, label, compiler, results: [...]}`), checking every field;
 * throws one-line errors naming `source` and the offending result.
 */
export function parseRunSide(value: unknown, source: string): RunSide {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(source, 'top level', 'must be an object');
  const o = value as Record<string, unknown>;
  const runId = o.runId;
  if (typeof runId !== 'string' && typeof runId !== 'number') fail(source, 'top level', 'field "runId" must be a string or number');
  const label = stringField(o, 'label', source, 'top level');
  const compiler = stringField(o, 'compiler', source, 'top level');
  if (!Array.isArray(o.results)) fail(source, 'top level', 'field "results" must be an array');
  const results = o.results.map((r, i) => parsePackageRunResult(r, source, `results[${i}]`));
  return { runId, label, compiler, results };
}
