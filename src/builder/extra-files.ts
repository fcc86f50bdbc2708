/**
 * `extra-files`: files from the package's `files/` folder copied into the build directory, each
 * checked against its checksum (`OpamAction.prepare_package_source`). As in opam, files of `files/`
 * the field does not list are not copied. When the field is absent altogether, opam 2.1 reads a
 * repository package as listing every file of `files/` (`add_aux_files ~files_subdir_hashes:true`,
 * hashes computed from the files themselves): all of `files/` is copied.
 *
 * Both ends are the package's (its `files/`, its build directory, where the unpacked sources may have
 * left symbolic links): files are read and written with confined-path.ts, never through a link leading
 * out, and only regular files are read.
 */
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { OpamPackage } from '../opam/package-model.js';
import { checksumToString, hashBytes } from './checksum.js';
import { BuilderError } from './builder-error.js';
import {
  confinedRelative,
  copyConfinedFile,
  readConfinedFile,
  shown,
  UnsafePathError,
  writeConfinedFile,
  type ConfinedRoot,
} from './confined-path.js';

/** The largest extra-file read (to be hashed) in memory. */
const EXTRA_FILE_MAX_BYTES = 256 * 1024 * 1024;

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
  const build: ConfinedRoot = { dir: buildDir, label: 'the build directory' };
  const files: ConfinedRoot | null = pkg.filesDir ? { dir: pkg.filesDir, label: 'files/' } : null;
  if (!('extra-files' in pkg.fieldSpans) && pkg.extraFiles.length === 0) {
    if (!files || !existsSync(files.dir)) return [];
    const copied: string[] = [];
    for (const src of filesUnder(files.dir)) {
      const name = relative(files.dir, src);
      try {
        copyConfinedFile(files, name, build, name);
      } catch (e) {
        if (e instanceof UnsafePathError) throw new ExtraFileError(`cannot copy extra-file ${shown(name)} (${shown(e.path)}: ${e.reason})`);
        throw e;
      }
      copied.push(name);
    }
    return copied;
  }
  const missing: string[] = [];
  const badHash: string[] = [];
  const refused: string[] = [];
  const copied: string[] = [];
  for (const f of pkg.extraFiles) {
    const name = shown(f.name);
    try {
      confinedRelative(build, f.name);
      if (files) confinedRelative(files, f.name);
    } catch {
      badHash.push(`${name} (path escapes its directory)`);
      continue;
    }
    try {
      const found = files ? readConfinedFile(files, f.name, EXTRA_FILE_MAX_BYTES) : null;
      if (found === null) {
        missing.push(name);
        continue;
      }
      const actual = hashBytes(found.bytes, f.checksum.algorithm);
      if (actual !== f.checksum.hex.toLowerCase()) {
        badHash.push(`${name} (expected ${checksumToString(f.checksum)}, got ${f.checksum.algorithm}=${actual})`);
        continue;
      }
      writeConfinedFile(build, f.name, found.bytes, found.mode & 0o777);
    } catch (e) {
      if (!(e instanceof UnsafePathError)) throw e;
      refused.push(`${name} (${shown(e.path)}: ${e.reason})`);
      continue;
    }
    copied.push(join(f.name));
  }
  const parts: string[] = [];
  if (badHash.length > 0) parts.push(`bad hash for extra-file ${badHash.join(', ')}`);
  if (missing.length > 0) parts.push(`missing extra-file ${missing.join(', ')}`);
  if (refused.length > 0) parts.push(`cannot copy extra-file ${refused.join(', ')}`);
  if (parts.length > 0) throw new ExtraFileError(parts.join('; '));
  return copied;
}
