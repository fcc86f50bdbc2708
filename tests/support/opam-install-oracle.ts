/**
 * opam 2.1.2's own record of what it installed for a package (fixtures/opam-install-oracle,
 * `NAME.VERSION.changes`, as opam writes `.opam-switch/install/NAME.changes`), and the same listing
 * of an ecocheck layer, to compare them: the files (and symbolic links) each added under the switch,
 * by their path relative to the switch prefix. Directories are left out on both sides (overlayfs
 * copies up the directories a layer writes into; opam lists only the ones it created).
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseOpamFile } from '../../src/opam/parser.js';
import { projectRoot } from './snapshot.js';

export const opamInstallOracle = join(projectRoot, 'fixtures', 'opam-install-oracle');

/** The package versions the oracle has. */
export function oraclePackages(): string[] {
  if (!existsSync(opamInstallOracle)) return [];
  return readdirSync(opamInstallOracle)
    .filter((f) => f.endsWith('.changes'))
    .map((f) => f.slice(0, -'.changes'.length))
    .sort();
}

/** What opam recorded as added by `id` (files and links, not directories), or null if not in the oracle. */
export function oracleFiles(id: string): string[] | null {
  const file = join(opamInstallOracle, `${id}.changes`);
  if (!existsSync(file)) return null;
  const ast = parseOpamFile(readFileSync(file, 'utf8'), file);
  const out: string[] = [];
  for (const item of ast.items) {
    if (item.kind !== 'variable' || item.name !== 'added') continue;
    // one entry is written bare, several as a list
    for (const entry of item.value.kind === 'list' ? item.value.items : [item.value]) {
      // "path" {"F:…"} a file, {"L:…"} a link, {"D"} a directory
      if (entry.kind !== 'option' || entry.value.kind !== 'string') continue;
      const kind = entry.options.find((o) => o.kind === 'string');
      if (kind?.kind === 'string' && !kind.value.startsWith('D')) out.push(entry.value.value);
    }
  }
  return out.filter((f) => !f.startsWith('.opam-switch/')).sort();
}

/**
 * The solution opam built the package in (index.tsv: every installed dependency and depopt, followed
 * through installed packages, and the package itself), or null when the oracle does not list it.
 */
export function oracleSolution(id: string): string[] | null {
  const index = join(opamInstallOracle, 'index.tsv');
  if (!existsSync(index)) return null;
  for (const line of readFileSync(index, 'utf8').split('\n').slice(1)) {
    const [pkg, , , solution] = line.split('\t');
    if (pkg === id) return (solution ?? '').split(' ').filter(Boolean).sort();
  }
  return null;
}

/** The files, links and whiteouts of an ecocheck layer, relative to the switch prefix (not its .opam-switch). */
export function layerFiles(layer: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (lstatSync(p).isDirectory()) walk(p);
      else out.push(relative(layer, p));
    }
  };
  walk(layer);
  return out.filter((f) => !f.startsWith('.opam-switch/')).sort();
}

/** The difference of a layer from opam's record: files only ecocheck installed, files only opam did. */
export function compareWithOracle(id: string, layer: string): { onlyEcocheck: string[]; onlyOpam: string[] } | null {
  const expected = oracleFiles(id);
  if (expected === null) return null;
  const got = layerFiles(layer);
  const want = new Set(expected);
  const have = new Set(got);
  return { onlyEcocheck: got.filter((f) => !want.has(f)), onlyOpam: expected.filter((f) => !have.has(f)) };
}
