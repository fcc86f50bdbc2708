/**
 * `extra-files`: files from the package's `files/` folder copied into the build directory, each
 * checked against its checksum (`OpamAction.prepare_package_source`). As in opam, files of `files/`
 * the field does not list are not copied. When the field is absent altogether, opam 2.1 reads a
 * repository package as listing every file of `files/` (`add_aux_files ~files_subdir_hashes:true`,
 * hashes computed from the files themselves): all of `files/` is copied.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { OpamPackage } from '../opam/package-model.js';
import { checksumToString, hashBytes } from './checksum.js';
import { BuilderError } from './builder-error.js';

/** An extra-file missing from `files/` or with a wrong checksum: a defect of the package. */
export class ExtraFileError extends BuilderError {
  constructor(message: string) {
    super(message, 'input');
  }
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const p = join(dir, entry);
    const st = lstatSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/** Copies the package's extra-files into `buildDir`; throws ExtraFileError naming every bad file. */
export function copyExtraFiles(pkg: OpamPackage, buildDir: string): string[] {
  if (!('extra-files' in pkg.fieldSpans) && pkg.extraFiles.length === 0) {
    if (!pkg.filesDir || !existsSync(pkg.filesDir)) return [];
    const copied: string[] = [];
    for (const src of filesUnder(pkg.filesDir)) {
      const name = relative(pkg.filesDir, src);
      const dest = join(buildDir, name);
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, readFileSync(src));
      copied.push(name);
    }
    return copied;
  }
  const missing: string[] = [];
  const badHash: string[] = [];
  const copied: string[] = [];
  for (const f of pkg.extraFiles) {
    const src = pkg.filesDir ? resolve(pkg.filesDir, f.name) : null;
    const dest = resolve(buildDir, f.name);
    if (!dest.startsWith(resolve(buildDir) + '/') || (src && pkg.filesDir && !src.startsWith(resolve(pkg.filesDir) + '/'))) {
      badHash.push(`${f.name} (path escapes its directory)`);
      continue;
    }
    if (!src || !existsSync(src)) {
      missing.push(f.name);
      continue;
    }
    const bytes = readFileSync(src);
    const actual = hashBytes(bytes, f.checksum.algorithm);
    if (actual !== f.checksum.hex.toLowerCase()) {
      badHash.push(`${f.name} (expected ${checksumToString(f.checksum)}, got ${f.checksum.algorithm}=${actual})`);
      continue;
    }
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, bytes);
    copied.push(join(f.name));
  }
  const parts: string[] = [];
  if (badHash.length > 0) parts.push(`bad hash for extra-file ${badHash.join(', ')}`);
  if (missing.length > 0) parts.push(`missing extra-file ${missing.join(', ')}`);
  if (parts.length > 0) throw new ExtraFileError(parts.join('; '));
  return copied;
}
