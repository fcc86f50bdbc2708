/**
 * The first error of a failed build: what a maintainer reads to see why a package broke. One extractor,
 * used by the builder for the job's one-line reason and its outcome's `firstError` (the data the report's
 * clusters read), so the two agree; and by the store, once, for records written before that was data.
 *
 * It reads the whole output of the failing command (from the runner's `$ ARGV    # cwd: DIR` start
 * marker to its `[exit code N after T]` trailer), not a fixed tail: a compiler's error is often printed
 * long before make's summary lines. It knows the shapes the OCaml compiler prints across versions
 * (a `File "…", line …:` location then an `Error:` block, possibly wrapped over several lines;
 * warnings turned into errors as `Error (warning N [name]): …` (4.12+) and as `Error (warning N): …` or
 * `Warning N: …` + `Error: Some fatal warnings were triggered` (older); alerts turned into errors), C
 * compilers' and linkers' errors, ocamlfind's and dune's errors, uncaught exceptions, missing commands
 * and configure's errors; and it ignores what is noise: make's own summary (`make: *** […] Error 2`)
 * when anything better is there, non-fatal warnings and alerts, and ocamlfind's "not found" printed by
 * a Makefile's probe while the build went on.
 *
 * Paths inside the switch are shown relative to it, as opam's variables (`%{lib}%/ocaml/unix.cmxa`),
 * and the package's own build directory is dropped: the same error reads the same in every job.
 */
import { MISSING_SYSTEM_PACKAGES } from './system-packages.js';
import { SWITCH_PREFIX } from './switch-layout.js';

/** The builder's log note holding the job's first error, for people reading the log (reports get it as data). */
export const FIRST_ERROR_NOTE = 'first error:';

/** Longest first error kept: enough for any real message, short enough to normalise and show. */
export const MAX_ERROR_LENGTH = 400;

/** Lines of an `Error:` block kept after its first line (the types of a type error, a mismatch's values). */
const MAX_BLOCK_LINES = 5;

const RUNNER_START = /^\$ .*?(?: {4}# cwd: .*)?$/;
const RUNNER_END = /^\[(?:exit code -?\d+|killed by \w+|not started)[^\]]*\]\s*$/;

/**
 * The output of the failing command of a job's log: the lines after the last `$ ` start marker whose
 * command did not end with `[exit code 0 …]` (the last command, if every one succeeded). A text with
 * no marker (a bare compiler output, an older log's tail) is returned whole.
 */
export function failingCommandOutput(log: string): string {
  const lines = log.replace(/\r\n?/g, '\n').split('\n');
  let start = -1;
  let failedStart = -1;
  let failedEnd = -1;
  for (let i = 0; i < lines.length; i++) {
    if (RUNNER_START.test(lines[i])) start = i;
    else if (start >= 0 && RUNNER_END.test(lines[i])) {
      if (!/^\[exit code 0\b/.test(lines[i])) {
        failedStart = start;
        failedEnd = i;
      }
      start = -1;
    }
  }
  if (failedStart >= 0) return lines.slice(withoutRunnerNotes(lines, failedStart + 1), failedEnd).join('\n');
  if (start >= 0) return lines.slice(withoutRunnerNotes(lines, start + 1)).join('\n'); // a command cut off (the log's end)
  return lines.join('\n');
}

/**
 * The runner's notes on how it starts a command (`# sandbox: bwrap, …`, `# memory limit 4 GiB via
 * cgroup v1; …`) come right after its start marker, before anything the command printed: they are not
 * the command's output, and a command that printed nothing (`pkg-config --exists ogg`) has no first error.
 */
const RUNNER_NOTE = /^# (?:sandbox: |(?:no )?(?:memory|process|file size) limit )/;

function withoutRunnerNotes(lines: string[], from: number): number {
  let i = from;
  while (i < lines.length && RUNNER_NOTE.test(lines[i])) i++;
  return i;
}

/** `/home/opam/.opam/default/lib/ocaml/unix.cmxa` → `%{lib}%/ocaml/unix.cmxa`; the build dir goes. */
export function switchRelativeText(s: string): string {
  const prefix = SWITCH_PREFIX.replace(/[.]/g, '\\.');
  return (
    s
      // A layer of the store (a dependency's switch prefix, named by its 64-hex job key) reads like the switch.
      .replace(
        /(?:\/[^\s'"`:,;()/]+)*\/[0-9a-f]{64}\/(lib|bin|sbin|share|doc|etc|man)(?=[/\s'"`:,;)]|$)/g,
        (_m, dir: string) => `%{${dir}}%`,
      )
      // The host side of a job's build directory (`<build root>/NAME.VERSION-XXXXXX/build/`).
      .replace(/(?:\/[^\s'"`:,;()/]+)*\/[A-Za-z0-9][\w+~-]*\.[^\s'"`:,;()/]*-[A-Za-z0-9]{6}\/build\//g, '')
      .replace(new RegExp(`${prefix}/\\.opam-switch/build/[^/\\s'"\`]+/`, 'g'), '')
      .replace(
        new RegExp(`${prefix}/(lib|bin|sbin|share|doc|etc|man|stublibs|toplevel)(?=[/\\s'"\`:,;)]|$)`, 'g'),
        (_m, dir: string) => `%{${dir}}%`,
      )
      .replace(new RegExp(`${prefix}(?=[/\\s'"\`:,;)]|$)`, 'g'), '%{prefix}%')
  );
}

/** Lines of a log, with opam's `# ` prefix removed from the build output it quotes. */
function logLines(text: string): string[] {
  const raw = text.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let quoted = false;
  for (const line of raw) {
    if (/^\s*### output ###/.test(line)) {
      quoted = true;
      continue;
    }
    if (quoted && /^#=+/.test(line)) quoted = false;
    const unquoted = quoted && line.startsWith('#') ? line.replace(/^# ?/, '') : line;
    // dune quotes an action's output (dune-configurator's C probes) as ` | LINE`.
    out.push(unquoted.replace(/^\s*\| (?=\S)/, ''));
  }
  return out;
}

/** Messages that name the cause; the first one in the output wins. */
const STRONG: RegExp[] = [
  // OCaml compiler, dune, ppx drivers: `Error: …`, `Error (warning 32 [unused-value-declaration]): …`,
  // `Error (alert deprecated): …`.
  /^\s*Error(?: \((?:warning|alert) [^)]*\))?:/,
  // An uncaught exception in a build-time program (a ppx, a generator, the compiler itself).
  /^\s*Fatal error:/,
  /^\s*Uncaught exception:/,
  // C compilers: `file.c:12:5: error: …` and `fatal error:`.
  /:\d+(?::\d+)?: (?:fatal )?error: /,
  /^\s*(?:gcc|cc|clang|cc1): (?:fatal )?error: /,
  // Linkers.
  /undefined reference to /,
  /(?:^|\/|\s)ld(?:\.\w+)?: (?!warning: )(?!.*: in function )/,
  /^\s*Undefined symbols for architecture/,
  // A missing tool.
  /command not found\s*$/,
  /^(?:\/bin\/)?(?:ba|da)?sh: (?:\d+: |line \d+: )?[^:]+: not found\s*$/,
  // configure scripts, and tools saying `NAME: error: …` (autoreconf, collect2 after the linker's own line).
  /^\s*configure: error: /,
  /^[\w.+-]+: error: /,
  // pkg-config asked for a library the system lacks.
  /^\s*Package .* was not found in the pkg-config search path/,
  // patch: the first hunk that did not apply, a malformed patch, a missing file.
  /^Hunk #\d+ FAILED/,
  /^(?:patch: )?\*\*\*\* /,
  /^can't find file to patch/,
  // The sandbox could not start the command.
  /^\s*bwrap: execvp .*: No such file or directory/,
];

/**
 * Messages that may be the cause or a probe's noise (a Makefile asking ocamlfind whether an optional
 * package is there): they count only when nothing but make's summary follows them.
 */
const LAST_WORD: RegExp[] = [/^\s*ocamlfind: .*(?:not found|[Ee]rror)/];

/** Lines that only say that something failed: used when nothing better is found. */
const WEAK: RegExp[] = [/^\s*g?make(?:\[\d+\])?: \*\*\* /, /^\s*\[ERROR\] /, /^\s*opam: /];

/** Lines after the cause that say nothing more: make's summary and directory notes, ecocheck's notes. */
function isTrailingNoise(line: string): boolean {
  const t = line.trim();
  return (
    t === '' ||
    /^g?make(?:\[\d+\])?: (?:\*\*\* |Leaving directory|Entering directory|Target .* not remade)/.test(t) ||
    /^(?:##? |\$ )/.test(t) ||
    RUNNER_END.test(t) ||
    /^Command exited with code \d+\.?$/.test(t)
  );
}

/** Linker context lines (`ld: foo.a(x.o): in function `f':`): the error follows on the next line. */
function isContext(line: string): boolean {
  return (
    /: in function [`'‘]/.test(line) ||
    /: (?:In function|At top level|In file included from)/.test(line) ||
    /^\s*In file included from /.test(line)
  );
}

function isDecoration(line: string): boolean {
  return (
    /^\s*(?:#=+|<><>|\+-|#\s*$|\|\s*$|###)/.test(line) || /^\s*#\s+(?:context|path|command|exit-code|env-file|output-file)\s/.test(line)
  );
}

function isEcocheckAnnotation(line: string): boolean {
  return /^\s*(?:##? |\$ )/.test(line) || RUNNER_END.test(line.trim());
}

/**
 * Whether `line` continues an OCaml `Error:` block whose last line so far is `prev`. The compiler
 * indents the rest of a block (`         bytes`, `       Values do not match:`); OCaml 5's
 * pretty-printer also wraps a long line (at 78 columns) without indenting the rest, and an alert's
 * explanation (`Use Bytes.set instead.`) follows its first line unindented. Anything else unindented
 * (ocamlbuild's `Command exited with code 2.`, a command, make's summary) ends the block, as does a line
 * that starts another message or a location.
 */
function continuesBlock(line: string, prev: string, alertExplanation: boolean): boolean {
  const t = line.trim();
  if (t === '') return false;
  if (/^File "/.test(t) || /^(?:Error|Warning|Alert|Hint|Fatal error|Called from|Raised at|Re-raised at)\b/.test(t)) return false;
  if (/^\d+ \|/.test(t) || /^\|/.test(t) || /^\^+$/.test(t)) return false; // a source excerpt
  if (/^g?make(?:\[\d+\])?:/.test(t) || /^\(cd /.test(t) || /^\+ /.test(t) || isEcocheckAnnotation(t)) return false;
  if (/^\s/.test(line)) return true;
  return alertExplanation || prev.trimEnd().length >= 70;
}

/** An `Error:` line and the rest of its block, joined with single spaces. */
function errorBlock(lines: string[], i: number): string {
  const parts = [lines[i].trim()];
  const alert = /^\s*Error \(alert /.test(lines[i]);
  for (
    let j = i + 1;
    j < lines.length && parts.length <= MAX_BLOCK_LINES && continuesBlock(lines[j], lines[j - 1], alert && j === i + 1);
    j++
  ) {
    parts.push(lines[j].trim());
  }
  // An empty `Error:` (a block that starts on the next line) keeps the next line whatever it looks like.
  if (parts.length === 1 && /:$/.test(parts[0]) && i + 1 < lines.length && lines[i + 1].trim() !== '') parts.push(lines[i + 1].trim());
  return parts.join(' ');
}

/**
 * Pre-4.12 fatal warnings: the compiler prints `Warning 26: unused variable y.` and, at the end,
 * `Error: Some fatal warnings were triggered (1 occurrences)`: the warning is the cause.
 */
function fatalWarning(lines: string[], errorIndex: number): string | null {
  if (!/^\s*Error: Some fatal warnings were triggered/.test(lines[errorIndex])) return null;
  for (let j = 0; j < errorIndex; j++) {
    const m = /^\s*Warning (\d+)(?: \[[^\]]*\])?: ?(.*)$/.exec(lines[j]);
    if (m === null) continue;
    const rest = [m[2].trim()];
    for (let k = j + 1; k < errorIndex && rest.length <= MAX_BLOCK_LINES && continuesBlock(lines[k], lines[k - 1], false); k++)
      rest.push(lines[k].trim());
    return `Error (warning ${m[1]}): ${rest.filter((r) => r !== '').join(' ')}`;
  }
  return null;
}

function findFirstError(lines: string[]): string | null {
  // Missing system packages come first: their own bin, whatever error they then caused.
  const depexts = lines.find((l) => l.startsWith(`# ${MISSING_SYSTEM_PACKAGES}`));
  if (depexts !== undefined) return depexts.slice(2).trim();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (isContext(line) || !STRONG.some((p) => p.test(line))) continue;
    if (/^\s*Error\b/.test(line)) return fatalWarning(lines, i) ?? errorBlock(lines, i);
    let text = line.trim();
    if (/:$/.test(text) && i + 1 < lines.length && lines[i + 1].trim() !== '') text = `${text} ${lines[i + 1].trim()}`;
    return text;
  }
  for (let i = 0; i < lines.length; i++) {
    if (!LAST_WORD.some((p) => p.test(lines[i]))) continue;
    if (lines.slice(i + 1).every((l) => isTrailingNoise(l) || LAST_WORD.some((p) => p.test(l)))) return lines[i].trim();
  }
  const weak = lines.find((l) => WEAK.some((p) => p.test(l)));
  if (weak !== undefined) return weak.trim();
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

function clip(s: string): string {
  return s.length <= MAX_ERROR_LENGTH ? s : `${s.slice(0, MAX_ERROR_LENGTH - 1)}…`;
}

/**
 * The first error of a command's output (or of a log excerpt without runner markers), on one line,
 * switch paths relative to the switch. Null for an empty text.
 */
export function extractFirstError(output: string): string | null {
  const found = findFirstError(logLines(output));
  return found === null ? null : clip(switchRelativeText(found.replace(/\s+/g, ' ').trim()));
}

/**
 * The first error of a job's log: the builder's own note if it wrote one (`# first error: …`), else
 * the missing system packages note, else the first error of the failing command's output.
 */
export function firstErrorOfLog(log: string): string | null {
  const lines = log.replace(/\r\n?/g, '\n').split('\n');
  const depexts = lines.find((l) => l.startsWith(`# ${MISSING_SYSTEM_PACKAGES}`));
  if (depexts !== undefined) return clip(depexts.slice(2).trim());
  const note = lines.find((l) => l.startsWith(`# ${FIRST_ERROR_NOTE} `));
  if (note !== undefined) return note.slice(`# ${FIRST_ERROR_NOTE} `.length).trim();
  const fromCommand = extractFirstError(failingCommandOutput(log));
  return fromCommand ?? (hasFailedCommand(lines) ? null : extractFirstError(log));
}

/** Whether a log shows a command that failed (`$ …` then a non-zero `[exit code N …]`): its output is the whole story. */
function hasFailedCommand(lines: string[]): boolean {
  let started = false;
  for (const line of lines) {
    if (RUNNER_START.test(line)) started = true;
    else if (started && RUNNER_END.test(line)) {
      if (!/^\[exit code 0\b/.test(line)) return true;
      started = false;
    }
  }
  return false;
}

/** What a build recorded as data, read back from its log: for records written before it was kept as data. */
export interface LogVerdicts {
  /** The first error, missing system packages aside (they are `missingSystemPackages`). */
  firstError: string | null;
  /** From the builder's `# missing system packages (depexts): X Y` note; empty without one. */
  missingSystemPackages: string[];
}

/**
 * The builder's verdicts as an older job's log (or its stored tail) holds them: the missing system
 * packages from their note, the first error from the `# first error:` note, else from the failing
 * command's output. Used once, by the store, to fill in records written before they were data.
 */
export function verdictsOfLog(log: string): LogVerdicts {
  const lines = log.replace(/\r\n?/g, '\n').split('\n');
  const marker = `# ${MISSING_SYSTEM_PACKAGES}`;
  const depexts = lines.find((l) => l.startsWith(marker));
  const missingSystemPackages =
    depexts === undefined
      ? []
      : depexts
          .slice(marker.length)
          .trim()
          .split(/\s+/)
          .filter((n) => n !== '');
  const note = lines.find((l) => l.startsWith(`# ${FIRST_ERROR_NOTE} `));
  if (note !== undefined) return { firstError: note.slice(`# ${FIRST_ERROR_NOTE} `.length).trim(), missingSystemPackages };
  const rest = lines.filter((l) => !l.startsWith(marker)).join('\n');
  const restLines = rest.split('\n');
  return {
    firstError: extractFirstError(failingCommandOutput(rest)) ?? (hasFailedCommand(restLines) ? null : extractFirstError(rest)),
    missingSystemPackages,
  };
}
