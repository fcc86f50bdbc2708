/**
 * `NAME.config` files (opam's `Dot_config`): written by a package's build into its build directory,
 * kept with the installed package, and read for `NAME:var` lookups by the packages built after it
 * (e.g. `ocaml:native`). opam syntax: a `variables { var: value … }` section.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VariableValue } from '../opam/filter.js';
import { OpamFormatError } from '../opam/parse-error.js';
import { parseOpamFile } from '../opam/parser.js';

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
        vars.set(v.name, value.items.map((x) => (x as { value: string }).value));
      } else throw new OpamFormatError(value.span.start, `variable ${v.name}: expected a bool, string or list of strings`);
    }
  }
  return vars;
}

/** The variables of an installed package (empty when it has no `.config` file). */
export function readInstalledConfig(prefix: string, name: string): Map<string, VariableValue> {
  const path = installedConfigPath(prefix, name);
  if (!existsSync(path)) return new Map();
  return parseConfigFile(readFileSync(path, 'utf8'), path);
}

/** Copies `buildDir/NAME.config`, when the build wrote one, into the prefix. Returns whether it did. */
export function installConfigFile(buildDir: string, prefix: string, name: string): boolean {
  const src = join(buildDir, `${name}.config`);
  if (!existsSync(src)) return false;
  // Validate now, so a malformed file fails this package's install rather than its dependents.
  parseConfigFile(readFileSync(src, 'utf8'), src);
  const dest = installedConfigPath(prefix, name);
  mkdirSync(join(dest, '..'), { recursive: true });
  copyFileSync(src, dest);
  return true;
}
