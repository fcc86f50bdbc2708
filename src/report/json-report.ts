/**
 * The JSON reports, with versioned schemas (documented in docs/report-schema.md and exported here as
 * JSON Schema objects): `ecocheck.comparison/1` for a comparison, `ecocheck.run/1` for a single run.
 * A version changes only when a field is removed or changes meaning; new fields may be added.
 */
import type { Comparison } from '../compare/comparison.js';
import type { RunSummary } from '../compare/run-summary.js';
import { resultFirstError } from '../compare/error-clusters.js';
import { COMPARISON_CATEGORIES, JOB_STATUSES, type PackageRunResult } from '../results/taxonomy.js';
import { hasRegressions } from './exit-code.js';
import { runHasFailures } from '../compare/run-summary.js';
import type { JsonSchema } from './json-schema.js';

export const COMPARISON_SCHEMA_ID = 'ecocheck.comparison/1';
export const RUN_SCHEMA_ID = 'ecocheck.run/1';

const str: JsonSchema = { type: 'string' };
const nullableStr: JsonSchema = { type: ['string', 'null'] };
const count: JsonSchema = { type: 'integer', minimum: 0 };
const strings: JsonSchema = { type: 'array', items: str };

function countsSchema(keys: readonly string[]): JsonSchema {
  return { type: 'object', properties: Object.fromEntries(keys.map((k) => [k, count])), required: keys, additionalProperties: false };
}

const runIdentitySchema: JsonSchema = {
  type: 'object',
  properties: { runId: { type: ['integer', 'string'] }, label: str, compiler: str, packageCount: count },
  required: ['runId', 'label', 'compiler', 'packageCount'],
  additionalProperties: false,
};

/** One run's record of a package, as the store keeps it, plus the first error found in its log. */
const resultSchema: JsonSchema = {
  type: 'object',
  properties: {
    id: str,
    name: str,
    version: str,
    status: { enum: JOB_STATUSES },
    reason: str,
    rootCause: nullableStr,
    rootCauses: strings,
    jobKey: nullableStr,
    durationMs: { type: ['number', 'null'] },
    exitCode: { type: ['integer', 'null'] },
    logPath: nullableStr,
    logTail: str,
    cached: { type: 'boolean' },
    firstError: nullableStr,
  },
  required: [
    'id',
    'name',
    'version',
    'status',
    'reason',
    'rootCause',
    'jobKey',
    'durationMs',
    'exitCode',
    'logPath',
    'logTail',
    'cached',
    'firstError',
  ],
  additionalProperties: false,
};

const clusterSchema: JsonSchema = {
  type: 'object',
  properties: { signature: str, example: str, packages: strings },
  required: ['signature', 'example', 'packages'],
  additionalProperties: false,
};

export const comparisonJsonSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: COMPARISON_SCHEMA_ID,
  title: 'ecocheck comparison of a candidate run with a baseline run',
  type: 'object',
  properties: {
    schema: { const: COMPARISON_SCHEMA_ID },
    baseline: runIdentitySchema,
    candidate: runIdentitySchema,
    total: count,
    regressionsFound: { type: 'boolean' },
    counts: countsSchema(COMPARISON_CATEGORIES),
    rootCauses: {
      type: 'array',
      items: {
        type: 'object',
        properties: { package: str, category: { enum: [...COMPARISON_CATEGORIES, null] }, firstError: str, dependents: strings },
        required: ['package', 'category', 'firstError', 'dependents'],
        additionalProperties: false,
      },
    },
    regressionClusters: { type: 'array', items: clusterSchema },
    packages: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          key: str,
          name: str,
          category: { enum: COMPARISON_CATEGORIES },
          matchedBy: { enum: ['id', 'name', 'one-side'] },
          rootCause: nullableStr,
          rootCauses: strings,
          detail: str,
          note: nullableStr,
          baseline: { ...resultSchema, type: ['object', 'null'] },
          candidate: { ...resultSchema, type: ['object', 'null'] },
        },
        required: ['key', 'name', 'category', 'matchedBy', 'rootCause', 'detail', 'note', 'baseline', 'candidate'],
        additionalProperties: false,
      },
    },
  },
  required: ['schema', 'baseline', 'candidate', 'total', 'regressionsFound', 'counts', 'rootCauses', 'regressionClusters', 'packages'],
  additionalProperties: false,
};

export const runJsonSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: RUN_SCHEMA_ID,
  title: 'ecocheck results of a single run',
  type: 'object',
  properties: {
    schema: { const: RUN_SCHEMA_ID },
    run: runIdentitySchema,
    total: count,
    failuresFound: { type: 'boolean' },
    counts: countsSchema(JOB_STATUSES),
    clusters: { type: 'array', items: clusterSchema },
    rootCauses: {
      type: 'array',
      items: {
        type: 'object',
        properties: { package: str, status: { enum: [...JOB_STATUSES, null] }, firstError: str, dependents: strings },
        required: ['package', 'status', 'firstError', 'dependents'],
        additionalProperties: false,
      },
    },
    results: { type: 'array', items: resultSchema },
  },
  required: ['schema', 'run', 'total', 'failuresFound', 'counts', 'clusters', 'rootCauses', 'results'],
  additionalProperties: false,
};

function resultJson(r: PackageRunResult | null) {
  if (r === null) return null;
  const failed = r.status !== 'ok' && r.status !== 'not-installable' && r.status !== 'dependency-failed';
  return {
    id: r.id,
    name: r.name,
    version: r.version,
    status: r.status,
    reason: r.reason,
    rootCause: r.rootCause,
    ...(r.rootCauses !== undefined ? { rootCauses: r.rootCauses } : {}),
    jobKey: r.jobKey,
    durationMs: r.durationMs,
    exitCode: r.exitCode,
    logPath: r.logPath,
    logTail: r.logTail,
    cached: r.cached,
    firstError: failed ? resultFirstError(r) : null,
  };
}

export function comparisonToJson(c: Comparison) {
  return {
    schema: COMPARISON_SCHEMA_ID,
    baseline: c.baseline,
    candidate: c.candidate,
    total: c.packages.length,
    regressionsFound: hasRegressions(c),
    counts: c.counts,
    rootCauses: c.rootCauses.map((rc) => ({
      package: rc.key,
      category: rc.category,
      firstError: rc.firstError,
      dependents: rc.dependents,
    })),
    regressionClusters: c.regressionClusters,
    packages: c.packages.map((e) => ({
      key: e.key,
      name: e.name,
      category: e.category,
      matchedBy: e.matchedBy,
      rootCause: e.rootCause,
      ...(e.rootCauses !== undefined ? { rootCauses: e.rootCauses } : {}),
      detail: e.detail,
      note: e.note,
      baseline: resultJson(e.baseline),
      candidate: resultJson(e.candidate),
    })),
  };
}

export function runToJson(s: RunSummary) {
  return {
    schema: RUN_SCHEMA_ID,
    run: s.run,
    total: s.results.length,
    failuresFound: runHasFailures(s),
    counts: s.counts,
    clusters: s.clusters,
    rootCauses: s.rootCauses.map((rc) => ({ package: rc.id, status: rc.status, firstError: rc.firstError, dependents: rc.dependents })),
    results: s.results.map((r) => resultJson(r)!),
  };
}

export function renderComparisonJson(c: Comparison): string {
  return `${JSON.stringify(comparisonToJson(c), null, 2)}\n`;
}

export function renderRunJson(s: RunSummary): string {
  return `${JSON.stringify(runToJson(s), null, 2)}\n`;
}
