/**
 * Which local sources a package may name. A repository package's `url` or `extra-source` (or one of
 * their mirrors) that is a host path — `file://…`, `git+file://…` (any `VCS+file://`), or a plain
 * absolute path — is read by ecocheck itself, as root, before any sandbox: such a source is allowed only
 * when its real path (every symbolic link resolved, so a link inside an allowed folder that points
 * outside is refused) lies inside one of the folders the user named: a pin's folder, a repository
 * passed to ecocheck, a folder of `--allow-local-sources`. A git repository's objects must lie there too
 * (a `.git` file's `gitdir:`, `commondir`, alternates). Everything else is refused before anything of
 * it is read, with a one-line reason naming the address and the flag.
 *
 * It lives in the plan layer because both the job key (which hashes an allowed local source's content,
 * `job-key.ts`) and the builder (which fetches it) apply it; it reads the file system only to resolve
 * links (`realpath`), never a file's content.
 */
import { closeSync, lstatSync, readSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpamPackage } from '../opam/package-model.js';
import { openRegularFileNoFollow } from './regular-file.js';

/** The flag that names more folders (spelled here for the reasons; src/cli/options.ts declares it). */
export const ALLOW_LOCAL_SOURCES_FLAG = '--allow-local-sources';

/** A source address as the policy reads it: remote, or the host path it names (null: not a valid local address). */
export type SourceLocation = { kind: 'remote' } | { kind: 'local'; path: string | null; vcs: string | null; fragment: string | null };

export type LocalSourceVerdict = { kind: 'remote' } | { kind: 'allowed'; path: string } | { kind: 'refused'; reason: string };

const LOCAL_URL = /^(?:([a-z][a-z0-9]*)\+)?file:\/\//i;

/** Where an address points: a host path for `file://`, `VCS+file://` and absolute paths; remote otherwise. */
export function sourceLocation(address: string): SourceLocation {
  const hash = address.indexOf('#');
  const fragment = hash >= 0 ? address.slice(hash + 1) : null;
  const bare = hash >= 0 ? address.slice(0, hash) : address;
  const url = LOCAL_URL.exec(bare);
  if (url !== null) {
    let path: string | null;
    try {
      path = fileURLToPath(bare.slice(url[1] === undefined ? 0 : url[1].length + 1).replace(/\?.*$/, ''));
    } catch {
      path = null; // file://host/…, or an encoded '/': the fetcher could not read it either
    }
    return { kind: 'local', path, vcs: url[1]?.toLowerCase() ?? null, fragment };
  }
  if (bare.startsWith('/')) return { kind: 'local', path: bare, vcs: null, fragment };
  return { kind: 'remote' };
}

/**
 * The real path of `path`: the longest prefix that exists, resolved (`realpath`), and the rest as
 * written (the rest does not exist: nothing can be read through it).
 */
function physicalPath(path: string): string {
  let existing = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(existing), ...rest.reverse());
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return resolve(path);
      rest.push(existing.slice(parent.length).replace(/^\/+/, ''));
      existing = parent;
    }
  }
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The policy for one set of allowed folders (each resolved once to its real path). */
export class LocalSourcePolicy {
  private readonly roots: string[];

  constructor(roots: readonly string[]) {
    this.roots = [...new Set(roots.map(physicalPath))];
  }

  /** The allowed folders, as real paths. */
  get allowedRoots(): readonly string[] {
    return this.roots;
  }

  verdict(address: string): LocalSourceVerdict {
    const where = sourceLocation(address);
    if (where.kind === 'remote') return where;
    if (where.path === null) return { kind: 'refused', reason: `${address}: not a local path ecocheck can read` };
    const real = physicalPath(where.path);
    if (!this.isAllowed(real))
      return {
        kind: 'refused',
        reason: `${address}: a local source outside the folders you named; add ${ALLOW_LOCAL_SOURCES_FLAG} DIR to allow it`,
      };
    // A git repository may keep its objects elsewhere (a `.git` file, `commondir`, alternates, links):
    // a clone would read them, so they must lie inside the folders named too.
    if (where.vcs === 'git' && !gitLocations(real).every((p) => this.isAllowed(physicalPath(p)))) {
      return {
        kind: 'refused',
        reason: `${address}: a git repository whose objects lie outside the folders you named; add ${ALLOW_LOCAL_SOURCES_FLAG} DIR to allow it`,
      };
    }
    return { kind: 'allowed', path: real };
  }

  private isAllowed(real: string): boolean {
    return this.roots.some((r) => isInside(real, r));
  }

  /** The first refusal among a package's sources (its url, extra-sources and their mirrors), or null. */
  refusal(pkg: OpamPackage): string | null {
    for (const address of sourceAddresses(pkg)) {
      const v = this.verdict(address);
      if (v.kind === 'refused') return v.reason;
    }
    return null;
  }

  /** The host paths of a package's allowed local sources as written (what the fetch step may read). */
  allowedPaths(pkg: OpamPackage): string[] {
    const out: string[] = [];
    for (const address of sourceAddresses(pkg)) {
      const where = sourceLocation(address);
      if (where.kind === 'local' && where.path !== null && this.verdict(address).kind === 'allowed') out.push(where.path);
    }
    return [...new Set(out)];
  }
}

/** A small regular file's text (a git pointer file), read without following a link or blocking; '' otherwise. */
function readPointer(path: string): string {
  const fd = openRegularFileNoFollow(path);
  if (fd === null) return '';
  try {
    const buf = Buffer.alloc(64 * 1024);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}

/**
 * The places a clone of the local git repository `dir` reads: its git folder (`dir/.git`, or where a
 * `.git` file's `gitdir:` points; `dir` itself when bare), its `commondir`, their `objects` folders and
 * every alternate object folder they list.
 */
function gitLocations(dir: string): string[] {
  const dotGit = join(dir, '.git');
  let gitDir = dir;
  try {
    const st = lstatSync(dotGit);
    gitDir = dotGit;
    if (st.isFile()) {
      const m = /^gitdir:[ \t]*(.+?)[ \t]*$/m.exec(readPointer(dotGit));
      if (m) gitDir = resolve(dir, m[1]);
    }
  } catch {
    // no .git: a bare repository
  }
  const out = [gitDir];
  const bases = [gitDir];
  const common = readPointer(join(gitDir, 'commondir')).split('\n')[0].trim();
  if (common !== '') {
    out.push(resolve(gitDir, common));
    bases.push(resolve(gitDir, common));
  }
  for (const base of bases) {
    const objects = join(base, 'objects');
    out.push(objects);
    for (const line of readPointer(join(objects, 'info', 'alternates')).split('\n')) {
      const alt = line.trim();
      if (alt !== '' && !alt.startsWith('#')) out.push(resolve(objects, alt));
    }
  }
  return out;
}

/** Every address a package's sources may be fetched from, in the order the fetcher tries them. */
export function sourceAddresses(pkg: OpamPackage): string[] {
  const urls = [...(pkg.url ? [pkg.url] : []), ...pkg.extraSources.map((e) => e.url)];
  return urls.flatMap((u) => [u.src, ...u.mirrors]);
}
