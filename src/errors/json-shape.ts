/**
 * The one checker of a JSON file's shape, field by field, for every JSON file a user gives ecocheck (the
 * project config, run exports): each reading names what it expected, and the first field that is not
 * that is one error naming the file and the field (`shard-1.json: runJobs[3].status: expected a job
 * status`). The error is the caller's layer's (it gives the factory), so the CLI maps it as usual. A base
 * module: it imports nothing of ours.
 */

export type JsonObject = Record<string, unknown>;

/** Makes the error for a field that is not what was expected: `message` is `expected …`. */
export type ShapeErrorFactory = (file: string, field: string, message: string) => Error;

export class JsonShape {
  constructor(
    readonly file: string,
    private readonly error: ShapeErrorFactory,
  ) {}

  /** Fails on `field`: `expected` says what it should have been. */
  fail(field: string, expected: string): never {
    throw this.error(this.file, field, `expected ${expected}`);
  }

  object(v: unknown, field: string): JsonObject {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'an object');
    return v as JsonObject;
  }

  /** An object whose fields are all among `known` (a misspelt field is refused, naming the known ones). */
  closedObject(v: unknown, field: string, known: readonly string[]): JsonObject {
    const o = this.object(v, field);
    for (const k of Object.keys(o)) if (!known.includes(k)) throw this.error(this.file, k, `unknown field (known: ${known.join(', ')})`);
    return o;
  }

  array(v: unknown, field: string): unknown[] {
    if (!Array.isArray(v)) this.fail(field, 'an array');
    return v;
  }

  string(v: unknown, field: string): string {
    if (typeof v !== 'string') this.fail(field, 'a string');
    return v;
  }

  nonEmptyString(v: unknown, field: string): string {
    if (typeof v !== 'string' || v === '') this.fail(field, 'a non-empty string');
    return v;
  }

  stringOrNull(v: unknown, field: string): string | null {
    if (v !== null && typeof v !== 'string') this.fail(field, 'a string or null');
    return v;
  }

  /** A whole number of `min` or more. */
  integer(v: unknown, field: string, min = 0): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) this.fail(field, `a whole number of ${min} or more`);
    return v;
  }

  integerOrNull(v: unknown, field: string): number | null {
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(field, 'a whole number or null');
    return v;
  }

  boolean(v: unknown, field: string): boolean {
    if (typeof v !== 'boolean') this.fail(field, 'true or false');
    return v;
  }

  /** One of `values` (`what` names them in the error: `a job status`). */
  oneOf<T extends string>(v: unknown, field: string, values: readonly T[], what: string): T {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) this.fail(field, what);
    return v as T;
  }

  strings(v: unknown, field: string): string[] {
    return this.array(v, field).map((x, i) => this.string(x, `${field}[${i}]`));
  }

  nonEmptyStrings(v: unknown, field: string): string[] {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x !== '')) this.fail(field, 'a list of non-empty strings');
    return v as string[];
  }

  /** An object of string values (`name → value`). */
  stringRecord(v: unknown, field: string, nonEmpty = false): Record<string, string> {
    const o = this.object(v, field);
    for (const [k, x] of Object.entries(o)) {
      if (nonEmpty) this.nonEmptyString(x, `${field}.${k}`);
      else this.string(x, `${field}.${k}`);
    }
    return o as Record<string, string>;
  }

  /** An object of strings, numbers and nulls (database columns carried as they are). */
  scalars(v: unknown, field: string): Record<string, string | number | null> {
    const o = this.object(v, field);
    for (const [k, x] of Object.entries(o))
      if (x !== null && typeof x !== 'string' && typeof x !== 'number') this.fail(`${field}.${k}`, 'a string, a number or null');
    return o as Record<string, string | number | null>;
  }
}
