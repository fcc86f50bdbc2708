/**
 * `NAME.config` files (opam's `Dot_config`): written by a package's build into its build directory,
 * kept with the installed package, and read for `NAME:var` lookups by the packages built after it
 * (e.g. `ocaml:native`). opam syntax: a `variables { var: value … }` section.
 *
 * Both places are the package's (its build directory, a layer it wrote): they are read and written
 * with confined-path.ts, so a symbolic link or special file there is refused (ConfigFileError), never
 * followed or opened.
 */
import { join } from 'node:path';
import type { VariableValue } from '../opam/filter.js';
import { OpamFormatError } from '../opam/parse-error.js';
import { parseOpamFile } from '../opam/parser.js';
import { BuilderError } from './builder-error.js';
import { readConfinedFile, UnsafePathError, writeConfinedFile } from './confined-path.js';

/** A `.config` file that is not a regular file inside its directory (a link leading out, a FIFO…). */
export class ConfigFileError extends BuilderError {
  constructor(message: string) {
    super(message, 'input');
  }
}

/** Where an installed package's `.config` file is, relative to its prefix. */
function configRelative(name: string): string {
  return `.opam-switch/config/${name}.config`;
}

function readConfined(...args: Parameters<typeof readConfinedFile>): Buffer | null {
  try {
    return readConfinedFile(...args)?.bytes ?? null;
  } catch (e) {
    if (e instanceof UnsafePathError) throw new ConfigFileError(e.message);
    throw e;
  }
}

/** Where an installed package's `.config` file is kept inside its prefix (opam's switch layout). */
export function installedConfigPath(prefix: string, name: string): string {
  return join(prefix, '.opam-switch', 'config', `${name}.config`);
}

export function parseConfigFile(text: string, file: string): Map<string, VariableValue> {
  const vars = new Map<string, VariableValue>();
  for (const item of parseOpamFile(text, file).items) {
    if (item.kind !== 'section' || item.sectionKind !== 'variables') continue;
    for (const v of item.items) {
      if (v.kind !== 'variable') continue;
      const value = v.value;
      if (value.kind === 'bool' || value.kind === 'string') vars.set(v.name, value.value);
      else if (value.kind === 'int') vars.set(v.name, String(value.value));
      else if (value.kind === 'list' && value.items.every((x) => x.kind === 'string')) {
        vars.set(
          v.name,
          value.items.map((x) => (x as { value: string }).value),
        );
      } else throw new OpamFormatError(value.span.start, `variable ${v.name}: expected a bool, string or list of strings`);
    }
  }
  return vars;
}

/** The variables of an installed package (empty when it has no `.config` file). */
export function readInstalledConfig(prefix: string, name: string): Map<string, VariableValue> {
  const bytes = readConfined({ dir: prefix, label: 'the layer' }, configRelative(name));
  return bytes === null ? new Map() : parseConfigFile(bytes.toString('utf8'), installedConfigPath(prefix, name));
}

/**
 * Copies `buildDir/NAME.config` (the build directory seen at `seenAt` in the sandbox), when the build
 * wrote one, into the prefix. Returns whether it did.
 */
export function installConfigFile(buildDir: string, prefix: string, name: string, seenAt?: string): boolean {
  const bytes = readConfined({ dir: buildDir, seenAt, label: 'the build directory' }, `${name}.config`);
  if (bytes === null) return false;
  // Validate now, so a malformed file fails this package's install rather than its dependents.
  parseConfigFile(bytes.toString('utf8'), join(buildDir, `${name}.config`));
  try {
    writeConfinedFile({ dir: prefix, label: 'the prefix' }, configRelative(name), bytes, 0o644);
  } catch (e) {
    if (e instanceof UnsafePathError) throw new ConfigFileError(`${name}.config cannot be kept: ${e.message}`);
    throw e;
  }
  return true;
}
