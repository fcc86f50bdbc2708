/**
 * The builder's identity, part of every job key: what the builder DECLARES it is — its version, the
 * sandbox's identity, the sandbox mode and who owns the layers — not a hash of its files, so that a
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
 * - opam-builder/3: the identity is declared (this file) instead of hashed from the builder's files;
 *   the sandbox's identity and the named mode (`confined`/`host`) enter it. Builds as of issue 21:
 *   commands run as the unprivileged build user (setpriv), host-side file steps refuse symbolic links
 *   and special files (confined-path.ts), per-job disk and inode limits (disk-limit.ts), local sources
 *   only from named folders.
 * - opam-builder/2+HASH: the builder's files hashed (every edit of src/builder rebuilt everything).
 */
import { buildOwnerIdentity } from './build-user.js';
import { bubblewrap } from './bubblewrap.js';
import type { Sandbox, SandboxMode } from './sandbox.js';

/** The builder's declared version: bumped by hand when build behaviour changes (see the changelog above). */
export const OPAM_BUILDER_VERSION = 'opam-builder/3';

/**
 * The builder identity of a configuration: the builder's version, the sandbox's identity, the mode,
 * and, when confined, who owns the layers builds make (the build user's uid: a build must be able to
 * write the layers below it), e.g. `opam-builder/3+bubblewrap/1+setpriv+confined+uid990-gid990`.
 */
export function opamBuilderVersion(mode: SandboxMode, sandbox: Pick<Sandbox, 'identity'> = bubblewrap): string {
  return `${OPAM_BUILDER_VERSION}+${sandbox.identity}+${mode === 'confined' ? `confined+${buildOwnerIdentity()}` : 'host'}`;
}
