/**
 * The builder's version, part of every job key: derived from the builder's own code (every module of
 * this folder), so that a change to the builder can never reuse results it did not produce. Its own
 * module, so that planning (which needs the version, not the builder) loads nothing else of the builder.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOwnerIdentity } from './build-user.js';

/** `opam-builder/2+` and a hash of this folder's modules. */
export const OPAM_BUILDER_VERSION = ((): string => {
  const dir = dirname(fileURLToPath(import.meta.url));
  const h = createHash('sha256');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.js') || n.endsWith('.ts')).sort()) {
    h.update(`${f}\0`);
    h.update(readFileSync(join(dir, f)));
    h.update('\0');
  }
  return `opam-builder/2+${h.digest('hex').slice(0, 16)}`;
})();

/**
 * The builder version of a configuration: the code, whether builds are sandboxed, and who owns the
 * layers sandboxed builds make (the build user's uid: a build must be able to write the layers below it).
 */
export function opamBuilderVersion(sandbox: boolean): string {
  return `${OPAM_BUILDER_VERSION}+${sandbox ? `sandbox+${buildOwnerIdentity()}` : 'host-fs'}`;
}

