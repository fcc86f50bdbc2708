/**
 * The variables a solve sees: the platform (what `opam var` prints on the reference machine, a
 * Debian 12 x86_64 box with opam 2.1.2), per-package `name` / `version`, and the dependency flags
 * (`build`, `post`, `with-test`, `with-doc`, `with-dev-setup`, `dev`). Everything else is undefined, so
 * a dependency filter using it counts as false, as in opam.
 */
import type { OpamPackage } from '../opam/package-model.js';
import { dependencyFlagValue, type DependencyFlags, type VariableLookup, type VariableValue } from '../opam/filter.js';
import { SolveError } from './solve-error.js';

/**
 * opam-version: the version of the opam used as the oracle here (2.1.2). Packages gated on a newer
 * opam (`available: opam-version >= "2.2.0"`) are then unavailable, exactly as with that opam; pass
 * `--env opam-version=2.3.0` to model a newer client.
 */
export const DEFAULT_OPAM_VERSION = '2.1.2';

export const DEFAULT_PLATFORM: Readonly<Record<string, string>> = {
  os: 'linux',
  'os-family': 'debian',
  'os-distribution': 'debian',
  'os-version': '12',
  arch: 'x86_64',
  'opam-version': DEFAULT_OPAM_VERSION,
};

/** Parses `VAR=VALUE` items of `--env`; a bad item is a SolveError. */
export function parseEnvAssignments(items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const name = eq > 0 ? item.slice(0, eq) : '';
    if (!/^[A-Za-z0-9_][A-Za-z0-9_+-]*$/.test(name)) {
      throw new SolveError('expected VAR=VALUE', 'input', { setting: 'env', value: JSON.stringify(item) });
    }
    out[name] = item.slice(eq + 1);
  }
  return out;
}

/** A value as opam reads a variable's content: "true"/"false" become booleans. */
function asValue(s: string): VariableValue {
  if (s === 'true') return true;
  if (s === 'false') return false;
  return s;
}

export type { DependencyFlags };

/**
 * The lookup for one package's filters. `globals` holds the platform (already merged with `--env`);
 * `flags` the dependency flags, or null for `available:` (where they are undefined).
 */
export function packageLookup(
  pkg: Pick<OpamPackage, 'name' | 'version'>,
  globals: Readonly<Record<string, string>>,
  flags: DependencyFlags | null,
): VariableLookup {
  return (packages, variable) => {
    if (packages !== null) {
      // `_:var` is the package itself; other packages' variables are undefined before installation.
      if (packages.length === 1 && (packages[0] === '_' || packages[0] === pkg.name)) {
        if (variable === 'name') return pkg.name;
        if (variable === 'version') return pkg.version;
      }
      return undefined;
    }
    switch (variable) {
      case 'name':
        return pkg.name;
      case 'version':
        return pkg.version;
    }
    if (flags !== null) {
      const flag = dependencyFlagValue(flags, variable);
      if (flag !== undefined) return flag;
    }
    const v = globals[variable];
    return v === undefined ? undefined : asValue(v);
  };
}

/**
 * opam's `is_dev_package` for a repository package: its source is a version-control URL with no
 * checksum (e.g. `ocaml-variants.5.1.1+flambda2+trunk`). Such packages see `dev = true`.
 */
export function isDevPackage(pkg: OpamPackage): boolean {
  // A pinned package's url has no checksum, and opam counts every such pinned source as dev
  // (`OpamPackageVar.is_dev_package`: the http exception is for packages that are not pinned).
  if (pkg.pin !== undefined) return true;
  if (pkg.url === null || pkg.url.checksums.length > 0) return false;
  const src = pkg.url.src;
  if (/^(git|hg|darcs)(\+|:\/\/)/.test(src)) return true;
  if (/^(https?|file|rsync|ssh):\/\//.test(src) || src.startsWith('/')) {
    // opam guesses a VCS from the URL's path suffix when no transport prefix says so.
    return /\.git(#.*)?$/.test(src) || /\.hg(#.*)?$/.test(src);
  }
  return false;
}
