/**
 * A package's system packages (opam's `depexts`) against the host, as opam 2.1 reads them
 * (`OpamSwitchState.depexts_unavailable`): an available package one of whose depexts (filtered for
 * the platform) has no candidate in the host's package manager is not available either. `--depexts`:
 * - `host` (the default where the package manager is known): that rule;
 * - `install`: that rule, and the missing depexts that have a candidate are installed before building;
 * - `ignore`: the host is not asked (portable answers; a missing depext shows when the build fails).
 */
import type { OpamPackage } from '../opam/package-model.js';
import { evalFilterToBool, type VariableLookup } from '../opam/filter.js';
import { HostError } from './host-error.js';
import { hostPackageManager, type SystemPackageManager } from './host-packages.js';

export const DEPEXTS_MODES = ['host', 'install', 'ignore'] as const;
export type DepextsMode = (typeof DEPEXTS_MODES)[number];

/** The system packages the package's `depexts` ask for under `lookup` (its filters decide). */
export function requiredSystemPackages(pkg: Pick<OpamPackage, 'depexts'>, lookup: VariableLookup): string[] {
  const out: string[] = [];
  for (const d of pkg.depexts) {
    if (d.filter !== undefined && !evalFilterToBool(d.filter, lookup, false)) continue;
    for (const name of d.packages) if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** A depexts mode by name; undefined when none is given. */
export function parseDepextsMode(value: string | undefined): DepextsMode | undefined {
  if (value === undefined) return undefined;
  if (!(DEPEXTS_MODES as readonly string[]).includes(value)) {
    throw new HostError(`expected one of ${DEPEXTS_MODES.join(', ')}`, 'input', { setting: 'depexts', value: JSON.stringify(value) });
  }
  return value as DepextsMode;
}

/** The mode in effect and the package manager it asks (null in `ignore` mode). */
export interface DepextsPolicy {
  mode: DepextsMode;
  manager: SystemPackageManager | null;
}

/**
 * The policy for `--depexts` (undefined: `host` when the platform's package manager is on this host,
 * else `ignore`). `host` or `install` without a known package manager is a HostError. `answersFile`:
 * where the package manager's answers persist (hostPackageManager).
 */
export function resolveDepextsPolicy(
  requested: DepextsMode | undefined,
  platform: Readonly<Record<string, string>>,
  answersFile: string | null = null,
): DepextsPolicy {
  if (requested === 'ignore') return { mode: 'ignore', manager: null };
  const manager = hostPackageManager(platform, answersFile);
  if (manager === null) {
    if (requested === undefined) return { mode: 'ignore', manager: null };
    throw new HostError(
      `no known package manager for os-family ${JSON.stringify(platform['os-family'] ?? '')} on this host (supported: apt/dpkg on debian, ubuntu); use the mode ignore`,
      'environment',
      { setting: 'depexts', value: requested },
    );
  }
  return { mode: requested ?? 'host', manager };
}

/**
 * The packages (of those given) whose depexts have no candidate on the host, each with those depexts.
 * The host is asked once, for the depexts of all of them.
 */
export function depextsUnavailable(
  packages: readonly OpamPackage[],
  depextsOf: (pkg: OpamPackage) => readonly string[],
  manager: SystemPackageManager,
): Map<OpamPackage, string[]> {
  const wanted = new Map<OpamPackage, readonly string[]>();
  const names = new Set<string>();
  for (const p of packages) {
    const d = depextsOf(p);
    if (d.length === 0) continue;
    wanted.set(p, d);
    for (const n of d) names.add(n);
  }
  const out = new Map<OpamPackage, string[]>();
  if (names.size === 0) return out;
  const { notFound } = manager.status([...names]);
  for (const [p, d] of wanted) {
    const missing = d.filter((n) => notFound.has(n));
    if (missing.length > 0) out.set(p, missing);
  }
  return out;
}

/** The reason of a package dropped for its depexts (the solver's message for it). */
export function depextsUnavailableReason(id: string, missing: readonly string[], manager: SystemPackageManager): string {
  return `${id} needs system packages (depexts) that ${manager.name} has no installation candidate for: ${missing.join(' ')}`;
}

/**
 * The part of a job's key that the host's system packages make: each depext with its installed version
 * (or `none`), so installing or upgrading one changes the keys of the jobs that name it, and no others.
 * Empty for a package without depexts. The host is asked once for all the packages given.
 */
export function systemPackagesKeys(
  packages: Iterable<OpamPackage>,
  depextsOf: (pkg: OpamPackage) => readonly string[],
  manager: SystemPackageManager,
): (pkg: OpamPackage) => string {
  const wanted = new Map<OpamPackage, readonly string[]>();
  const names = new Set<string>();
  for (const p of packages) {
    if (wanted.has(p)) continue;
    const d = depextsOf(p);
    wanted.set(p, d);
    for (const n of d) names.add(n);
  }
  const versions = names.size === 0 ? new Map<string, string | null>() : manager.installedVersions([...names]);
  return (pkg) => {
    const d = wanted.get(pkg) ?? depextsOf(pkg);
    const more = d.filter((n) => !versions.has(n));
    const extra = more.length === 0 ? new Map<string, string | null>() : manager.installedVersions(more);
    return [...d]
      .sort()
      .map((n) => `${n}=${versions.get(n) ?? extra.get(n) ?? 'none'}`)
      .join(' ');
  };
}

/**
 * Installs the depexts of `packages` that are not installed and have a candidate (those without one
 * made their packages unavailable already); returns the names installed, in order.
 */
export function installMissingDepexts(
  packages: Iterable<OpamPackage>,
  depextsOf: (pkg: OpamPackage) => readonly string[],
  manager: SystemPackageManager,
): string[] {
  const names = new Set<string>();
  for (const p of packages) for (const n of depextsOf(p)) names.add(n);
  if (names.size === 0) return [];
  const missing = [...manager.status([...names]).available].sort();
  manager.install(missing);
  return missing;
}
