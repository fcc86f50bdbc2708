/**
 * Failure clustering: the first error of each failed build, normalised so that the same cause in different
 * packages reads the same ("Unbound module Stream" once, with its forty packages).
 *
 * The first error and the missing system packages are the builder's verdicts, recorded as data with each
 * result (`firstError`, `missingSystemPackages`); nothing here reads them back from the log.
 */
import { OWN_FAILURE_STATUSES, type PackageRunResult } from '../results/taxonomy.js';

/** How a failure with missing system packages reads: their own bin, whatever error they then caused. */
export const MISSING_SYSTEM_PACKAGES_ERROR = 'missing system packages (depexts):';

const TEMP_NAME_PREFIX = /^(?:caml|tmp|temp|ocaml|build_|dune_|opam-)/i;

/**
 * Normalises an error line so that identical causes group: temp dirs become `<tmp>`, build-store paths
 * `<store>`, opam switch prefixes `<opam>`, other absolute directories `<dir>` (the file name stays);
 * line, column and character positions become `<n>`; hex hashes of 7 or more characters `<hash>`;
 * numbers inside temp names `<n>`; runs of white space one space.
 */
export function normaliseError(s: string): string {
  let t = s.trim().replace(/\s+/g, ' ');
  // How compiler versions quote names: OCaml 5 `Unbound module "Stream"`, OCaml 4 `Unbound module Stream`
  // or `` The value `compare' ``, gcc `‘caml_young_start’`: the name is what counts.
  t = t.replace(/[‘’]/g, "'");
  // OCaml 5.2+ quotes a type too, spaces and all (`has type "'a option"`; 4.x: `has type 'a option`).
  t = t.replace(/\b([Tt]ype) "([^"]+)"/g, '$1 $2');
  t = t
    .replace(/"([^"\s/]+)"/g, '$1')
    .replace(/\b(Cannot find file )"([^"\s]+)"/g, '$1$2')
    .replace(/(?<!reference to )`([A-Za-z_][\w.']*)'/g, '$1');
  // Warnings as errors: the number says which; the name after it is only printed by OCaml 4.12+.
  t = t.replace(/^Error \(warning (\d+) \[[^\]]*\]\)/, 'Error (warning $1)');
  // A linker's missing symbol: the object file and section it was referenced from are the package's.
  t = t.replace(/^.*?\bundefined reference to ([`'][^`']+')/, '<loc>: undefined reference to $1');
  // A missing command, as dash (`sh: 1: X: not found`) and bash (`bash: line 1: X: command not found`) say it.
  t = t.replace(/^(?:\/bin\/)?(?:ba|da)?sh: (?:\d+: |line \d+: )?([^:\s]+): (?:command )?not found$/, 'command not found: $1');
  // Weak type variables are numbered per compilation.
  t = t.replace(/'_weak\d+/g, "'_weak<n>");
  // Temp dirs (the whole path: everything below a temp dir is per-build).
  t = t.replace(/(?:\/private)?\/(?:tmp|var\/tmp|var\/folders)(?:\/[^\s'"`:,;()[\]]*)?/g, '<tmp>');
  // Build stores (Nix, Guix) keep the file part after the hashed directory.
  t = t.replace(/\/(?:nix|gnu)\/store\/[^\s'"`:,;()[\]/]+/g, '<store>');
  // opam switches: `~/.opam/5.1.0/...`, `/home/u/.opam/default/...`, local `_opam/...`.
  t = t.replace(/(?:~|\/[^\s'"`:,;()[\]]*?)?\/\.opam\/[^\s'"`:,;()[\]/]+/g, '<opam>');
  t = t.replace(/(?:\/[^\s'"`:,;()[\]]*)?\/_opam\b/g, '<opam>');
  // Other absolute paths: keep the file name, drop the directories.
  t = t.replace(/(^|[\s'"`(=[])\/(?:[^\s'"`:,;()[\]/]+\/)+(?=[^\s'"`:,;()[\]/]*)/g, '$1<dir>/');
  // A compiler or linker location prefix (`stubs.c:12:5: error:`, `gmp.c:(.text+0x1f3): undefined reference`)
  // names the package's own file: the message after it is the cause.
  t = t.replace(/^[^\s:'"`]+\.(?:c|h|cc|cpp|cxx|s|S|o|a|so)(?::\d+(?::\d+)?|:\([^)]*\))+: /, '<loc>: ');
  t = t.replace(/\b0x[0-9a-fA-F]+\b/g, '<addr>');
  // Durations (`(1234 ms)`, `after 12.5 s`) of ecocheck's own log lines.
  t = t.replace(/\((\d+(?:\.\d+)?) ?(?:ms|s|min)\)/g, '(<time>)');
  t = t.replace(/\b(after|in) \d+(?:\.\d+)? ?(?:ms|s|min|h)\b/g, '$1 <time>');
  // Positions: OCaml's `line 3, characters 4-10`, `lines 3-5`, and `file:12:5:`.
  t = t.replace(/\blines? \d+(?:-\d+)?/g, (m) => m.replace(/\d+/g, '<n>'));
  t = t.replace(/\bcharacters? \d+(?:-\d+)?/g, (m) => m.replace(/\d+/g, '<n>'));
  t = t.replace(/\bcolumns? \d+(?:-\d+)?/g, (m) => m.replace(/\d+/g, '<n>'));
  t = t.replace(
    /(\.[A-Za-z0-9]+|Makefile|<tmp>|\w):\d+(?::\d+)?(?=[:\s]|$)/g,
    (m, pre: string) => `${pre}${m.slice(pre.length).replace(/\d+/g, '<n>')}`,
  );
  // A C compiler's location in a temp dir (dune-configurator's probes): the message after it is the cause.
  t = t.replace(/^<tmp>(?::<n>)+: /, '<loc>: ');
  // Hashes: hex runs of 7+ characters with a digit and a letter, or 16+ digits; a run of digits alone
  // is a version (menhir's `20220210`), a size or a count, not a hash.
  t = t.replace(/\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{7,}\b|\b\d{16,}\b/g, '<hash>');
  // Numbers inside temp names (`camlstartup3a1b2c.s`, `build_4f3a2c_dune`).
  t = t.replace(/\b[A-Za-z_][\w-]*\d[\w-]*/g, (word) => {
    if (!TEMP_NAME_PREFIX.test(word)) return word;
    const prefix = /^[A-Za-z_-]+/.exec(word)![0];
    if (!/\d{2,}|[0-9][a-f]|[a-f][0-9]/i.test(word.slice(prefix.length))) return word;
    return `${prefix}<n>`;
  });
  return t;
}

export interface ErrorCluster {
  /** The normalised first error shared by every package of the cluster. */
  signature: string;
  /** The first error as one of the packages (the first by name) printed it. */
  example: string;
  /** Package identifiers, sorted. */
  packages: string[];
}

/**
 * What a result failed with first: for an own failure (build, install) with missing system packages,
 * those packages (the machine's business, binned apart); else the builder's first error; else the
 * recorded reason.
 */
export function resultFirstError(r: Pick<PackageRunResult, 'firstError' | 'missingSystemPackages' | 'reason' | 'status'>): string {
  if (OWN_FAILURE_STATUSES.has(r.status) && r.missingSystemPackages.length > 0)
    return `${MISSING_SYSTEM_PACKAGES_ERROR} ${r.missingSystemPackages.join(' ')}`;
  const first = r.firstError?.trim() ?? '';
  if (first !== '') return first;
  return r.reason.trim() !== '' ? r.reason.trim() : `(${r.status}, no log)`;
}

/**
 * A package printing its own name (`[ERROR] foo.1.0 failed`, `foo.install: no such file`) says the same
 * as another printing its own: the name and version become `<pkg>` and `<version>`. The name alone only
 * when it is long enough not to be a common word, compared case-sensitively (package `stream` leaves
 * `Unbound module Stream` alone).
 */
export function withoutOwnName(signature: string, name: string, version: string): string {
  if (name === '') return signature;
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const edge = (s: string) => `(?<![\\w.-])${s}(?![\\w-])`;
  let t = signature;
  if (version !== '') t = t.replace(new RegExp(edge(`${esc(name)}[.-]${esc(version)}`), 'g'), '<pkg>.<version>');
  if (name.length >= 4) t = t.replace(new RegExp(edge(esc(name)), 'g'), '<pkg>');
  return t;
}

/**
 * Groups failing entries by normalised first error; largest cluster first, then by signature.
 * `key` names each entry in the clusters' package lists.
 */
export function clusterEntries<T>(entries: T[], key: (e: T) => string, result: (e: T) => PackageRunResult): ErrorCluster[] {
  const bySignature = new Map<string, { example: string; exampleKey: string; packages: string[] }>();
  for (const e of entries) {
    const r = result(e);
    const first = resultFirstError(r);
    const signature = withoutOwnName(normaliseError(first), r.name, r.version);
    const k = key(e);
    const cluster = bySignature.get(signature);
    if (cluster === undefined) bySignature.set(signature, { example: first, exampleKey: k, packages: [k] });
    else {
      cluster.packages.push(k);
      if (k < cluster.exampleKey) {
        cluster.exampleKey = k;
        cluster.example = first;
      }
    }
  }
  return [...bySignature.entries()]
    .map(([signature, c]) => ({ signature, example: c.example, packages: c.packages.sort() }))
    .sort((a, b) => b.packages.length - a.packages.length || (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
}

/**
 * Clusters the packages whose own build failed (build-failed, install-failed) by their first error.
 * Other statuses are skipped: a dependency failure's log is its dependency's, and spurious failures
 * (timeouts, fetch errors) say nothing about the package. Packages are named by id (`NAME.VERSION`).
 */
export function clusterFailures(results: PackageRunResult[]): ErrorCluster[] {
  return clusterEntries(
    results.filter((r) => OWN_FAILURE_STATUSES.has(r.status)),
    (r) => r.id,
    (r) => r,
  );
}
