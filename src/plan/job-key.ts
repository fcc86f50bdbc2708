/**
 * The content key of a job: what must be equal for two builds to be the same build. The builder
 * version and platform variables are hashed once into a context; each job adds its package identity,
 * opam file hash, `files/` hash, its dependencies' keys and the installed versions of the system
 * packages its depexts name, so a change anywhere below a job (the compiler and the host's system
 * packages included) changes its key and nothing else's. A pinned package adds its source: a
 * directory's content hash (`files-hash.ts`), so an edit of the checkout changes the key of its job and,
 * through their dependency keys, of the jobs built against it, and nothing else's; a URL as written (a
 * branch that moves is not seen: pin a commit, or a directory, to follow it).
 *
 * A source without a checksum is covered by its content where that can be known before fetching: a
 * local one (`file://`, `git+file://`, an absolute path) that the local-source policy allows adds its
 * content (a file's bytes, a directory's hash, the commit a git ref resolves to), so editing the file
 * makes a new job (and new keys above it) and nothing else changes; a refused one adds only its
 * address (it is never read: its job fails to fetch). A remote one cannot be known: its key is the
 * address as written, and `hasUnverifiableSource` tells the session never to reuse its result.
 */
import { createHash } from 'node:crypto';
import type { OpamPackage } from '../opam/package-model.js';
import type { FilesDirHashCache } from './files-hash.js';
import { sourceLocation, type LocalSourcePolicy } from './local-source-policy.js';

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
  /**
   * The folders local sources may be read from (plan/local-source-policy.ts): an allowed source without
   * a checksum has its content hashed into its key; none given: no local source is read.
   */
  localSourceRoots?: readonly string[];
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
  localSources = '',
): string {
  const h = createHash('sha256');
  h.update(`${contextHash}\0${pkg.name}\0${pkg.version}\0${pkg.contentHash}\0${filesHash}\0`);
  for (const k of [...dependencyKeys].sort()) h.update(`${k}\0`);
  if (runTests) h.update('run-tests\0');
  if (systemPackages !== '') h.update(`system-packages\0${systemPackages}\0`);
  if (pinnedSource !== '') h.update(`pinned-source\0${pinnedSource}\0`);
  if (localSources !== '') h.update(`local-sources\0${localSources}\0`);
  return h.digest('hex');
}

/** A pinned package's part of its key (`jobKey`'s `pinnedSource`): '' for a repository package. */
export function pinnedSourceKey(pkg: OpamPackage, hashes: FilesDirHashCache): string {
  if (pkg.pin === undefined) return '';
  if (pkg.pin.kind === 'url') return `url\0${pkg.pin.url}`;
  return `dir\0${hashes.pinnedDirectory(pkg.pin.path)}`;
}

/**
 * The content of a package's local sources without a checksum (`jobKey`'s `localSources`), '' when it
 * has none. The url of a directory pin is left out: `pinnedSourceKey` covers it.
 */
export function localSourcesKey(pkg: OpamPackage, hashes: FilesDirHashCache, policy: LocalSourcePolicy): string {
  const parts: string[] = [];
  const urls = [...(pkg.url && pkg.pin?.kind !== 'dir' ? [pkg.url] : []), ...pkg.extraSources.map((e) => e.url)];
  for (const url of urls) {
    if (url.checksums.length > 0) continue;
    for (const address of [url.src, ...url.mirrors]) {
      const where = sourceLocation(address);
      if (where.kind === 'remote') continue;
      const verdict = policy.verdict(address);
      if (verdict.kind !== 'allowed') parts.push(`refused\0${address}`);
      else if (where.vcs === 'git') parts.push(`git\0${address}\0${hashes.gitCommit(verdict.path, where.fragment)}`);
      else parts.push(`local\0${address}\0${hashes.localSource(verdict.path)}`);
    }
  }
  return parts.join('\0');
}

/** A full commit hash as a git fragment (`#<40 hex>`): the address names its content. */
const COMMIT_FRAGMENT = /#[0-9a-f]{40}(?:[0-9a-f]{24})?$/i;

/**
 * Whether a package has a remote source without a checksum: what it gets is only known once fetched,
 * so its key cannot cover it and its result (and those built on it) must not stand for a later run.
 * A git address at a full commit hash names its content, and is not such a source.
 */
export function hasUnverifiableSource(pkg: OpamPackage): boolean {
  const urls = [...(pkg.url ? [pkg.url] : []), ...pkg.extraSources.map((e) => e.url)];
  return urls.some(
    (u) =>
      u.checksums.length === 0 &&
      [u.src, ...u.mirrors].some((a) => sourceLocation(a).kind === 'remote' && !(/^git(\+|:)/.test(a) && COMMIT_FRAGMENT.test(a))),
  );
}
