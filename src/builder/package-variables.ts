/**
 * The opam variables a package sees while it is built (`OpamPackageVar.resolve`), adapted to
 * ecocheck's layout where every job installs into its own prefix:
 * - global: the standard paths of the job's own prefix (prefix, lib, bin, sbin, share, doc, etc, man,
 *   toplevel, stublibs), the platform variables (os, arch, os-family…), jobs, make, opam-version,
 *   root, switch, exe, and the local with-test / with-doc / with-dev-setup (false);
 * - anything else unqualified is looked up as a variable of the package itself (`name`, `version`,
 *   `build`, `dev`…);
 * - `pkg:var` (and `_:var`): first the variables of pkg's `.config` file, then installed, enable
 *   (derived by the interpolation layer), pinned, name, version, depends, hash, dev, build-id,
 *   opamfile, and pkg's own directories (bin, sbin, lib, man, doc, share, etc) inside pkg's prefix.
 * A package outside the build closure is not installed: `installed` is false and its other
 * variables are undefined.
 */
import { join } from 'node:path';
import type { VariableLookup, VariableValue } from '../opam/filter.js';
import type { OpamPackage } from '../opam/package-model.js';
import { checksumToString, strongestFirst } from './checksum.js';

/** The opam version whose behaviour ecocheck reproduces (the `opam-version` variable). */
export const EMULATED_OPAM_VERSION = '2.1.2';

/** One package as the variables see it. */
export interface VariablePackage {
  pkg: OpamPackage;
  /** The job key (the `build-id`). */
  key: string;
  prefix: string;
  /** `NAME.VERSION` of its direct dependencies (the `depends` variable). */
  dependencyIds: string[];
  /** Variables from its `.config` file. */
  config: Map<string, VariableValue>;
  installed: boolean;
  /** Its build directory, while it is being built. */
  buildDir: string | null;
  /** Built with its tests (a `--with-test` target): `with-test` is true in its build. */
  runTests?: boolean;
}

export interface VariableScope {
  /** The package whose fields are being evaluated (the one built, or a dependency for its setenv). */
  self: VariablePackage;
  /** Every package of the build closure, by name (the job itself is not in it). */
  installed: ReadonlyMap<string, VariablePackage>;
  makeJobs: number;
  platformVariables: Readonly<Record<string, string>>;
  /** Value of `root`. */
  root: string;
  /** Value of `switch`. */
  switchName: string;
  /** Value of `make`. */
  make?: string;
}

const STD_PATHS = new Set(['prefix', 'lib', 'bin', 'sbin', 'share', 'doc', 'etc', 'man', 'toplevel', 'stublibs']);

/** `OpamPath.Switch.get_stdpath` for a prefix. */
export function stdPath(prefix: string, name: string): string | undefined {
  switch (name) {
    case 'prefix':
      return prefix;
    case 'toplevel':
      return join(prefix, 'lib', 'toplevel');
    case 'stublibs':
      return join(prefix, 'lib', 'stublibs');
    default:
      return STD_PATHS.has(name) ? join(prefix, name) : undefined;
  }
}

/** `OpamPackageVar.is_dev_package`: a source that is not a fixed archive. */
export function isDevPackage(pkg: OpamPackage): boolean {
  if (pkg.pin !== undefined) return true; // a pinned source: no checksum, http included
  if (!pkg.url) return false;
  if (/^https?:\/\//.test(pkg.url.src)) return false;
  return pkg.url.checksums.length === 0;
}

function globalVariable(scope: VariableScope, variable: string): VariableValue {
  switch (variable) {
    case 'with-test':
      return scope.self.runTests === true;
    case 'with-doc':
    case 'with-dev-setup':
      return false;
  }
  const path = stdPath(scope.self.prefix, variable);
  if (path !== undefined) return path;
  if (Object.prototype.hasOwnProperty.call(scope.platformVariables, variable)) return scope.platformVariables[variable];
  switch (variable) {
    case 'opam-version':
      return EMULATED_OPAM_VERSION;
    case 'jobs':
      return String(scope.makeJobs);
    case 'root':
      return scope.root;
    case 'make':
      return scope.make ?? 'make';
    case 'exe':
      return '';
    case 'switch':
      return scope.switchName;
  }
  return undefined;
}

function packageVariable(scope: VariableScope, name: string, variable: string): VariableValue {
  const p = name === scope.self.pkg.name ? scope.self : scope.installed.get(name);
  if (p) {
    const fromConfig = p.config.get(variable);
    if (fromConfig !== undefined) return fromConfig;
  }
  switch (variable) {
    case 'installed':
      return p ? p.installed : false;
    case 'pinned':
      return false;
    case 'name':
      return p ? name : undefined;
  }
  if (!p) return undefined;
  const prefix = p.prefix;
  switch (variable) {
    case 'bin':
    case 'sbin':
    case 'man':
      return join(prefix, variable);
    case 'lib':
    case 'doc':
    case 'share':
    case 'etc':
      return join(prefix, variable, name);
    case 'build':
      return p.buildDir ?? undefined;
    case 'version':
      return p.pkg.version;
    case 'depends':
      return p.dependencyIds.join(' ');
    case 'hash': {
      const c = p.pkg.url ? strongestFirst(p.pkg.url.checksums)[0] : undefined;
      return c ? checksumToString(c) : undefined;
    }
    case 'dev':
      return isDevPackage(p.pkg);
    case 'build-id':
      return p.key;
    case 'opamfile':
      return p.pkg.file;
  }
  return undefined;
}

/** The variable lookup for evaluating `scope.self`'s fields. */
export function packageVariableLookup(scope: VariableScope): VariableLookup {
  return (packages, variable) => {
    if (packages === null || packages.length === 0) {
      const g = globalVariable(scope, variable);
      if (g !== undefined) return g;
      return packageVariable(scope, scope.self.pkg.name, variable);
    }
    const name = packages[0] === '_' ? scope.self.pkg.name : packages[0];
    return packageVariable(scope, name, variable);
  };
}
