/**
 * Fetching a package's sources (`url` and `extra-source`), the way opam pulls them: the address and
 * then each mirror is tried in turn; a downloaded file is checked against every checksum given and
 * kept in the download cache, which is consulted first (so a cached file needs no network). Supported
 * addresses: `http(s)://`, `file://` (a file or a directory), and `git+…://` (cloned, `#ref` checked out).
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Url } from '../opam/package-model.js';
import { checksumMismatches, checksumToString } from './checksum.js';
import type { DownloadCache } from './download-cache.js';
import { extractInto, ExtractionError, type ToolRunner } from './archive-extraction.js';
import { BuilderError } from './builder-error.js';
import { checkPublicHost, DownloadError, httpDownload } from './http-download.js';
import { isExcludedFromLocalCopy } from '../opam/pin-source.js';
import { confinedRelative, copyRegularFileInto, copyTreeConfined, type ConfinedRoot } from './confined-path.js';

/** The build directory as the copies into it see it: never followed through a link. */
function buildRoot(buildDir: string): ConfinedRoot {
  return { dir: buildDir, label: 'the build directory' };
}

/** Why a source could not be had: the one-line reason, for the `fetch-failed` outcome. */
export class FetchError extends BuilderError {
  constructor(message: string) {
    super(message, 'input');
  }
}

export interface FetchContext {
  cache: DownloadCache;
  /** A scratch directory owned by this fetch (created and removed as needed). */
  scratch: string;
  run: ToolRunner;
  /** Appends one line to the job's log. */
  log: (line: string) => void;
  signal?: AbortSignal;
  /** Limit for one HTTP download. */
  timeoutMs?: number;
  /**
   * opam's `archive-mirrors`: bases (http(s):// or file://) laid out like the download cache
   * (`BASE/<algo>/<2 hex>/<hex>`, e.g. https://opam.ocaml.org/cache), tried after the url and its mirrors.
   */
  archiveMirrors?: string[];
  /**
   * Origins (`http://127.0.0.1:8080`) the user named (`--allow-local-sources`): a source without a checksum
   * may be fetched from them although they are not on the public internet (http-download.ts).
   */
  privateOrigins?: readonly string[];
}

type Scheme = 'http' | 'file' | 'git';

function schemeOf(address: string): Scheme | null {
  if (/^https?:\/\//.test(address)) return 'http';
  if (address.startsWith('file://')) return 'file';
  if (/^git\+[a-z]+:\/\//.test(address) || address.startsWith('git://')) return 'git';
  return null;
}

/** The file name an address designates (its last path segment, without query or fragment). */
export function addressBasename(address: string): string {
  const noFrag = address.replace(/[#?].*$/, '').replace(/\/+$/, '');
  const base = basename(noFrag);
  return base === '' ? 'source' : decodeURIComponent(base);
}

/**
 * Downloads `address` into `dest`. `verified`: what comes is checked against checksums afterwards, so any
 * address may serve it; otherwise only the public internet and the origins the user named (http-download.ts).
 */
async function download(address: string, dest: string, ctx: FetchContext, verified: boolean): Promise<void> {
  const signals: AbortSignal[] = [];
  if (ctx.signal) signals.push(ctx.signal);
  if (ctx.timeoutMs) signals.push(AbortSignal.timeout(ctx.timeoutMs));
  const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;
  try {
    await httpDownload({ address, dest, signal, privateOrigins: verified ? null : (ctx.privateOrigins ?? []) });
  } catch (e) {
    if (e instanceof DownloadError) throw new FetchError(e.message);
    throw e;
  }
}

/** Produces the file behind a file-like address into `dest` (http download or local copy). */
async function obtainFile(address: string, dest: string, ctx: FetchContext, verified: boolean): Promise<void> {
  const scheme = schemeOf(address);
  if (scheme === 'http') return download(address, dest, ctx, verified);
  if (scheme === 'file') {
    const path = fileURLToPath(address.replace(/#.*$/, ''));
    if (!existsSync(path)) throw new FetchError(`${address}: no such file`);
    // A regular file only (a FIFO would block, a device is not a source): UnsafePathError otherwise.
    copyRegularFileInto(path, { dir: dirname(dest), label: 'the fetch directory' }, basename(dest));
    return;
  }
  throw new FetchError(`${address}: unsupported address for a file source`);
}

/** Finds or downloads the file for `url`, verified; returns its path (in the cache or the scratch dir). */
async function verifiedFile(url: Url, ctx: FetchContext, what: string): Promise<string> {
  if (url.checksums.length > 0) {
    const cached = await ctx.cache.lookup(url.checksums);
    if (cached) {
      ctx.log(`${what}: ${url.src} found in the download cache (${checksumToString(url.checksums[0])})`);
      return cached;
    }
  }
  const errors: string[] = [];
  const archiveAddresses = (ctx.archiveMirrors ?? []).flatMap((base) =>
    url.checksums.map((c) => `${base.replace(/\/+$/, '')}/${c.algorithm}/${c.hex.toLowerCase().slice(0, 2)}/${c.hex.toLowerCase()}`),
  );
  for (const address of [url.src, ...url.mirrors, ...archiveAddresses]) {
    if (ctx.signal?.aborted) throw new FetchError(`${address}: aborted`);
    mkdirSync(ctx.scratch, { recursive: true });
    const dest = join(ctx.scratch, `download-${addressBasename(address)}`);
    rmSync(dest, { recursive: true, force: true });
    try {
      ctx.log(`${what}: fetching ${address}`);
      await obtainFile(address, dest, ctx, url.checksums.length > 0);
      if (!statSync(dest).isFile()) throw new FetchError(`${address}: not a file`);
      const bad = await checksumMismatches(dest, url.checksums);
      if (bad.length > 0) {
        throw new FetchError(
          `checksum mismatch for ${address}: expected ${checksumToString(bad[0].expected)}, got ${bad[0].expected.algorithm}=${bad[0].actual}`,
        );
      }
      if (url.checksums.length > 0) ctx.cache.store(dest, url.checksums);
      return dest;
    } catch (e) {
      if (!(e instanceof FetchError)) throw e;
      ctx.log(`${what}: ${e.message}`);
      errors.push(e.message);
    }
  }
  // The url's own failure says most; the mirrors' are in the log.
  throw new FetchError(errors[0] ?? `${url.src}: cannot fetch`);
}

/** `git+file:///path#ref`: clones into `dest` (a fresh directory) and checks out `ref` when given. */
async function cloneGit(address: string, dest: string, ctx: FetchContext): Promise<void> {
  const hash = address.indexOf('#');
  const ref = hash >= 0 ? address.slice(hash + 1) : null;
  const remote = (hash >= 0 ? address.slice(0, hash) : address).replace(/^git\+/, '');
  ctx.log(`source: cloning ${remote}${ref ? ` at ${ref}` : ''}`);
  // A network remote at anything but a full commit hash is content nobody verified: the public internet
  // only, as a download without a checksum (http-download.ts), and no redirect followed.
  const unverified = !/^[0-9a-f]{40}([0-9a-f]{24})?$/i.test(ref ?? '') && !remote.startsWith('file:');
  if (unverified) {
    let url: URL | null = null;
    try {
      url = new URL(remote);
    } catch {
      // scp-like `host:path`: no origin to check or name
    }
    if (url === null)
      throw new FetchError(`${address}: not a URL: a git source without a full commit hash must be a URL (its host is checked)`);
    try {
      await checkPublicHost(url, ctx.privateOrigins ?? []);
    } catch (e) {
      if (e instanceof DownloadError) throw new FetchError(e.message);
      throw e;
    }
  }
  const clone = await ctx.run(
    ['git', ...(unverified ? ['-c', 'http.followRedirects=false'] : []), 'clone', '--quiet', '--no-checkout', remote, dest],
    ctx.scratch,
  );
  if (clone.exitCode !== 0) throw new FetchError(`${address}: git clone exited with ${clone.signal ?? clone.exitCode}`);
  const checkout = await ctx.run(['git', '-c', 'advice.detachedHead=false', 'checkout', '--quiet', ref ?? 'HEAD'], dest);
  if (checkout.exitCode !== 0) {
    throw new FetchError(`${address}: git checkout ${ref ?? 'HEAD'} exited with ${checkout.signal ?? checkout.exitCode}`);
  }
  rmSync(join(dest, '.git'), { recursive: true, force: true });
}

/**
 * A local directory source (`file://DIR`, a pinned checkout): copied as opam's rsync does, without
 * `.git`, `_darcs`, `.hg`, `.#*`, `_opam*` and `_build` at any depth (`opam/pin-source.ts`), so a build
 * in the checkout never leaks into the build. A git checkout is copied as its working tree, uncommitted
 * edits included (`opam pin add --kind=path`; opam's default for a git directory is its committed
 * HEAD: pin `git+file://DIR#REF` for that). Symbolic links are copied as links with their target as
 * written (opam's rsync `-L` copies what they point to instead): that is what the job key hashes
 * (`plan/files-hash.ts`), so the key covers exactly what the build is given. No link is followed, in
 * the directory or in the build directory, and FIFOs, sockets and devices are refused (UnsafePathError).
 */
export function copyLocalDirectory(path: string, buildDir: string): void {
  copyTreeConfined(path, buildRoot(buildDir), '', (_rel, name) => !isExcludedFromLocalCopy(name));
}

/** Fetches the package's `url` source and unpacks it into `buildDir`. Throws FetchError. */
export async function fetchSourceInto(url: Url, buildDir: string, ctx: FetchContext): Promise<void> {
  const scheme = schemeOf(url.src);
  if (scheme === null) throw new FetchError(`${url.src}: unsupported source address`);
  mkdirSync(ctx.scratch, { recursive: true });
  if (scheme === 'git') {
    const checkout = join(ctx.scratch, 'git');
    await cloneGit(url.src, checkout, ctx);
    // The checkout is the package's: its links are copied as links, never followed.
    copyTreeConfined(checkout, buildRoot(buildDir));
    rmSync(checkout, { recursive: true, force: true });
    return;
  }
  if (scheme === 'file') {
    const path = fileURLToPath(url.src.replace(/#.*$/, ''));
    if (existsSync(path) && statSync(path).isDirectory()) {
      ctx.log(`source: copying directory ${path}`);
      copyLocalDirectory(path, buildDir);
      return;
    }
  }
  const file = await verifiedFile(url, ctx, 'source');
  try {
    const kind = await extractInto(file, buildDir, join(ctx.scratch, 'extract'), ctx.run, addressBasename(url.src));
    ctx.log(`source: unpacked ${addressBasename(url.src)} (${kind})`);
  } catch (e) {
    if (e instanceof ExtractionError) throw new FetchError(e.message);
    throw e;
  }
}

/** Fetches an `extra-source` and saves it, unpacked or not, as `buildDir/name`. Throws FetchError. */
export async function fetchExtraSourceInto(name: string, url: Url, buildDir: string, ctx: FetchContext): Promise<void> {
  const file = await verifiedFile(url, ctx, `extra-source ${name}`);
  const build = buildRoot(buildDir);
  try {
    if (confinedRelative(build, name) === '') throw new Error();
  } catch {
    throw new FetchError(`extra-source ${name}: name escapes the build directory`);
  }
  // The unpacked sources may hold links: none is followed on the way to `name` (UnsafePathError).
  copyRegularFileInto(file, build, name);
}
