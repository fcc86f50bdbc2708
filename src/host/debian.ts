/**
 * Debian and Ubuntu: apt and dpkg, asked as opam 2.1 asks them (`OpamSysInteract.packages_status`,
 * Debian case):
 * - `apt-cache search --names-only --full '^(a|b|…)$'` prints the record of every package that has a
 *   candidate and whose name, or a name it provides, is one asked: its `Package:` is available, and so
 *   is each name of its `Provides:` (virtual packages with a provider);
 * - `dpkg-query` tells which of the names asked, and of the packages providing them, are installed
 *   (status `ii`); a name provided by an installed package is installed too.
 * A name neither installed nor available is not found: no candidate. Both queries run once for all the
 * names not yet known (with LC_ALL=C), and answers are kept for the process, and between processes
 * while apt's and dpkg's state stays the same (./answer-store.ts).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SystemPackageError, type SystemPackageManager, type SystemPackageStatus } from './package-manager.js';
import { loadAnswers, saveAnswers, stateStamp } from './answer-store.js';

/** The records of `apt-cache search --full`: the package names, and the names each one provides. */
export interface AptSearchResult {
  available: Set<string>;
  provides: Map<string, string[]>;
}

/** Reads `apt-cache search --names-only --full` output as opam does (`Package:` and `Provides:` lines). */
export function parseAptSearch(text: string): AptSearchResult {
  const available = new Set<string>();
  const provides = new Map<string, string[]>();
  let latest: string | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('Package: ')) {
      latest = line.slice('Package: '.length).trim();
      available.add(latest);
    } else if (line.startsWith('Provides: ')) {
      // `Provides: apt-transport-https (= 2.1.7), foo`: the names, without their versions.
      const names = line
        .slice('Provides: '.length)
        .split(', ')
        .map((s) => s.trim().split(' ')[0])
        .filter((s) => s !== '');
      for (const n of names) available.add(n);
      if (latest !== null) provides.set(latest, [...(provides.get(latest) ?? []), ...names]);
      latest = null;
    }
  }
  return { available, provides };
}

/** Reads `dpkg-query -W -f '${db:Status-Abbrev}\t${Package}\t${Version}\n'`: installed (`ii`) package → version. */
export function parseDpkgInstalled(text: string): Map<string, string> {
  const installed = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [abbrev, pkg, version] = line.split('\t');
    if (pkg === undefined || version === undefined || !/^ii/.test(abbrev)) continue;
    const name = pkg.replace(/:.*$/, ''); // `name:arch`
    const known = installed.get(name);
    // Multi-arch packages installed for several architectures: one version each.
    installed.set(name, known === undefined || known === version ? version : [known, version].sort().join(','));
  }
  return installed;
}

/** opam's regular expression of names: `^(a|b\+\+|c\.d)$` (it escapes `+` and `.`). */
export function namesRegex(names: readonly string[]): string {
  return `^(${names.map((n) => n.replace(/[+.]/g, (c) => `\\${c}`)).join('|')})$`;
}

interface Known {
  status: 'installed' | 'available' | 'notFound';
  version: string | null;
}

/** Classifies `names` from the two queries' answers (opam's `compute_sets_with_virtual`). */
export function classify(
  names: readonly string[],
  search: AptSearchResult,
  installedReal: ReadonlyMap<string, string>,
): Map<string, Known> {
  const providedBy = new Map<string, string[]>();
  for (const [pkg, provided] of search.provides) {
    for (const v of provided) providedBy.set(v, [...(providedBy.get(v) ?? []), pkg]);
  }
  const out = new Map<string, Known>();
  for (const n of names) {
    const own = installedReal.get(n);
    const providers = (providedBy.get(n) ?? []).filter((p) => installedReal.has(p)).sort();
    if (own !== undefined) out.set(n, { status: 'installed', version: own });
    else if (providers.length > 0)
      out.set(n, { status: 'installed', version: `via ${providers.map((p) => `${p}=${installedReal.get(p)}`).join(' ')}` });
    else out.set(n, { status: search.available.has(n) ? 'available' : 'notFound', version: null });
  }
  return out;
}

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

function run(command: string, args: readonly string[], okCodes: readonly number[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 256 * 1024 * 1024 });
  if (r.error !== undefined) throw new SystemPackageError(`${command}: ${r.error.message}`);
  if (r.status === null || !okCodes.includes(r.status)) {
    const last = r.stderr.trim().split('\n').pop() ?? '';
    throw new SystemPackageError(
      `${command} ${args[0] ?? ''} failed (${r.status === null ? `signal ${r.signal}` : `exit code ${r.status}`})${last !== '' ? `: ${last}` : ''}`,
    );
  }
  return r.stdout;
}

/** What apt's and dpkg's answers depend on: a change to any of these (update, install, removal) drops them. */
const APT_STATE = [
  '/var/lib/dpkg/status',
  '/var/lib/apt/lists',
  '/etc/apt/sources.list',
  '/etc/apt/sources.list.d',
  '/etc/apt/preferences.d',
];

class AptDpkg implements SystemPackageManager {
  readonly name = 'apt';
  private known = new Map<string, Known>();
  private stamp: string | null = null;

  /** `answersFile`: where answers persist between processes (null: this process only). */
  constructor(private readonly answersFile: string | null) {}

  private ask(names: readonly string[]): void {
    if (this.stamp === null) {
      // Answers an earlier process stored for the same state of apt and dpkg.
      this.stamp = stateStamp(APT_STATE);
      this.known = loadAnswers<Known>(this.answersFile, this.name, this.stamp);
    }
    const unknown = [...new Set(names)].filter((n) => !this.known.has(n));
    if (unknown.length === 0) return;
    const search = parseAptSearch(run('apt-cache', ['search', namesRegex(unknown), '--names-only', '--full'], [0]));
    const providers = [...search.provides].filter(([, vs]) => vs.some((v) => unknown.includes(v))).map(([p]) => p);
    const query = [...new Set([...unknown, ...providers])];
    // Exit code 1: some names are not known to dpkg, which is an answer too.
    const installed = parseDpkgInstalled(
      run('dpkg-query', ['-W', '-f', '${db:Status-Abbrev}\t${Package}\t${Version}\n', ...query], [0, 1]),
    );
    for (const [n, k] of classify(unknown, search, installed)) this.known.set(n, k);
    saveAnswers(this.answersFile, this.name, this.stamp, this.known);
  }

  status(names: readonly string[]): SystemPackageStatus {
    this.ask(names);
    const installed = new Set<string>();
    const available = new Set<string>();
    const notFound = new Set<string>();
    for (const n of names) {
      const s = (this.known.get(n) as Known).status;
      (s === 'installed' ? installed : s === 'available' ? available : notFound).add(n);
    }
    return { installed, available, notFound };
  }

  installedVersions(names: readonly string[]): ReadonlyMap<string, string | null> {
    this.ask(names);
    return new Map(names.map((n) => [n, (this.known.get(n) as Known).version]));
  }

  install(names: readonly string[]): void {
    const wanted = [...new Set(names)];
    if (wanted.length === 0) return;
    const apt = ['apt-get', '-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '--no-install-recommends', ...wanted];
    const asRoot = process.getuid?.() === 0;
    const [command, ...args] = asRoot ? apt : ['sudo', '-n', ...apt];
    const r = spawnSync(command, args, {
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
      maxBuffer: 256 * 1024 * 1024,
    });
    this.known.clear();
    // The installation changed dpkg's status: a new stamp, new answers.
    this.stamp = null;
    if (r.error !== undefined)
      throw new SystemPackageError(`${command}: ${r.error.message}${asRoot ? '' : ' (installing system packages needs root or sudo)'}`);
    if (r.status !== 0) {
      const last = (r.stderr.trim() || r.stdout.trim()).split('\n').pop() ?? '';
      throw new SystemPackageError(
        `apt-get install ${wanted.join(' ')} failed (exit code ${r.status ?? `signal ${r.signal}`})${last !== '' ? `: ${last}` : ''}`,
      );
    }
    const still = [...this.status(wanted).available, ...this.status(wanted).notFound];
    if (still.length > 0) throw new SystemPackageError(`apt-get install ${wanted.join(' ')} left ${still.join(' ')} not installed`);
  }
}

/** One apt/dpkg package manager per answers file in this process (each remembers what apt said). */
const instances = new Map<string | null, AptDpkg | null>();

/**
 * The apt/dpkg package manager of this process keeping its answers in `answersFile` (null: in memory
 * only), or null when apt-cache or dpkg-query is missing.
 */
export function debianPackageManager(answersFile: string | null = null): SystemPackageManager | null {
  let m = instances.get(answersFile);
  if (m === undefined) instances.set(answersFile, (m = onPath('apt-cache') && onPath('dpkg-query') ? new AptDpkg(answersFile) : null));
  return m;
}
