/**
 * A host package manager as the solver and the builder ask it (opam's `OpamSysInteract.packages_status`
 * and `install`): the interface each OS family implements, and its error.
 */
import { HostError } from './host-error.js';

/** What the package manager says about some names; every name asked is in exactly one set. */
export interface SystemPackageStatus {
  /** Installed, or provided by an installed package. */
  installed: ReadonlySet<string>;
  /** Not installed, and the package manager has a candidate for it (itself, or a package providing it). */
  available: ReadonlySet<string>;
  /** Neither installed nor installable: no candidate. */
  notFound: ReadonlySet<string>;
}

export interface SystemPackageManager {
  /** For messages: `apt`. */
  readonly name: string;
  /** Installed / available / not found, for every name given. */
  status(names: readonly string[]): SystemPackageStatus;
  /**
   * The installed version of each name: `VERSION` for an installed package, `via PROVIDER=VERSION` for a
   * virtual name an installed package provides, null when not installed.
   */
  installedVersions(names: readonly string[]): ReadonlyMap<string, string | null>;
  /**
   * Installs the names (as root, or through sudo), then forgets what it knew. Throws a
   * SystemPackageError (one line) when the package manager fails or leaves some not installed.
   */
  install(names: readonly string[]): void;
}

/** A failed query or installation, in one line naming the command (the CLI prints it as an environment error). */
export class SystemPackageError extends HostError {
  constructor(message: string) {
    super(message, 'environment');
  }
}
