/**
 * `--compiler ./ocaml`: a local compiler source tree (the pull request under test) checked as the
 * compiler package built from that tree. The repository's compiler package for the same major.minor
 * version gives the build instructions (its depends, build, install, flags, conflict class); the tree
 * replaces its sources (`url { src: "file://TREE" }`), and the tree's content hash goes into the opam
 * file, so every job key above the compiler changes exactly when the tree does.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Item, OpamFileAst } from '../opam/ast.js';
import type { OpamPackage } from '../opam/package-model.js';
import { parseOpamFile } from '../opam/parser.js';
import { printOpamFile } from '../opam/printer.js';
import { packageFromAst } from '../opam/package-from-ast.js';
import { compareVersions } from '../opam/version.js';
import { UsageError } from '../errors/usage-error.js';

/** Folders a source tree's hash leaves out: version control and build outputs that are never sources. */
const SKIPPED = new Set(['.git', '.hg', '_build', '_opam', 'node_modules']);

/** The absolute path when `spec` names an existing directory (`./ocaml`, `/src/ocaml`, `../ocaml`). */
export function localTreePath(spec: string, cwd: string = process.cwd()): string | null {
  if (!/^(?:\.{1,2}(?:\/|$)|\/|~\/)/.test(spec)) return null;
  const path = resolve(cwd, spec.startsWith('~/') ? join(process.env.HOME ?? '', spec.slice(2)) : spec);
  return existsSync(path) && statSync(path).isDirectory() ? path : null;
}

/** sha256 over every file's relative path and bytes (symbolic links by their target), in sorted order. */
export function treeContentHash(dir: string): string {
  const hash = createHash('sha256');
  const walk = (rel: string) => {
    const entries = readdirSync(join(dir, rel), { withFileTypes: true }).sort((a: Dirent, b: Dirent) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (SKIPPED.has(e.name)) continue;
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(path);
      else if (e.isFile()) {
        hash.update(`F ${path}\0`);
        hash.update(readFileSync(join(dir, path)));
        hash.update('\0');
      } else if (e.isSymbolicLink()) hash.update(`L ${path}\0`);
    }
  };
  walk('');
  return hash.digest('hex');
}

/** The tree's `VERSION` file's first line, made a valid opam version. */
function treeVersion(dir: string): string {
  const file = join(dir, 'VERSION');
  if (!existsSync(file)) throw new UsageError(`--compiler ${dir}: not an OCaml source tree (no VERSION file)`);
  const line = readFileSync(file, 'utf8').split('\n')[0].trim();
  if (!/^\d+\.\d+/.test(line)) throw new UsageError(`${file}:1:1: expected a version such as 5.3.0, found "${line}"`);
  return line.replace(/[^A-Za-z0-9_+.~-]/g, '-');
}

/** The newest compiler package (`ocaml-base-compiler` or `ocaml-variants`) of the same major.minor. */
function templateFor(packages: ReadonlyMap<string, readonly OpamPackage[]>, version: string): OpamPackage | null {
  const majorMinor = /^(\d+\.\d+)/.exec(version)![1];
  const sameSeries = (v: string) => v === majorMinor || v.startsWith(`${majorMinor}.`) || v.startsWith(`${majorMinor}~`) || v.startsWith(`${majorMinor}+`);
  let best: OpamPackage | null = null;
  for (const name of ['ocaml-base-compiler', 'ocaml-variants']) {
    for (const p of packages.get(name) ?? []) {
      if (!p.flags.includes('compiler') || !sameSeries(p.version)) continue;
      if (best === null || compareVersions(p.version, best.version) > 0 || (compareVersions(p.version, best.version) === 0 && name === 'ocaml-base-compiler')) best = p;
    }
  }
  return best;
}

/** Fields of the template that describe its release sources, not how to build: the tree replaces them. */
const SOURCE_FIELDS = new Set(['url', 'extra-files', 'patches', 'extra-source', 'name', 'version']);

export interface LocalCompiler {
  pkg: OpamPackage;
  /** `NAME.VERSION` of the package built from the tree. */
  spec: string;
  origin: string;
}

/**
 * Builds the compiler package of a source tree and adds it to `packages` (which the solver and planner
 * then see like any other), returning it.
 */
export function addLocalCompiler(packages: Map<string, OpamPackage[]>, dir: string): LocalCompiler {
  const treeVer = treeVersion(dir);
  const template = templateFor(packages, treeVer);
  if (template === null) {
    throw new UsageError(`--compiler ${dir}: the repository has no compiler package for OCaml ${/^(\d+\.\d+)/.exec(treeVer)![1]} to take the build instructions from`);
  }
  const contentHash = treeContentHash(dir);
  const version = `${treeVer}+local`;
  const items: Item[] = template.ast.items.filter((i) => !(i.kind === 'section' ? SOURCE_FIELDS.has(i.sectionKind) : SOURCE_FIELDS.has(i.name)));
  const text =
    printOpamFile({ file: template.file, items }) +
    `x-ecocheck-source: ${JSON.stringify(dir)}\n` +
    `x-ecocheck-source-hash: "sha256=${contentHash}"\n` +
    `url { src: ${JSON.stringify(`file://${dir}`)} }\n`;
  const file = `${dir} (local compiler tree, built as ${template.name}.${version})`;
  let ast: OpamFileAst;
  try {
    ast = parseOpamFile(text, file);
  } catch (err) {
    throw new UsageError(`--compiler ${dir}: cannot derive the compiler package from ${template.file}: ${err instanceof Error ? err.message : String(err)}`);
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
  return { pkg, spec: `${pkg.name}.${version}`, origin: `source tree ${dir} (content sha256 ${contentHash.slice(0, 12)}), built as ${template.name}.${template.version} is` };
}
