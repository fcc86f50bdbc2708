/**
 * The real opam-repository snapshot, unpacked once per machine into the temp folder and shared by the
 * tests and benchmarks that need it. The tarball lives beside the project in ../shared/data and is never
 * copied into the project.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Project root (the folder holding package.json), from dist/tests/support/ or tests/support/. */
export const projectRoot = (() => {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = resolve(dir, '..');
  return dir;
})();

export const snapshotTarball = resolve(
  process.env.ECOCHECK_SNAPSHOT ?? join(projectRoot, '..', 'shared', 'data', 'opam-repository-2026-08-22.tar.gz'),
);

export function snapshotAvailable(): boolean {
  return existsSync(snapshotTarball);
}

/** Unpacks the snapshot (once) and returns the repository root. */
export function snapshotRepo(): string {
  const stamp = statSync(snapshotTarball).mtimeMs.toFixed(0);
  const dest = join(tmpdir(), `ecocheck-snapshot-${stamp}`);
  if (existsSync(join(dest, 'packages'))) return dest;
  const staging = `${dest}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  execFileSync('tar', ['xzf', snapshotTarball, '-C', staging]);
  try {
    renameSync(staging, dest);
  } catch {
    // Another test process finished unpacking first.
    rmSync(staging, { recursive: true, force: true });
  }
  return dest;
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
