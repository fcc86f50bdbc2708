/**
 * The real opam-repository snapshot, unpacked once per machine into the temp folder and shared by the
 * tests and benchmarks that need it. The tarball lives beside the project in ../shared/data and is never
 * copied into the project.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { projectRoot } from './project-root.js';

export const snapshotTarball = resolve(
  process.env.ECOCHECK_SNAPSHOT ?? join(projectRoot, '..', 'shared', 'data', 'opam-repository-2026-08-22.tar.gz'),
);

export function snapshotAvailable(): boolean {
  return existsSync(snapshotTarball);
}

/** The archive of versions moved out of opam-repository in 2025 (layer it behind the snapshot). */
export const archiveTarball = resolve(
  process.env.ECOCHECK_ARCHIVE ?? join(projectRoot, '..', 'shared', 'data', 'opam-repository-archive-2026-06-23.tar.gz'),
);

export function archiveAvailable(): boolean {
  return existsSync(archiveTarball);
}

/** Unpacks a repository tarball (once per machine and tarball version) into the temp folder. */
function unpackedOnce(tarball: string, name: string): string {
  const stamp = statSync(tarball).mtimeMs.toFixed(0);
  const dest = join(tmpdir(), `${name}-${stamp}`);
  if (existsSync(join(dest, 'packages'))) return dest;
  const staging = `${dest}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', staging]);
  try {
    renameSync(staging, dest);
  } catch {
    // Another test process finished unpacking first.
    rmSync(staging, { recursive: true, force: true });
  }
  return dest;
}

/** Unpacks the snapshot (once) and returns the repository root. */
export function snapshotRepo(): string {
  return unpackedOnce(snapshotTarball, 'ecocheck-snapshot');
}

/** Unpacks the archive (once) and returns the repository root. */
export function archiveRepo(): string {
  return unpackedOnce(archiveTarball, 'ecocheck-archive');
}

/** `packages/NAME/NAME.VERSION/opam` for every package version of a repository, in sorted order. */
export function opamFiles(repo: string): string[] {
  const files: string[] = [];
  const packages = join(repo, 'packages');
  for (const name of readdirSync(packages).sort()) {
    for (const version of readdirSync(join(packages, name)).sort()) files.push(join(packages, name, version, 'opam'));
  }
  return files;
}
