/**
 * `extra-files`: files from the package's `files/` folder copied into the build directory, each
 * checked against its checksum (`OpamAction.prepare_package_source`). As in opam, files of `files/`
 * the field does not list are not copied.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { OpamPackage } from '../opam/package-model.js';
import { checksumToString, hashBytes } from './checksum.js';

/** An extra-file missing from `files/` or with a wrong checksum: a defect of the package. */
export class ExtraFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExtraFileError';
  }
}

/** Copies the package's extra-files into `buildDir`; throws ExtraFileError naming every bad file. */
export function copyExtraFiles(pkg: OpamPackage, buildDir: string): string[] {
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
