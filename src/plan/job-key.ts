/**
 * The content key of a job: what must be equal for two builds to be the same build. The builder
 * version and platform variables are hashed once into a context; each job adds its package identity,
 * opam file hash, `files/` hash, its dependencies' keys and the installed versions of the system
 * packages its depexts name, so a change anywhere below a job (the compiler and the host's system
 * packages included) changes its key and nothing else's. A pinned package adds its source: a
 * directory's content hash (`files-hash.ts`), so an edit of the checkout changes the key of its job and,
 * through their dependency keys, of the jobs built against it, and nothing else's; a URL as written (a
 * branch that moves is not seen: pin a commit, or a directory, to follow it).
 */
import { createHash } from 'node:crypto';
import type { OpamPackage } from '../opam/package-model.js';
import type { FilesDirHashCache } from './files-hash.js';

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
  pinnedSource = '',
): string {
  const h = createHash('sha256');
  h.update(`${contextHash}\0${pkg.name}\0${pkg.version}\0${pkg.contentHash}\0${filesHash}\0`);
  for (const k of [...dependencyKeys].sort()) h.update(`${k}\0`);
  if (runTests) h.update('run-tests\0');
  if (systemPackages !== '') h.update(`system-packages\0${systemPackages}\0`);
  if (pinnedSource !== '') h.update(`pinned-source\0${pinnedSource}\0`);
  return h.digest('hex');
}

/** A pinned package's part of its key (`jobKey`'s `pinnedSource`): '' for a repository package. */
export function pinnedSourceKey(pkg: OpamPackage, hashes: FilesDirHashCache): string {
  if (pkg.pin === undefined) return '';
  if (pkg.pin.kind === 'url') return `url\0${pkg.pin.url}`;
  return `dir\0${hashes.pinnedDirectory(pkg.pin.path)}`;
}
