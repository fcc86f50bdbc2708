/**
 * System packages (opam's `depexts`): which the package asks for on this platform, and which of those
 * the host lacks. A build that fails with some missing says so first, so reports bin it apart (missing
 * system packages are the machine's business, not the compiler's). The host is asked through
 * `dpkg-query` on Debian-family platforms; elsewhere nothing is checked.
 */
import { spawnSync } from 'node:child_process';
import type { OpamPackage } from '../opam/package-model.js';
import { evalFilterToBool, type VariableLookup } from '../opam/filter.js';

/** The log line that records missing system packages; reports look for it. */
export const MISSING_SYSTEM_PACKAGES = 'missing system packages (depexts):';

/** The system packages the package's `depexts` ask for under `lookup` (its filters decide). */
export function requiredSystemPackages(pkg: Pick<OpamPackage, 'depexts'>, lookup: VariableLookup): string[] {
  const out: string[] = [];
  for (const d of pkg.depexts) {
    if (d.filter !== undefined && !evalFilterToBool(d.filter, lookup, false)) continue;
    for (const name of d.packages) if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** Installed-or-not per Debian package name, asked once per process. */
const installedCache = new Map<string, boolean>();

/** Answers for names not yet known: `dpkg-query` prints a status line for each package it knows. */
function queryDpkg(names: string[]): void {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Package}\t${Status}\n', ...names], { encoding: 'utf8' });
  if (r.error !== undefined) throw r.error;
  const installed = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const [name, status] = line.split('\t');
    if (name && status !== undefined && /\binstall ok installed\b/.test(status)) installed.add(name.replace(/:.*$/, ''));
  }
  for (const n of names) installedCache.set(n, installed.has(n));
}

/**
 * The required system packages the host lacks, or null when the host cannot be asked (not a
 * Debian-family platform, or no dpkg-query).
 */
export function missingSystemPackages(required: string[], platform: Readonly<Record<string, string>>): string[] | null {
  if (required.length === 0) return [];
  if (platform['os-family'] !== 'debian') return null;
  const unknown = required.filter((n) => !installedCache.has(n));
  if (unknown.length > 0) {
    try {
      queryDpkg(unknown);
    } catch {
      return null;
    }
  }
  return required.filter((n) => installedCache.get(n) === false);
}
