/**
 * What a plan takes from the host: in `--depexts install` mode the missing system packages installed
 * (or, for `plan`, listed), and each package's system part of its job key (its depexts with their
 * installed versions). The host is asked through its package manager (src/host); the depexts are those
 * of each package under the solver's platform variables.
 */
import type { OpamPackage } from '../opam/package-model.js';
import { packageLookup } from '../solve/platform-env.js';
import { installMissingDepexts, requiredSystemPackages, systemPackagesKeys, type DepextsPolicy } from '../host/depexts.js';
import { hostPackageManager } from '../host/host-packages.js';

/** What a plan takes from the host (`prepareSystemPackages`). */
export interface PlanSystemPackages {
  /** Install mode, building: the depexts installed before the keys were made. */
  installed: string[];
  /** Install mode, not building (`plan`): the depexts a build would install. */
  toInstall: string[];
  /** The system part of each package's job key; undefined when the host has no known package manager. */
  keys: ((pkg: OpamPackage) => string) | undefined;
}

/**
 * The host's part of a plan of `solved` packages under `variables` (the solver's platform): in install
 * mode, the missing depexts with a candidate installed first (when `building`) or listed; then each
 * package's depexts with their installed versions, for its key (in every mode, where the host's
 * package manager is known, so a cached failure never outlives the missing depext).
 */
export function prepareSystemPackages(
  policy: DepextsPolicy,
  solved: readonly OpamPackage[],
  variables: Readonly<Record<string, string>>,
  building: boolean,
): PlanSystemPackages {
  const depextsOf = (p: OpamPackage) => requiredSystemPackages(p, packageLookup(p, variables, null));
  const install = policy.mode === 'install' && policy.manager !== null ? policy.manager : null;
  const installed = install !== null && building ? installMissingDepexts(solved, depextsOf, install) : [];
  const toInstall = install !== null && !building ? [...install.status([...new Set(solved.flatMap(depextsOf))]).available].sort() : [];
  const keyHost = policy.manager ?? hostPackageManager(variables);
  return { installed, toInstall, keys: keyHost === null ? undefined : systemPackagesKeys(solved, depextsOf, keyHost) };
}
