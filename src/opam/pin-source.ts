/**
 * What opam reads of a local pin source, a directory: where the package's opam file is, and which of
 * the directory's entries are not part of the source.
 *
 * - The opam file: opam 2.1's `OpamPinned.find_opam_file_in_source` takes the first regular file of
 *   `possible_definition_filenames dir name`, in this order: `DIR/NAME.opam/opam`, `DIR/NAME.opam`,
 *   `DIR/opam/NAME.opam/opam`, `DIR/opam/NAME.opam`, `DIR/opam/opam`, `DIR/opam` (a directory named
 *   `opam` is not a file, so `DIR/opam/…` and `DIR/opam` never clash).
 * - Its `files/`: `OpamPinCommand.read_opam_file_for_pinning` adds the aux files (`files/` beside the
 *   opam file) only when the opam file is directly in DIR (`DIR/opam`, `DIR/NAME.opam`); for
 *   `DIR/opam/opam` and the other nested places, no `files/` is read.
 * - The copy: `OpamLocal.rsync` syncs the directory leaving out `.git`, `_darcs`, `.hg`, `.#*`,
 *   `_opam*` and `_build`, at any depth (rsync `--exclude` patterns without a slash match any path
 *   component).
 */
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** `OpamPinned.possible_definition_filenames`, in opam's order of preference. */
export function possibleOpamFiles(dir: string, name: string): string[] {
  return [
    join(dir, `${name}.opam`, 'opam'),
    join(dir, `${name}.opam`),
    join(dir, 'opam', `${name}.opam`, 'opam'),
    join(dir, 'opam', `${name}.opam`),
    join(dir, 'opam', 'opam'),
    join(dir, 'opam'),
  ];
}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The package's opam file in a source directory (`find_opam_file_in_source`), or null. */
export function findOpamFileInSource(dir: string, name: string): string | null {
  return possibleOpamFiles(dir, name).find(isRegularFile) ?? null;
}

/** The `files/` folder opam reads with an opam file found in `dir`, or null (see the header). */
export function sourceFilesDir(dir: string, opamFile: string): string | null {
  if (dirname(opamFile) !== dir) return null;
  const files = join(dir, 'files');
  try {
    return statSync(files).isDirectory() ? files : null;
  } catch {
    return null;
  }
}

/** Whether an entry of that name is left out of a local source's copy (`OpamLocal.rsync`'s excludes). */
export function isExcludedFromLocalCopy(name: string): boolean {
  return name === '.git' || name === '_darcs' || name === '.hg' || name === '_build' || name.startsWith('.#') || name.startsWith('_opam');
}
