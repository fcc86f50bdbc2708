/**
 * `substs:` — for each listed FILE, `FILE.in` is read and FILE written with its `%{…}%` interpolations
 * expanded (`OpamFilter.expand_interpolations_in_file`; undefined variables expand to nothing).
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { interpolate } from '../opam/interpolation.js';
import type { VariableLookup } from '../opam/filter.js';

export interface SubstFailure {
  file: string;
  message: string;
}

export function applySubst(file: string, buildDir: string, lookup: VariableLookup, log: (line: string) => void): SubstFailure | null {
  const dest = resolve(buildDir, file);
  if (!dest.startsWith(resolve(buildDir) + '/')) return { file, message: `${file}: path escapes the build directory` };
  const src = `${dest}.in`;
  if (!existsSync(src)) return { file, message: `${file}.in not found` };
  const undefinedVars: string[] = [];
  // Byte-exact: the file is read as latin1 (one char per byte) and the values' UTF-8 bytes are
  // spliced in the same way, so a file that is not valid UTF-8 comes out unchanged around them.
  const asBytes = (v: string) => Buffer.from(v, 'utf8').toString('latin1');
  const byteLookup: VariableLookup = (packages, variable) => {
    const v = lookup(packages, variable);
    if (typeof v === 'string') return asBytes(v);
    if (Array.isArray(v)) return v.map(asBytes);
    return v;
  };
  const text = interpolate(readFileSync(src, 'latin1'), byteLookup, { onUndefined: (v) => undefinedVars.push(v) });
  writeFileSync(dest, Buffer.from(text, 'latin1'), { mode: statSync(src).mode & 0o777 });
  log(`subst ${file}.in -> ${file}${undefinedVars.length ? ` (undefined: ${[...new Set(undefinedVars)].join(', ')})` : ''}`);
  return null;
}

export function applySubsts(files: string[], buildDir: string, lookup: VariableLookup, log: (line: string) => void): SubstFailure[] {
  const out: SubstFailure[] = [];
  for (const f of files) {
    const failure = applySubst(f, buildDir, lookup, log);
    if (failure) out.push(failure);
  }
  return out;
}
