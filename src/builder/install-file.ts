/**
 * `NAME.install` files (opam's `Dot_install`): opam syntax, one field per destination, each a list of
 * `"src"` or `"src" {"dest"}`; a leading `?` marks a file that may be absent. Installing copies each
 * file from the build directory into the job's prefix, the way `OpamAction.preprocess_dot_install`
 * does: executables (bin, sbin, libexec, libexec_root, stublibs) get mode 755, the rest 644; a missing
 * non-optional file, a directory, or a destination escaping the prefix makes the install fail.
 *
 * The build directory and the prefix (the job's upper directory) are the package's: both are handled
 * with confined-path.ts, so no symbolic link the build left takes a read or a write outside them (a
 * source linking elsewhere inside the build directory, as dune's `_build/install` links do, is fine).
 */
import { join, relative, resolve } from 'node:path';
import type { Value } from '../opam/ast.js';
import { OpamFormatError } from '../opam/parse-error.js';
import { parseOpamFile } from '../opam/parser.js';
import { BuilderError } from './builder-error.js';
import {
  confinedRelative,
  copyConfinedFile,
  kindOf,
  readConfinedFile,
  resolveConfined,
  shown,
  UnsafePathError,
  type ConfinedRoot,
} from './confined-path.js';

export const INSTALL_SECTIONS = [
  'lib',
  'lib_root',
  'libexec',
  'libexec_root',
  'bin',
  'sbin',
  'toplevel',
  'share',
  'share_root',
  'etc',
  'doc',
  'stublibs',
  'man',
  'misc',
] as const;
export type InstallSection = (typeof INSTALL_SECTIONS)[number];

export interface InstallEntry {
  /** Path relative to the build directory. */
  src: string;
  optional: boolean;
  /** Destination relative to the section's directory (absolute for `misc`); null = the source's name. */
  dest: string | null;
}

export type InstallSpec = Record<InstallSection, InstallEntry[]>;

const EXECUTABLE: ReadonlySet<InstallSection> = new Set(['bin', 'sbin', 'libexec', 'libexec_root', 'stublibs']);

export class InstallError extends BuilderError {
  constructor(message: string) {
    super(message, 'input');
  }
}

function emptySpec(): InstallSpec {
  return Object.fromEntries(INSTALL_SECTIONS.map((s) => [s, []])) as unknown as InstallSpec;
}

function fail(v: Value, message: string): never {
  throw new OpamFormatError(v.span.start, message);
}

function entryOf(v: Value, section: InstallSection): InstallEntry {
  let srcValue = v;
  let dest: string | null = null;
  if (v.kind === 'option') {
    srcValue = v.value;
    if (v.options.length !== 1 || v.options[0].kind !== 'string') fail(v, `${section}: expected "src" {"dest"}`);
    dest = (v.options[0] as { value: string }).value;
    if (section === 'misc' ? !dest.startsWith('/') : dest.startsWith('/')) {
      fail(v.options[0], section === 'misc' ? `misc: ${dest} is not an absolute path` : `${section}: ${dest} is an absolute path`);
    }
  } else if (section === 'misc') {
    fail(v, 'misc: expected "src" {"/absolute/dest"}');
  }
  if (srcValue.kind !== 'string') fail(srcValue, `${section}: expected a file name string`);
  const raw = srcValue.value;
  const optional = raw.startsWith('?');
  return { src: optional ? raw.slice(1) : raw, optional, dest };
}

export function parseInstallFile(text: string, file: string): InstallSpec {
  const ast = parseOpamFile(text, file);
  const spec = emptySpec();
  for (const item of ast.items) {
    if (item.kind !== 'variable') continue;
    if (!(INSTALL_SECTIONS as readonly string[]).includes(item.name)) continue;
    const section = item.name as InstallSection;
    const values = item.value.kind === 'list' ? item.value.items : [item.value];
    for (const v of values) spec[section].push(entryOf(v, section));
  }
  return spec;
}

/**
 * `NAME.install` of the build directory `buildDir` (seen at `seenAt` in the sandbox), parsed; null when
 * the build wrote none. Anything but a regular file inside the build directory is an InstallError.
 */
export function readBuildInstallFile(buildDir: string, name: string, seenAt?: string): InstallSpec | null {
  const file = `${name}.install`;
  let found: { bytes: Buffer } | null;
  try {
    found = readConfinedFile({ dir: buildDir, seenAt, label: 'the build directory' }, file);
  } catch (e) {
    if (e instanceof UnsafePathError) throw new InstallError(e.message);
    throw e;
  }
  return found === null ? null : parseInstallFile(found.bytes.toString('utf8'), join(buildDir, file));
}

/** Where a section's files go for package `name` installed in `prefix`. */
export function sectionDir(section: Exclude<InstallSection, 'misc'>, prefix: string, name: string): string {
  switch (section) {
    case 'lib':
    case 'libexec':
      return join(prefix, 'lib', name);
    case 'lib_root':
    case 'libexec_root':
      return join(prefix, 'lib');
    case 'bin':
      return join(prefix, 'bin');
    case 'sbin':
      return join(prefix, 'sbin');
    case 'toplevel':
      return join(prefix, 'lib', 'toplevel');
    case 'stublibs':
      return join(prefix, 'lib', 'stublibs');
    case 'share':
      return join(prefix, 'share', name);
    case 'share_root':
      return join(prefix, 'share');
    case 'etc':
      return join(prefix, 'etc', name);
    case 'doc':
      return join(prefix, 'doc', name);
    case 'man':
      return join(prefix, 'man');
  }
}

/** `add_man_section_dir`: `foo.3` goes to `man3/foo.3` (also `foo.3.gz`); otherwise its name. */
function manDest(src: string): string {
  const file = src.slice(src.lastIndexOf('/') + 1);
  const base = file.endsWith('.gz') ? file.slice(0, -3) : file;
  const dot = base.lastIndexOf('.');
  const c = dot >= 0 && dot < base.length - 1 ? base[dot + 1] : '';
  return c >= '1' && c <= '8' ? `man${c}/${file}` : file;
}

export interface InstalledFile {
  section: InstallSection;
  src: string;
  /** Absolute destination. */
  dest: string;
}

/**
 * Installs every file of `spec` from `buildDir` into `prefix`. Returns what was installed and the
 * `misc` entries skipped (they target absolute paths outside any prefix). Throws InstallError listing
 * every file that could not be installed.
 */
export function installFromSpec(
  spec: InstallSpec,
  buildDir: string,
  prefix: string,
  name: string,
  log: (line: string) => void,
  buildSeenAt?: string,
): { installed: InstalledFile[]; skippedMisc: InstallEntry[] } {
  const installed: InstalledFile[] = [];
  const problems: string[] = [];
  const root = resolve(prefix);
  const build: ConfinedRoot = { dir: resolve(buildDir), seenAt: buildSeenAt, label: 'the build directory' };
  const target: ConfinedRoot = { dir: root, label: 'the prefix' };
  for (const section of INSTALL_SECTIONS) {
    if (section === 'misc') continue;
    const dir = sectionDir(section, root, name);
    for (const entry of spec[section]) {
      const srcName = shown(entry.src);
      let destName = entry.dest ?? (section === 'man' ? manDest(entry.src) : entry.src.slice(entry.src.lastIndexOf('/') + 1));
      let srcRel: string;
      try {
        srcRel = confinedRelative(build, entry.src);
      } catch {
        problems.push(`${srcName} (outside the build directory)`);
        continue;
      }
      if (srcRel === '') {
        problems.push(`${srcName} (a directory)`);
        continue;
      }
      let dest = resolve(dir, destName);
      if (!dest.startsWith(root + '/')) {
        problems.push(`${srcName} -> ${shown(destName)} (escapes the prefix)`);
        continue;
      }
      try {
        let found = resolveConfined(build, srcRel);
        // Like opam, an executable given without its `.exe` suffix may be found with it.
        if (found === null && EXECUTABLE.has(section)) {
          found = resolveConfined(build, `${srcRel}.exe`);
          if (found !== null && !destName.endsWith('.exe')) {
            destName += '.exe';
            dest = resolve(dir, destName);
          }
        }
        if (found === null) {
          if (entry.optional) {
            log(`install: optional ${srcName} absent, skipped`);
            continue;
          }
          problems.push(`${srcName} to ${dir.slice(root.length + 1) || '.'} (missing)`);
          continue;
        }
        if (!found.stat.isFile()) {
          problems.push(`${srcName} (${kindOf(found.stat)})`);
          continue;
        }
        const destRel = relative(root, dest);
        copyConfinedFile(build, found.rel, target, destRel, EXECUTABLE.has(section) ? 0o755 : 0o644);
        installed.push({ section, src: entry.src, dest });
        log(`install: ${section} ${srcName} -> ${shown(destRel)}`);
      } catch (e) {
        if (!(e instanceof UnsafePathError)) throw e;
        problems.push(`${srcName} (${shown(e.path)}: ${e.reason})`);
      }
    }
  }
  for (const entry of spec.misc) log(`install: misc ${shown(entry.src)} -> ${shown(entry.dest ?? '')} skipped (outside the prefix)`);
  if (problems.length > 0) throw new InstallError(`${name}.install: cannot install ${problems.join(', ')}`);
  return { installed, skippedMisc: spec.misc };
}
