/**
 * The synthetic ecosystem: an opam repository with the names, versions and solving semantics of a real
 * one, whose builds are trivial. It is how ecocheck's own cost at whole-repository scale is measured
 * without downloading the repository's sources (issue 23): place the overlay in front of the real
 * repository (`--repo SYNTH --repo fixtures/compilers --repo REAL`) and every job of a plan really runs
 * in the sandbox and writes a layer, in seconds.
 *
 * Each package version keeps, as syntax trees copied from its file (parsed and printed by src/opam, so
 * the opam semantics are those of the original), the fields that decide solving and planning:
 * `opam-version`, `name`, `version`, `synopsis`, `depends`, `depopts`, `conflicts`, `conflict-class`,
 * `available`, `flags` and `tags` (a `flags:…` tag is a flag). Dependency flags (build, post, with-test,
 * with-doc), version constraints and filters are inside those fields and so kept. Everything that builds
 * is replaced by a `build:` and an `install:` that write one file, `%{lib}%/NAME/NAME.VERSION` holding
 * `NAME.VERSION`, with /bin/sh and coreutils alone. Dropped: `url`, `extra-source`, `patches`, `substs`,
 * `extra-files` (the build has no source), `build-env`, `setenv`, `remove`, `run-test` and `build-test`
 * (nothing to test), `x-` and descriptive fields, and `depexts`: a trivial build needs no system
 * package, so the overlay's packages are installable whatever the host has (`--depexts host` asks the host
 * about the compiler packages alone, which keep theirs; `--depexts ignore` does not ask at all).
 *
 * Compiler packages stay real: they are left out of the overlay, so that a repository behind it provides
 * them (see `isCompilerSide`). A slice keeps the named packages (or the N names most depended on) and
 * their dependency cone: every name their versions' `depends` and `depopts` mention, transitively, so
 * that no package of a plan falls through to the real repository's real build. A compiler package's own
 * dependencies are not followed: through `ocaml-variants` they reach dune and half the repository, and a
 * plan on a real compiler installs none of them (one that does takes them from the repository behind).
 *
 * The transformation (`synthesize`) is pure; `readRepositoryFiles` and `writeOverlay` read and write.
 * The output is deterministic: sorted, and the same input gives the same bytes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { Item, OpamFileAst } from '../opam/ast.js';
import { atoms } from '../opam/formula.js';
import { packageFromAst } from '../opam/package-from-ast.js';
import { OpamFormatError } from '../opam/parse-error.js';
import { parseOpamFile } from '../opam/parser.js';
import { escapeString, printOpamFile } from '../opam/printer.js';
import { compareVersions } from '../opam/version.js';
import { SessionError } from './session-error.js';

/** The fields copied from the original file; all others are dropped (see the module's comment). */
export const KEPT_FIELDS: readonly string[] = [
  'opam-version',
  'name',
  'version',
  'synopsis',
  'depends',
  'depopts',
  'conflicts',
  'conflict-class',
  'available',
  'flags',
  'tags',
];

/**
 * Names left out of the overlay whatever their flags, read from what the snapshot's compiler packages
 * (`ocaml`, and those flagged `compiler`) depend on directly: `ocaml-config`, the `base-*` packages a
 * compiler installs (not `base-bytes` and the like, which are libraries' virtual packages), the
 * `ocaml-option(s)-*` configurations, the `host-arch-*`/`host-system-*`/`system-*`/`arch-*` platform
 * packages and the Windows toolchains (`flexdll`, `winpthreads`, `msys2*`, `ocaml-env-*`). Any name
 * with a version flagged `compiler` is left out too. The few other direct dependencies of some compiler
 * versions (`conf-autoconf`, `dune-secondary`…) are ordinary packages: trivial when a slice reaches them,
 * else the repository behind provides them (as it does when a plan picks such a compiler).
 */
const COMPILER_NAMES = new Set([
  'ocaml',
  'ocaml-config',
  'ocaml-compiler',
  'ocaml-beta',
  'ocaml-base-compiler',
  'ocaml-system',
  'ocaml-variants',
  'base-unix',
  'base-threads',
  'base-bigarray',
  'base-domains',
  'base-effects',
  'base-nnp',
  'base-flambda2',
  'flexdll',
  'winpthreads',
  'mingw-w64-shims',
]);
const COMPILER_PREFIXES = ['ocaml-option-', 'ocaml-options-', 'ocaml-env-', 'host-arch-', 'host-system-', 'system-', 'arch-', 'msys2'];

/** One opam file of the input: `packages/NAME/NAME.VERSION/opam`, its path (for messages) and text. */
export interface SourcePackage {
  name: string;
  version: string;
  file: string;
  text: string;
}

/** A file the generator could not read, by position; it is skipped, the run goes on. */
export interface SkippedFile {
  file: string;
  line: number;
  column: number;
  message: string;
}

/** Which packages: all of them, the named ones and their cone, or the `top` most depended-on names and their cone. */
export type SliceRequest = { kind: 'all' } | { kind: 'names'; names: readonly string[] } | { kind: 'top'; count: number };

export interface SyntheticPackage {
  name: string;
  version: string;
  /** The overlay file's path inside the overlay: `packages/NAME/NAME.VERSION/opam`. */
  path: string;
  text: string;
}

export interface SyntheticEcosystem {
  packages: SyntheticPackage[];
  /** Names left out because they are compiler packages (only those the slice reached), sorted. */
  compilerNames: string[];
  /** Names the slice reached that no input file defines (sorted): the solver will find them missing. */
  missingNames: string[];
  skipped: SkippedFile[];
}

interface ReadPackage {
  source: SourcePackage;
  ast: OpamFileAst;
  flags: string[];
  /** Names that `depends` and `depopts` mention. */
  dependencyNames: string[];
}

/** Is this name provided by the repositories behind the overlay rather than the overlay itself? */
export function isCompilerSide(name: string, flaggedCompiler: boolean): boolean {
  return flaggedCompiler || COMPILER_NAMES.has(name) || COMPILER_PREFIXES.some((p) => name.startsWith(p));
}

function skippedOf(err: unknown, file: string): SkippedFile {
  if (err instanceof OpamFormatError)
    return { file: err.position.file, line: err.position.line, column: err.position.column, message: err.detail };
  // packageFromAst reports every problem as an OpamFormatError; anything else is still only this file's.
  return { file, line: 1, column: 1, message: err instanceof Error ? err.message : String(err) };
}

function readPackage(source: SourcePackage): ReadPackage {
  const ast = parseOpamFile(source.text, source.file);
  const pkg = packageFromAst(ast, {
    name: source.name,
    version: source.version,
    file: source.file,
    repository: '',
    filesDir: null,
    contentHash: '',
  });
  const dependencyNames = [...atoms(pkg.depends), ...atoms(pkg.depopts)].map((a) => a.name);
  return { source, ast, flags: pkg.flags, dependencyNames };
}

/** The overlay file of one package version: its kept fields, printed, then the trivial build. */
export function syntheticOpamText(ast: OpamFileAst, name: string, version: string): string {
  const kept: Item[] = ast.items.filter((item) => item.kind === 'variable' && KEPT_FIELDS.includes(item.name));
  return printOpamFile({ file: ast.file, items: kept }) + trivialBuildText(name, version);
}

/**
 * `build:` writes `NAME.VERSION` into a file of the build folder; `install:` copies it to
 * `%{lib}%/NAME/NAME.VERSION`. The id is passed to sh as an argument, never spliced into its script.
 */
export function trivialBuildText(name: string, version: string): string {
  const id = escapeString(`${name}.${version}`);
  const dir = escapeString(`%{lib}%/${name}`);
  return [
    'build: [',
    `  ["sh" "-c" "printf '%s\\\\n' \\"$1\\" > synthetic-build" "sh" "${id}"]`,
    ']',
    'install: [',
    `  ["mkdir" "-p" "${dir}"]`,
    `  ["cp" "synthetic-build" "${dir}/${id}"]`,
    ']',
    '',
  ].join('\n');
}

/**
 * The overlay of `sources` (one entry per package version; the first of equal NAME.VERSION wins, as with
 * layered repositories): the slice's packages, compiler packages left out, files that do not parse skipped.
 */
export function synthesize(sources: readonly SourcePackage[], slice: SliceRequest): SyntheticEcosystem {
  const skipped: SkippedFile[] = [];
  const byName = new Map<string, ReadPackage[]>();
  const seen = new Set<string>();
  for (const source of sources) {
    const id = `${source.name}.${source.version}`;
    if (seen.has(id)) continue;
    seen.add(id);
    let read: ReadPackage;
    try {
      read = readPackage(source);
    } catch (err) {
      skipped.push(skippedOf(err, source.file));
      continue;
    }
    const list = byName.get(source.name) ?? [];
    list.push(read);
    byName.set(source.name, list);
  }
  const compilerSide = (name: string) =>
    isCompilerSide(
      name,
      (byName.get(name) ?? []).some((p) => p.flags.includes('compiler')),
    );

  let roots: string[];
  if (slice.kind === 'all') roots = [...byName.keys()];
  else if (slice.kind === 'names') roots = [...slice.names];
  else roots = mostDependedOn(byName, compilerSide, slice.count);

  const chosen = new Set<string>();
  const compilerNames = new Set<string>();
  const missingNames = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (chosen.has(name) || compilerNames.has(name) || missingNames.has(name)) continue;
    if (compilerSide(name)) {
      compilerNames.add(name);
      continue;
    }
    const versions = byName.get(name);
    if (versions === undefined) {
      missingNames.add(name);
      continue;
    }
    chosen.add(name);
    for (const p of versions) queue.push(...p.dependencyNames);
  }

  const packages: SyntheticPackage[] = [];
  for (const name of [...chosen].sort(byCodeUnits)) {
    const versions = [...byName.get(name)!].sort((a, b) => compareVersions(a.source.version, b.source.version));
    for (const p of versions) {
      const { version } = p.source;
      packages.push({ name, version, path: `packages/${name}/${name}.${version}/opam`, text: syntheticOpamText(p.ast, name, version) });
    }
  }
  skipped.sort((a, b) => byCodeUnits(a.file, b.file) || a.line - b.line || a.column - b.column);
  return { packages, compilerNames: [...compilerNames].sort(byCodeUnits), missingNames: [...missingNames].sort(byCodeUnits), skipped };
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The `count` non-compiler names that the most other names depend on (any version, depends or depopts); ties by name. */
function mostDependedOn(byName: ReadonlyMap<string, ReadPackage[]>, compilerSide: (name: string) => boolean, count: number): string[] {
  const dependents = new Map<string, Set<string>>();
  for (const [name, versions] of byName) {
    for (const p of versions) {
      for (const dep of p.dependencyNames) {
        if (dep === name) continue;
        const set = dependents.get(dep) ?? new Set<string>();
        set.add(name);
        dependents.set(dep, set);
      }
    }
  }
  const names = [...byName.keys()].filter((n) => !compilerSide(n));
  names.sort((a, b) => (dependents.get(b)?.size ?? 0) - (dependents.get(a)?.size ?? 0) || byCodeUnits(a, b));
  return names.slice(0, count);
}

/**
 * Every `packages/NAME/NAME.VERSION/opam` of the repositories, in order (the first repository first,
 * then by name and version folder). A version folder without an opam file is passed over.
 */
export function readRepositoryFiles(repositories: readonly string[]): SourcePackage[] {
  const out: SourcePackage[] = [];
  for (const repo of repositories) {
    const packagesDir = join(repo, 'packages');
    if (!existsSync(packagesDir) || !statSync(packagesDir).isDirectory()) {
      throw new SessionError(`no packages/ folder: not an opam repository`, 'input', { setting: 'repository', value: repo });
    }
    for (const name of readdirSync(packagesDir).sort(byCodeUnits)) {
      const nameDir = join(packagesDir, name);
      if (!statSync(nameDir).isDirectory()) continue;
      for (const folder of readdirSync(nameDir).sort(byCodeUnits)) {
        if (!folder.startsWith(`${name}.`)) continue;
        const file = join(nameDir, folder, 'opam');
        if (!existsSync(file)) continue;
        out.push({ name, version: folder.slice(name.length + 1), file, text: readFileSync(file, 'utf8') });
      }
    }
  }
  return out;
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}

/**
 * Writes the overlay into `out`, which must not exist or be empty, and must not be inside (nor hold)
 * an input repository: the input is never written. Writes `repo` (opam-version "2.0") and the packages.
 */
export function writeOverlay(out: string, eco: SyntheticEcosystem, inputs: readonly string[]): void {
  const target = resolve(out);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new SessionError(`${out}: exists and is not a folder`);
    if (readdirSync(target).length > 0) throw new SessionError(`${out}: not empty: give a new or empty folder`);
  }
  const real = existsSync(target) ? realpathSync(target) : target;
  for (const input of inputs) {
    const repo = realpathSync(input);
    if (isInside(real, repo) || isInside(repo, real)) {
      throw new SessionError(`${out}: inside the input repository ${input} (or holding it): the input is never written`);
    }
  }
  mkdirSync(target, { recursive: true });
  writeFileSync(join(target, 'repo'), 'opam-version: "2.0"\n');
  for (const p of eco.packages) {
    const file = join(target, p.path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, p.text);
  }
}
