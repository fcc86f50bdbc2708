/**
 * A small JSON Schema checker for the subset the report schemas use (src/report/json-schema.ts): enough
 * to check that a report matches its documented schema.
 */
import type { JsonSchema } from '../../src/report/json-schema.js';

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(actual: string, wanted: string): boolean {
  return actual === wanted || (wanted === 'number' && actual === 'integer');
}

/** The places where `value` breaks `schema`, as `path: problem` lines; empty when it conforms. */
export function checkAgainstSchema(value: unknown, schema: JsonSchema, path = '$'): string[] {
  const errors: string[] = [];
  if (schema.type !== undefined) {
    const wanted = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual = typeOf(value);
    if (!wanted.some((w) => typeMatches(actual, w))) {
      errors.push(`${path}: expected ${wanted.join(' or ')}, found ${actual}`);
      return errors;
    }
  }
  if ('const' in schema && value !== schema.const) errors.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum !== undefined && !schema.enum.includes(value))
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  if (schema.minimum !== undefined && typeof value === 'number' && value < schema.minimum)
    errors.push(`${path}: ${value} is below ${schema.minimum}`);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in o)) errors.push(`${path}: missing "${key}"`);
    for (const [key, v] of Object.entries(o)) {
      const sub = schema.properties?.[key];
      if (sub !== undefined) errors.push(...checkAgainstSchema(v, sub, `${path}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected "${key}"`);
      else if (typeof schema.additionalProperties === 'object')
        errors.push(...checkAgainstSchema(v, schema.additionalProperties, `${path}.${key}`));
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((v, i) => errors.push(...checkAgainstSchema(v, schema.items!, `${path}[${i}]`)));
  }
  return errors;
}
