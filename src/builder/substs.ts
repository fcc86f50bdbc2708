/**
 * `substs:` — for each listed FILE, `FILE.in` is read and FILE written with its `%{…}%` interpolations
 * expanded (`OpamFilter.expand_interpolations_in_file`; undefined variables expand to nothing).
 *
 * The build directory is the package's (its unpacked sources may hold symbolic links): `FILE.in` is
 * read and FILE written with confined-path.ts, so neither goes through a link leading out of it, and
 * only a regular `FILE.in` is read.
 */
import { interpolate } from '../opam/interpolation.js';
import type { VariableLookup } from '../opam/filter.js';
import { confinedRelative, readConfinedFile, UnsafePathError, writeConfinedFile, type ConfinedRoot } from './confined-path.js';

export interface SubstFailure {
  file: string;
  message: string;
}

export function applySubst(
  file: string,
  buildDir: string,
  lookup: VariableLookup,
  log: (line: string) => void,
  seenAt?: string,
): SubstFailure | null {
  const build: ConfinedRoot = { dir: buildDir, seenAt, label: 'the build directory' };
  let rel: string;
  try {
    rel = confinedRelative(build, file);
  } catch {
    return { file, message: `${file}: path escapes the build directory` };
  }
  if (rel === '') return { file, message: `${file}: path escapes the build directory` };
  let src: { bytes: Buffer; mode: number } | null;
  try {
    src = readConfinedFile(build, `${rel}.in`);
  } catch (e) {
    if (e instanceof UnsafePathError) return { file, message: e.message };
    throw e;
  }
  if (src === null) return { file, message: `${file}.in not found` };
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
  const text = interpolate(src.bytes.toString('latin1'), byteLookup, { onUndefined: (v) => undefinedVars.push(v) });
  try {
    writeConfinedFile(build, rel, Buffer.from(text, 'latin1'), src.mode & 0o777);
  } catch (e) {
    if (e instanceof UnsafePathError) return { file, message: e.message };
    throw e;
  }
  log(`subst ${file}.in -> ${file}${undefinedVars.length ? ` (undefined: ${[...new Set(undefinedVars)].join(', ')})` : ''}`);
  return null;
}

export function applySubsts(
  files: string[],
  buildDir: string,
  lookup: VariableLookup,
  log: (line: string) => void,
  seenAt?: string,
): SubstFailure[] {
  const out: SubstFailure[] = [];
  for (const f of files) {
    const failure = applySubst(f, buildDir, lookup, log, seenAt);
    if (failure) out.push(failure);
  }
  return out;
}
