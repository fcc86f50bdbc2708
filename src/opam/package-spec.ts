/**
 * `NAME[.VERSION]`, as `OpamPackage.of_string` reads it: package names never contain a dot, so the first
 * dot splits; without one the whole is a name. The one reading of a package argument, for every verb.
 */
import { isValidPackageName, isValidVersion } from './filter.js';

export interface PackageSpec {
  name: string;
  /** null: no version given (the verb picks one, usually the newest). */
  version: string | null;
}

/** The spec, or null when its name or version is not valid opam (say so with the argument). */
export function parsePackageSpec(spec: string): PackageSpec | null {
  const dot = spec.indexOf('.');
  const name = dot < 0 ? spec : spec.slice(0, dot);
  const version = dot < 0 ? null : spec.slice(dot + 1);
  if (!isValidPackageName(name)) return null;
  if (version !== null && !isValidVersion(version)) return null;
  return { name, version };
}

export function packageSpecToString(p: PackageSpec): string {
  return p.version === null ? p.name : `${p.name}.${p.version}`;
}
