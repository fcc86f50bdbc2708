/**
 * System packages (opam's `depexts`) during a build: which the package asks for on this platform, and
 * which of those the host lacks. A build that fails with some missing says so first, so reports bin it
 * apart (missing system packages are the machine's business, not the compiler's). The host is asked
 * through its package manager (src/host: apt/dpkg on Debian-family platforms, answers shared
 * with the solver's); elsewhere nothing is checked.
 */
import { hostPackageManager, SystemPackageError } from '../host/host-packages.js';

export { requiredSystemPackages } from '../host/depexts.js';

/** The log line that records missing system packages, for people reading the log (reports get them as data). */
export const MISSING_SYSTEM_PACKAGES = 'missing system packages (depexts):';

/**
 * The required system packages the host lacks (neither installed nor provided by an installed
 * package), or null when the host cannot be asked (no package manager for the platform's family on
 * this host, or its query failed).
 */
export function missingSystemPackages(required: string[], platform: Readonly<Record<string, string>>): string[] | null {
  if (required.length === 0) return [];
  const manager = hostPackageManager(platform);
  if (manager === null) return null;
  try {
    const { installed } = manager.status(required);
    return required.filter((n) => !installed.has(n));
  } catch (e) {
    if (e instanceof SystemPackageError) return null;
    throw e;
  }
}
