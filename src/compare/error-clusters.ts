/**
 * Failure clustering: the first error of each failed log, normalised so that the same cause in different
 * packages reads the same ("Unbound module Stream" once, with its forty packages).
 */
import { OWN_FAILURE_STATUSES, type PackageRunResult } from '../results/taxonomy.js';
import { MISSING_SYSTEM_PACKAGES } from '../build/system-packages.js';

/** Errors that name the cause itself; the first one in the log wins. */
const STRONG_ERROR_PATTERNS: RegExp[] = [
  // OCaml compiler / dune / ocamlfind-ppx errors, including warnings turned into errors.
  /^\s*Error(?: \(warning [^)]*\))?:/,
  // An uncaught exception in a build-time program (a ppx, a generator, the compiler itself).
  /^\s*Fatal error:/,
  /^\s*ocamlfind: .*(?:not found|[Ee]rror)/,
  // C compilers: `file.c:12:5: error: ...` and `fatal error:`.
  /:\d+(?::\d+)?: (?:fatal )?error: /,
  /^\s*(?:gcc|cc|clang): (?:fatal )?error: /,
  // Linkers.
  /(?:^|\/|\s)ld(?:\.\w+)?: /,
  /undefined reference to /,
  /^\s*Undefined symbols for architecture/,
  // A missing tool.
  /command not found\s*$/,
  /^(?:\/bin\/)?(?:ba|da)?sh: (?:\d+: |line \d+: )?[^:]+: not found\s*$/,
  // configure scripts.
  /^\s*configure: error: /,
];

/** Generic failure lines that only say that something failed; used when nothing better is found. */
const WEAK_ERROR_PATTERNS: RegExp[] = [
  // make: `make[2]: *** [Makefile:12: all] Error 2`
  /^\s*g?make(?:\[\d+\])?: \*\*\* /,
  // opam's own messages.
  /^\s*\[ERROR\] /,
  /^\s*opam: /,
];

/** Lines that are decoration, never an error by themselves. */
/** Linker context lines (`ld: foo.a(x.o): in function `f':`): the error follows on the next line. */
function isContext(line: string): boolean {
  return /: in function [`'‘]/.test(line) || /: (?:In function|At top level)/.test(line);
}

/**
 * ecocheck's own log lines (the builder's `# ...` notes and final `# build-failed: ... (12 ms)` line, the
 * process runner's `$ command` headers and `[exit code 2 after 1.2 s]` trailers): used only when the log
 * has nothing else to show.
 */
function isEcocheckAnnotation(line: string): boolean {
  return /^\s*(?:##? |\$ )/.test(line) || /^\s*\[[^\]]* after [^\]]*\]\s*$/.test(line) || /^\s*\[not started[^\]]*\]\s*$/.test(line);
}

function isDecoration(line: string): boolean {
  return /^\s*(?:#=+|<><>|\+-|#\s*$|\|\s*$|###)/.test(line) || /^\s*#\s+(?:context|path|command|exit-code|env-file|output-file)\s/.test(line);
}

/** Lines of the log, with opam's `# ` prefix removed from the build output it quotes. */
function logLines(logTail: string): string[] {
  const raw = logTail.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let quotedOutput = false;
  for (const line of raw) {
    if (/^\s*### output ###/.test(line)) {
      quotedOutput = true;
      continue;
    }
    if (quotedOutput && /^#=+/.test(line)) quotedOutput = false;
    out.push(quotedOutput && line.startsWith('#') ? line.replace(/^# ?/, '') : line);
  }
  return out;
}

/**
 * The first error of a build log: the system packages the build lacked (the builder's note), else the
 * first line naming a cause (OCaml `Error:`, a C compiler or linker
 * error, a missing command, an uncaught exception, configure's error); failing that, the first make or
 * opam failure line; failing that, the last non-empty line. Null for an empty log.
 * An `Error:` with nothing after it is joined with the next line.
 */
export function firstError(logTail: string): string | null {
  const found = findFirstError(logLines(logTail));
  return found === null || found.length <= MAX_ERROR_LENGTH ? found : `${found.slice(0, MAX_ERROR_LENGTH - 1)}…`;
}

/** Longest first error kept: enough for any real message, short enough to normalise and show. */
const MAX_ERROR_LENGTH = 400;

function findFirstError(lines: string[]): string | null {
  // Missing system packages come first: their own bin, whatever error they then caused.
  const depexts = lines.find((l) => l.startsWith(`# ${MISSING_SYSTEM_PACKAGES}`));
  if (depexts !== undefined) return depexts.slice(2).trim();
  const found = (patterns: RegExp[]): string | null => {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (isContext(line) || !patterns.some((p) => p.test(line))) continue;
      let text = line.trim();
      if (/:$/.test(text) && i + 1 < lines.length && lines[i + 1].trim() !== '') text = `${text} ${lines[i + 1].trim()}`;
      return text;
    }
    return null;
  };
  const strong = found(STRONG_ERROR_PATTERNS);
  if (strong !== null) return strong;
  const weak = found(WEAK_ERROR_PATTERNS);
  if (weak !== null) return weak;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (line !== '' && !isDecoration(line) && !isEcocheckAnnotation(line)) return line;
  }
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (line !== '' && !isDecoration(line)) return line;
  }
  return null;
}

const TEMP_NAME_PREFIX = /^(?:caml|tmp|temp|ocaml|build_|dune_|opam-)/i;

/**
 * Normalises an error line so that identical causes group: temp dirs become `<tmp>`, build-store paths
 * `<store>`, opam switch prefixes `<opam>`, other absolute directories `<dir>` (the file name stays);
 * line, column and character positions become `<n>`; hex hashes of 7 or more characters `<hash>`;
 * numbers inside temp names `<n>`; runs of white space one space.
 */
export function normaliseError(s: string): string {
  let t = s.trim().replace(/\s+/g, ' ');
  // Temp dirs (the whole path: everything below a temp dir is per-build).
  t = t.replace(/(?:\/private)?\/(?:tmp|var\/tmp|var\/folders)(?:\/[^\s'"`:,;()\[\]]*)?/g, '<tmp>');
  // Build stores (Nix, Guix) keep the file part after the hashed directory.
  t = t.replace(/\/(?:nix|gnu)\/store\/[^\s'"`:,;()\[\]\/]+/g, '<store>');
  // opam switches: `~/.opam/5.1.0/...`, `/home/u/.opam/default/...`, local `_opam/...`.
  t = t.replace(/(?:~|\/[^\s'"`:,;()\[\]]*?)?\/\.opam\/[^\s'"`:,;()\[\]\/]+/g, '<opam>');
  t = t.replace(/(?:\/[^\s'"`:,;()\[\]]*)?\/_opam\b/g, '<opam>');
  // Other absolute paths: keep the file name, drop the directories.
  t = t.replace(/(^|[\s'"`(=\[])\/(?:[^\s'"`:,;()\[\]\/]+\/)+(?=[^\s'"`:,;()\[\]\/]*)/g, '$1<dir>/');
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
  t = t.replace(/(\.[A-Za-z0-9]+|Makefile|<tmp>|\w):\d+(?::\d+)?(?=[:\s]|$)/g, (m, pre: string) => `${pre}${m.slice(pre.length).replace(/\d+/g, '<n>')}`);
  // Hashes: hex runs of 7+ characters with at least one digit.
  t = t.replace(/\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{7,}\b/g, '<hash>');
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

/** What a result's log says first, falling back to the recorded reason. */
export function resultFirstError(r: Pick<PackageRunResult, 'logTail' | 'reason' | 'status'>): string {
  return firstError(r.logTail) ?? (r.reason.trim() !== '' ? r.reason.trim() : `(${r.status}, no log)`);
}

/**
 * Groups failing entries by normalised first error; largest cluster first, then by signature.
 * `key` names each entry in the clusters' package lists.
 */
export function clusterEntries<T>(entries: T[], key: (e: T) => string, result: (e: T) => PackageRunResult): ErrorCluster[] {
  const bySignature = new Map<string, { example: string; exampleKey: string; packages: string[] }>();
  for (const e of entries) {
    const first = resultFirstError(result(e));
    const signature = normaliseError(first);
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
