/**
 * The content key of a job: what must be equal for two builds to be the same build. The builder
 * version and platform variables are hashed once into a context; each job adds its package identity,
 * opam file hash, `files/` hash, its dependencies' keys and the installed versions of the system
 * packages its depexts name, so a change anywhere below a job (the compiler and the host's system
 * packages included) changes its key and nothing else's.
 */
import { createHash } from 'node:crypto';
import type { OpamPackage } from '../opam/package-model.js';

export interface KeyContext {
  builderVersion: string;
  /** The platform variables the builds see (os, arch, …), after `--env` overrides. */
  platform: Record<string, string>;
  /** `--with-test`: the targets' jobs run their tests (only theirs: a different key, the same deps). */
  testTargets?: boolean;
  /**
   * The host's part of a package's key: its depexts with their installed versions (empty without
   * depexts, or when the host is not asked), so installing or upgrading a system package rebuilds the
   * jobs naming it, and through their keys their dependents, and nothing else.
   */
  systemPackages?: (pkg: OpamPackage) => string;
}

/** sha256 of the builder version and the platform variables (sorted): shared by every job of a plan. */
export function keyContextHash(ctx: KeyContext): string {
  const h = createHash('sha256');
  h.update(`ecocheck-job-v1\0builder\0${ctx.builderVersion}\0`);
  for (const name of Object.keys(ctx.platform).sort()) h.update(`var\0${name}\0${ctx.platform[name]}\0`);
  return h.digest('hex');
}

export function jobKey(
  contextHash: string,
  pkg: OpamPackage,
  filesHash: string,
  dependencyKeys: readonly string[],
  runTests = false,
  systemPackages = '',
): string {
  const h = createHash('sha256');
  h.update(`${contextHash}\0${pkg.name}\0${pkg.version}\0${pkg.contentHash}\0${filesHash}\0`);
  for (const k of [...dependencyKeys].sort()) h.update(`${k}\0`);
  if (runTests) h.update('run-tests\0');
  if (systemPackages !== '') h.update(`system-packages\0${systemPackages}\0`);
  return h.digest('hex');
}
