/**
 * A repository with pins applied, as `opam pin add` makes the switch see it (opam 2.1,
 * `OpamPinCommand.source_pin` and `get_source_definition`):
 *
 * - the definition: the opam file found in the source directory (`pin-source.ts`), else the
 *   repository's opam file of NAME.VERSION when a version is given, else of NAME's newest version
 *   (opam takes `default_version`, the switch's version of NAME: on a fresh switch the newest available
 *   one); with neither, opam asks for a template to edit, which here is an error;
 * - the version: VERSION when given, else the `version:` field of the source's opam file, else the
 *   repository's newest version of NAME, else `~dev` (`OpamPinCommand.default_version`); the package's
 *   `name:` and `version:` fields are overwritten (`with_name`, `with_version`), never a contradiction;
 * - the source: `url` becomes the pin target, without checksums or mirrors (`OpamFile.URL.create`),
 *   whatever the opam file says; a directory is `file://DIR` (opam's `path` pin);
 * - the universe: the pinned package is the only version of NAME (`OpamSwitchState` keeps the pinned
 *   version and drops the name's repository versions), so a dependent whose constraint excludes it is
 *   not installable, as with opam.
 *
 * The result is a RepositoryLoad: the solver, the planner and the builder need nothing more. A source
 * directory's content is not read here (the job key hashes it, `plan/files-hash.ts`).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { OpamFileAst } from './ast.js';
import type { OpamPackage } from './package-model.js';
import { packageFromAstWithWarnings } from './package-from-ast.js';
import { OpamFormatError } from './parse-error.js';
import { parseOpamFile } from './parser.js';
import { findPackage, type RepositoryLoad, type RepositoryWarning } from './repository.js';
import { findOpamFileInSource, sourceFilesDir } from './pin-source.js';
import { PinError, pinToString, type Pin } from './pin.js';
import { isValidVersion } from './filter.js';

/** opam's version of a pinned package with no version anywhere (`OpamPinCommand.default_version`). */
export const DEFAULT_PIN_VERSION = '~dev';

/** What one pin became: the package, and where its definition and version came from. */
export interface PinnedPackage {
  pin: Pin;
  pkg: OpamPackage;
  /** The opam file read: in the source, or the repository's. */
  definition: { from: 'source' | 'repository'; file: string };
  versionFrom: 'argument' | 'opam-file' | 'repository' | 'default';
  /** The repository versions of NAME the pin hides (ascending). */
  shadowed: string[];
}

export interface PinnedRepository extends RepositoryLoad {
  /** The pins, in the order given. */
  pinned: PinnedPackage[];
  /** The repository before the pins. */
  unpinned: RepositoryLoad;
}

/** Applies `pins` to `load`: a new load (the original is not changed). Throws PinError. */
export function applyPins(load: RepositoryLoad, pins: readonly Pin[]): PinnedRepository {
  const packages = new Map(load.packages);
  const pinned: PinnedPackage[] = [];
  const warnings: RepositoryWarning[] = [...load.warnings];
  const seen = new Map<string, Pin>();
  for (const pin of pins) {
    const before = seen.get(pin.name);
    if (before !== undefined) throw new PinError(pinToString(pin), `${pin.name} is already pinned (${pinToString(before)})`);
    seen.set(pin.name, pin);
    const p = pinOne(load, pin, warnings);
    packages.set(pin.name, [p.pkg]);
    pinned.push(p);
  }
  return { ...load, packages, warnings, pinned, unpinned: load };
}

function pinOne(load: RepositoryLoad, pin: Pin, warnings: RepositoryWarning[]): PinnedPackage {
  const arg = pinToString(pin);
  const repoVersions = (load.packages.get(pin.name) ?? []).map((p) => p.version);
  const newest = repoVersions.length > 0 ? repoVersions[repoVersions.length - 1] : null;
  let sourceFile: string | null = null;
  if (pin.source.kind === 'dir') {
    let isDir: boolean;
    try {
      isDir = statSync(pin.source.path).isDirectory();
    } catch {
      throw new PinError(arg, `${pin.source.path}: no such directory`);
    }
    if (!isDir) throw new PinError(arg, `${pin.source.path}: not a directory`);
    sourceFile = findOpamFileInSource(pin.source.path, pin.name);
  }

  let file: string;
  let from: 'source' | 'repository';
  let repository: string;
  let filesDir: string | null;
  if (sourceFile !== null) {
    file = sourceFile;
    from = 'source';
    repository = (pin.source as { path: string }).path;
    filesDir = sourceFilesDir(repository, sourceFile);
  } else {
    const repo = findPackage(load, pin.name, pin.version ?? undefined);
    if (repo === undefined) {
      const where =
        pin.source.kind === 'dir'
          ? `no opam file in ${pin.source.path} (${pin.name}.opam, opam, opam/${pin.name}.opam or opam/opam)`
          : 'a URL pin takes its opam file from the repository';
      const missing =
        pin.version !== null && repoVersions.length > 0
          ? `the repository has no ${pin.name}.${pin.version}`
          : `the repository has no package ${pin.name}`;
      throw new PinError(arg, `no package definition: ${where}, and ${missing}`);
    }
    file = repo.file;
    from = 'repository';
    repository = repo.repository;
    filesDir = repo.filesDir;
  }

  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new PinError(arg, `${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let ast: OpamFileAst;
  try {
    ast = parseOpamFile(bytes.toString('utf8'), file);
  } catch (e) {
    if (e instanceof OpamFormatError) throw new PinError(arg, e.message);
    throw e;
  }
  const fileVersion = versionField(ast);
  let version: string;
  let versionFrom: PinnedPackage['versionFrom'];
  if (pin.version !== null) [version, versionFrom] = [pin.version, 'argument'];
  else if (from === 'source' && fileVersion !== null) [version, versionFrom] = [fileVersion, 'opam-file'];
  else if (from === 'repository') [version, versionFrom] = [findPackage(load, pin.name)!.version, 'repository'];
  else if (newest !== null) [version, versionFrom] = [newest, 'repository'];
  else [version, versionFrom] = [DEFAULT_PIN_VERSION, 'default'];

  const named = nameField(ast);
  if (named !== null && named !== pin.name)
    warnings.push({ file, message: `name field ${JSON.stringify(named)} is replaced by the pinned name ${pin.name}` });
  // opam overwrites name and version (`with_name`, `with_version`): the fields are not read.
  const pinnedAst: OpamFileAst = {
    ...ast,
    items: ast.items.filter((i) => !(i.kind === 'variable' && (i.name === 'name' || i.name === 'version'))),
  };
  const contentHash = createHash('sha256').update(bytes).digest('hex');
  let pkg: OpamPackage;
  try {
    ({ pkg } = packageFromAstWithWarnings(pinnedAst, { name: pin.name, version, file, repository, filesDir, contentHash }));
  } catch (e) {
    if (e instanceof OpamFormatError) throw new PinError(arg, e.message);
    throw e;
  }
  const src = pin.source.kind === 'dir' ? pathToFileURL(pin.source.path).href : pin.source.url;
  pkg.url = { src, checksums: [], mirrors: [] };
  pkg.pin = pin.source;
  return { pin, pkg, definition: { from, file }, versionFrom, shadowed: repoVersions };
}

function stringField(ast: OpamFileAst, name: string): string | null {
  for (const item of ast.items) {
    if (item.kind === 'variable' && item.name === name && item.value.kind === 'string') return item.value.value.trim();
  }
  return null;
}

/** The source opam file's `version:` (a valid version), or null. */
function versionField(ast: OpamFileAst): string | null {
  const v = stringField(ast, 'version');
  return v !== null && isValidVersion(v) ? v : null;
}

function nameField(ast: OpamFileAst): string | null {
  return stringField(ast, 'name');
}

/** One line per pin for a run's record and the reports: `NAME.VERSION=TARGET (opam file: …)`. */
export function describePin(p: PinnedPackage): string {
  const target = p.pin.source.kind === 'dir' ? p.pin.source.path : p.pin.source.url;
  return `${p.pkg.name}.${p.pkg.version}=${target} (opam file: ${p.definition.from === 'source' ? p.definition.file : `the repository's, ${p.definition.file}`})`;
}
