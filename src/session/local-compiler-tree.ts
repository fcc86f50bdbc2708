/**
 * `--compiler ./ocaml`: a local compiler source tree (the pull request under test) checked as the
 * compiler package built from that tree. The repository's compiler packages for the same major.minor
 * version give the build instructions; the tree replaces their sources (`url { src: "file://TREE" }`),
 * and the tree's content hash goes into the opam file, so every job key above the compiler changes
 * exactly when the tree does. Two layouts, as opam-repository has them:
 * - split (OCaml 5.3 on): `ocaml-compiler.X` holds the url and build, `ocaml-base-compiler.X` only
 *   depends on it: both are derived, `ocaml-base-compiler.V+local` depending on `ocaml-compiler.V+local`;
 * - single: `ocaml-base-compiler.X` (or `ocaml-variants.X`) holds everything: it is derived alone.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { hashPinnedDirectory } from '../plan/files-hash.js';
import { join, resolve } from 'node:path';
import type { Item, OpamFileAst } from '../opam/ast.js';
import type { OpamPackage } from '../opam/package-model.js';
import { parseOpamFile } from '../opam/parser.js';
import { printOpamFile } from '../opam/printer.js';
import { packageFromAst } from '../opam/package-from-ast.js';
import { compareVersions } from '../opam/version.js';
import { SessionError } from './session-error.js';

/** The absolute path when `spec` names an existing directory (`./ocaml`, `/src/ocaml`, `../ocaml`). */
export function localTreePath(spec: string, cwd: string = process.cwd()): string | null {
  if (!/^(?:\.{1,2}(?:\/|$)|\/|~\/)/.test(spec)) return null;
  const path = resolve(cwd, spec.startsWith('~/') ? join(process.env.HOME ?? '', spec.slice(2)) : spec);
  return existsSync(path) && statSync(path).isDirectory() ? path : null;
}

/** The tree's `VERSION` file's first line, made a valid opam version. */
function treeVersion(dir: string): string {
  const file = join(dir, 'VERSION');
  if (!existsSync(file)) throw new SessionError('not an OCaml source tree (no VERSION file)', 'input', { setting: 'compiler', value: dir });
  const line = readFileSync(file, 'utf8').split('\n')[0].trim();
  if (!/^\d+\.\d+/.test(line)) throw new SessionError(`${file}:1:1: expected a version such as 5.3.0, found "${line}"`);
  return line.replace(/[^A-Za-z0-9_+.~-]/g, '-');
}

function sameSeries(version: string): (v: string) => boolean {
  const majorMinor = /^(\d+\.\d+)/.exec(version)![1];
  return (v) => v === majorMinor || v.startsWith(`${majorMinor}.`) || v.startsWith(`${majorMinor}~`) || v.startsWith(`${majorMinor}+`);
}

function newest(candidates: OpamPackage[], prefer: string): OpamPackage | null {
  let best: OpamPackage | null = null;
  for (const p of candidates) {
    if (
      best === null ||
      compareVersions(p.version, best.version) > 0 ||
      (compareVersions(p.version, best.version) === 0 && p.name === prefer)
    )
      best = p;
  }
  return best;
}

/**
 * The newest package of the tree's series that builds a compiler (it has build commands), from the
 * first of `names` that has one: a plain release's build before a variant's (options, trunk).
 */
function templateFor(
  packages: ReadonlyMap<string, readonly OpamPackage[]>,
  version: string,
  names: string[],
  flagged: boolean,
): OpamPackage | null {
  const inSeries = sameSeries(version);
  for (const name of names) {
    const candidates = (packages.get(name) ?? []).filter(
      (p) => inSeries(p.version) && p.build.length > 0 && (!flagged || p.flags.includes('compiler')),
    );
    const best = newest(candidates, name);
    if (best) return best;
  }
  return null;
}

/** The newest `ocaml-base-compiler` of the series that only depends on an `ocaml-compiler` version (the split layout). */
function splitBaseFor(packages: ReadonlyMap<string, readonly OpamPackage[]>, version: string): OpamPackage | null {
  const inSeries = sameSeries(version);
  const candidates = (packages.get('ocaml-base-compiler') ?? []).filter(
    (p) => inSeries(p.version) && p.flags.includes('compiler') && p.build.length === 0 && SPLIT_DEPENDENCY.test(printOpamFile(p.ast)),
  );
  return newest(candidates, 'ocaml-base-compiler');
}

/** `"ocaml-compiler" {= "5.3.0"}` in a split-layout ocaml-base-compiler's depends. */
const SPLIT_DEPENDENCY = /"ocaml-compiler"\s*\{\s*=\s*"[^"]*"\s*\}/;

/** Fields of the template that describe its release sources, not how to build: the tree replaces them. */
const SOURCE_FIELDS = new Set(['url', 'extra-files', 'patches', 'extra-source', 'name', 'version']);

export interface LocalCompiler {
  pkg: OpamPackage;
  /** `NAME.VERSION` of the package built from the tree. */
  spec: string;
  origin: string;
}

/** Derives `NAME.VERSION` from `template`: its build instructions, `text` appended, added to `packages`. */
function derivePackage(
  packages: Map<string, OpamPackage[]>,
  template: OpamPackage,
  version: string,
  dir: string,
  extra: string,
  rewrite: (text: string) => string = (t) => t,
): OpamPackage {
  const items: Item[] = template.ast.items.filter(
    (i) => !(i.kind === 'section' ? SOURCE_FIELDS.has(i.sectionKind) : SOURCE_FIELDS.has(i.name)),
  );
  const text = rewrite(printOpamFile({ file: template.file, items })) + extra;
  const file = `${dir} (local compiler tree, built as ${template.name}.${version})`;
  let ast: OpamFileAst;
  try {
    ast = parseOpamFile(text, file);
  } catch (err) {
    throw new SessionError(
      `cannot derive the compiler package from ${template.file}: ${err instanceof Error ? err.message : String(err)}`,
      'input',
      { setting: 'compiler', value: dir },
    );
  }
  const pkg = packageFromAst(ast, {
    name: template.name,
    version,
    file,
    repository: dir,
    filesDir: null,
    contentHash: createHash('sha256').update(text).digest('hex'),
  });
  const list = (packages.get(pkg.name) ?? []).filter((p) => compareVersions(p.version, version) !== 0);
  list.push(pkg);
  list.sort((a, b) => compareVersions(a.version, b.version));
  packages.set(pkg.name, list);
  return pkg;
}

/**
 * Builds the compiler package(s) of a source tree and adds them to `packages` (which the solver and
 * planner then see like any other), returning the one to ask the solver for.
 */
export function addLocalCompiler(packages: Map<string, OpamPackage[]>, dir: string): LocalCompiler {
  const treeVer = treeVersion(dir);
  const series = /^(\d+\.\d+)/.exec(treeVer)![1];
  // Hashed as a pinned source directory is (its checkout's .git, _build, _opam… left out): the same tree, the same key.
  const contentHash = hashPinnedDirectory(dir);
  const version = `${treeVer}+local`;
  const source =
    `x-ecocheck-source: ${JSON.stringify(dir)}\n` +
    `x-ecocheck-source-hash: "sha256=${contentHash}"\n` +
    `url { src: ${JSON.stringify(`file://${dir}`)} }\n`;
  const origin = (t: OpamPackage) => `source tree ${dir} (content sha256 ${contentHash.slice(0, 12)}), built as ${t.name}.${t.version} is`;

  const splitCompiler = templateFor(packages, treeVer, ['ocaml-compiler'], false);
  const splitBase = splitCompiler ? splitBaseFor(packages, treeVer) : null;
  if (splitCompiler && splitBase) {
    derivePackage(packages, splitCompiler, version, dir, source);
    const base = derivePackage(packages, splitBase, version, dir, '', (t) =>
      t.replace(SPLIT_DEPENDENCY, `"ocaml-compiler" {= ${JSON.stringify(version)}}`),
    );
    return { pkg: base, spec: `${base.name}.${version}`, origin: origin(splitCompiler) };
  }
  const template = templateFor(packages, treeVer, ['ocaml-base-compiler', 'ocaml-variants'], true);
  if (template === null) {
    throw new SessionError(
      `the repository has no compiler package for OCaml ${series} to take the build instructions from (ocaml-compiler, ocaml-base-compiler or ocaml-variants with build commands)`,
      'input',
      { setting: 'compiler', value: dir },
    );
  }
  const pkg = derivePackage(packages, template, version, dir, source);
  return { pkg, spec: `${pkg.name}.${version}`, origin: origin(template) };
}
