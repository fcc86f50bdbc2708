/**
 * A fixture repository copied into a fresh temp folder for one test or benchmark, with placeholders in its opam files
 * (absolute paths, ports, markers) filled in. The fixture folder itself is never written.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FixtureCopy {
  /** Repository root of the copy (holds `repo` and `packages/`). */
  root: string;
  /** Removes the copy. */
  dispose(): void;
}

function opamFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) {
      if (entry !== 'files') out.push(...opamFilesUnder(p));
    } else if (entry === 'opam') out.push(p);
  }
  return out;
}

/** Copies `fixture` under `parent` and replaces each placeholder (given the copy's root) in its opam files. */
export function copyFixtureRepository(
  fixture: string,
  namePrefix: string,
  placeholders: (root: string) => Record<string, string>,
  parent: string = tmpdir(),
): FixtureCopy {
  const root = mkdtempSync(join(parent, namePrefix));
  cpSync(fixture, root, { recursive: true });
  const values = Object.entries(placeholders(root));
  for (const file of opamFilesUnder(join(root, 'packages'))) {
    const text = readFileSync(file, 'utf8');
    let filled = text;
    for (const [placeholder, value] of values) filled = filled.split(placeholder).join(value);
    if (filled !== text) writeFileSync(file, filled);
  }
  return { root, dispose: () => rmSync(root, { recursive: true, force: true }) };
}
