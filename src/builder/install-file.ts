/**
 * `NAME.install` files (opam's `Dot_install`): opam syntax, one field per destination, each a list of
 * `"src"` or `"src" {"dest"}`; a leading `?` marks a file that may be absent. Installing copies each
 * file from the build directory into the job's prefix, the way `OpamAction.preprocess_dot_install`
 * does: executables (bin, sbin, libexec, libexec_root, stublibs) get mode 755, the rest 644; a missing
 * non-optional file, a directory, or a destination escaping the prefix makes the install fail.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, chmodSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Value } from '../opam/ast.js';
import { OpamFormatError } from '../opam/parse-error.js';
import { parseOpamFile } from '../opam/parser.js';
import { BuilderError } from './builder-error.js';

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

export function readInstallFile(path: string): InstallSpec {
  return parseInstallFile(readFileSync(path, 'utf8'), path);
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
): { installed: InstalledFile[]; skippedMisc: InstallEntry[] } {
  const installed: InstalledFile[] = [];
  const problems: string[] = [];
  const root = resolve(prefix);
  const buildRoot = resolve(buildDir);
  for (const section of INSTALL_SECTIONS) {
    if (section === 'misc') continue;
    const dir = sectionDir(section, prefix, name);
    for (const entry of spec[section]) {
      let src = resolve(buildDir, entry.src);
      let destName = entry.dest ?? (section === 'man' ? manDest(entry.src) : entry.src.slice(entry.src.lastIndexOf('/') + 1));
      // Like opam, an executable given without its `.exe` suffix may be found with it.
      if (EXECUTABLE.has(section) && !existsSync(src) && existsSync(`${src}.exe`)) {
        src = `${src}.exe`;
        if (!destName.endsWith('.exe')) destName += '.exe';
      }
      const dest = resolve(dir, destName);
      if (!src.startsWith(buildRoot + '/')) {
        problems.push(`${entry.src} (outside the build directory)`);
        continue;
      }
      if (!dest.startsWith(root + '/')) {
        problems.push(`${entry.src} -> ${destName} (escapes the prefix)`);
        continue;
      }
      if (!existsSync(src)) {
        if (entry.optional) {
          log(`install: optional ${entry.src} absent, skipped`);
          continue;
        }
        problems.push(`${entry.src} to ${dir.slice(root.length + 1) || '.'} (missing)`);
        continue;
      }
      if (statSync(src).isDirectory()) {
        problems.push(`${entry.src} (a directory)`);
        continue;
      }
      mkdirSync(dirname(dest), { recursive: true });
      rmSync(dest, { force: true });
      copyFileSync(src, dest);
      chmodSync(dest, EXECUTABLE.has(section) ? 0o755 : 0o644);
      installed.push({ section, src: entry.src, dest });
      log(`install: ${section} ${entry.src} -> ${dest.slice(root.length + 1)}`);
    }
  }
  for (const entry of spec.misc) log(`install: misc ${entry.src} -> ${entry.dest} skipped (outside the prefix)`);
  if (problems.length > 0) throw new InstallError(`${name}.install: cannot install ${problems.join(', ')}`);
  return { installed, skippedMisc: spec.misc };
}
