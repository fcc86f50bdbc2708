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
  const text = interpolate(readFileSync(src, 'utf8'), lookup, { onUndefined: (v) => undefinedVars.push(v) });
  writeFileSync(dest, text, { mode: statSync(src).mode & 0o777 });
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
