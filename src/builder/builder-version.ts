/**
 * The builder's identity, part of every job key: what the builder DECLARES it is — its version, the
 * sandbox's identity and the sandbox mode — not a hash of its files, so that a
 * comment or a refactoring does not throw away every user's cached results (hours of baseline), while
 * a change to what builds produce does. Its own module, so that planning (which needs the identity,
 * not the builder) loads nothing else of the builder but the sandbox's identity.
 *
 * When to bump OPAM_BUILDER_VERSION: whenever a change can change what a job produces — its layer's
 * files, its status, its reason or first error — for the same job key. tests/builder/builder-identity.test.ts
 * holds the builder to it: it fails when the modules that decide a job's outputs (listed, with why, in
 * scripts/builder-identity-lock.mjs) change, comments and layout aside, while the version stays the
 * one recorded in tests/builder/builder-identity.lock. Then: bump the version below, say why in the
 * changelog, and run `node scripts/builder-identity-lock.mjs` (a change that cannot change any output,
 * a pure refactoring, is recorded with `--same-outputs` instead of a bump).
 *
 * Changelog (each bump rebuilds every result once):
 * - opam-builder/4: a job's `build:`, `run-test:` and `install:` commands (and its patches) run in one
 *   sandbox launch (sandbox-session.ts), a third of the engine's cost per job. A command still sees
 *   what it saw and leaves nothing running for the next; but `/var/tmp` and `/dev/shm` now last for the
 *   job instead of one command, and the memory and process limits hold the job's commands together.
 * - opam-builder/3: the identity is declared (this file) instead of hashed from the builder's files;
 *   the sandbox's identity and the named mode (`confined`/`host`) enter it. Builds as of issue 21:
 *   commands run as the unprivileged build user (setpriv), host-side file steps refuse symbolic links
 *   and special files (confined-path.ts), per-job disk and inode limits (disk-limit.ts), local sources
 *   only from named folders. No uid in it: layers made under another uid are handed over before use.
 * - opam-builder/2+HASH: the builder's files hashed (every edit of src/builder rebuilt everything).
 */
import { bubblewrap } from './bubblewrap.js';
import type { Sandbox, SandboxMode } from './sandbox.js';

/** The builder's declared version: bumped by hand when build behaviour changes (see the changelog above). */
export const OPAM_BUILDER_VERSION = 'opam-builder/4';

/**
 * The builder identity of a configuration: the builder's version, the sandbox's identity and the mode,
 * e.g. `opam-builder/3+bubblewrap/1+setpriv+confined`. It names no uid: which uid the build user has
 * on a machine changes nothing a build produces (a layer made elsewhere is handed to this machine's
 * build user before a build writes above it), so machines whose build users differ share keys: shards
 * agree, and exported layers and results serve everywhere.
 */
export function opamBuilderVersion(mode: SandboxMode, sandbox: Pick<Sandbox, 'identity'> = bubblewrap): string {
  return `${OPAM_BUILDER_VERSION}+${sandbox.identity}+${mode}`;
}
