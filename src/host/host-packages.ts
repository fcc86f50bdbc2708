/**
 * The host's package manager, as opam 2.1+ asks it about system packages (`OpamSysInteract`): which of
 * some names are installed, which are not but have an installation candidate (a virtual name counts
 * when some package provides it), and which are not found at all. One implementation per OS family
 * (today Debian/Ubuntu: apt and dpkg, in ./debian.ts); the platform's `os-family` picks it, and a
 * family with none, or a host lacking its tools, has no package manager (null).
 *
 * Answers are cached per process and per name, and asked in batches: one query for all the names not
 * yet known, never one process per package.
 */
import { debianPackageManager } from './debian.js';
import type { SystemPackageManager } from './package-manager.js';

export { SystemPackageError, type SystemPackageManager, type SystemPackageStatus } from './package-manager.js';

/** The package manager of each supported `os-family` (opam's families; others can be added here). */
const FAMILIES: Readonly<Record<string, (answersFile: string | null) => SystemPackageManager | null>> = {
  debian: debianPackageManager,
  ubuntu: debianPackageManager,
};

/**
 * The package manager for the platform's `os-family`, when that family is supported and its tools are
 * on this host; null otherwise. `answersFile`: where its answers persist between processes (the state
 * paths' `hostAnswers`); null or absent, this process only.
 */
export function hostPackageManager(
  platform: Readonly<Record<string, string>>,
  answersFile: string | null = null,
): SystemPackageManager | null {
  const family = platform['os-family'];
  const make = family === undefined ? undefined : FAMILIES[family];
  return make === undefined ? null : make(answersFile);
}
