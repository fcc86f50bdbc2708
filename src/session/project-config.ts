/**
 * The project config file (`ecocheck.json`): the repositories to read and the named compilers
 * (`baseline`, `next`, any other name), so a user can type `ecocheck check --baseline` and
 * `ecocheck check --compiler next` with nothing else.
 *
 *     {
 *       "repositories": ["fixtures/demo"],          // layered, first wins; relative to this file
 *       "compilers": { "baseline": "ocaml-system.4.13.1", "next": "5.3.0" },
 *       "targets": ["pkg", "pkg.1.0"],               // optional; default: latest of every package
 *       "jobs": 2,                                   // optional
 *       "pins": ["fmt=../fmt"],                      // optional: NAME[.VERSION]=DIR|URL, DIR relative to this file
 *       "revdeps": "fmt", "revdepsDepth": 1,         // optional: fmt and what depends on it, as the targets
 *       "allowLocalSources": ["../distfiles"]        // optional: folders file:// sources may be read from, relative to this file
 *     }
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { SessionError } from './session-error.js';
import { parsePin, PinError, type Pin } from '../opam/pin.js';
import { describeError } from '../errors/ecocheck-error.js';
import { JsonShape } from '../errors/json-shape.js';

export const CONFIG_FILE_NAME = 'ecocheck.json';

export interface ProjectConfig {
  /** Absolute path of the file read, or null when there is none. */
  file: string | null;
  repositories: string[];
  compilers: Record<string, string>;
  targets: string[];
  jobs: number | null;
  /** Pins applied to every check of the project (`NAME[.VERSION]=DIR|URL`, DIR relative to the file). */
  pins: Pin[];
  /** Check NAME and the packages depending on it (up to `depth` steps away) instead of `targets`. */
  revdeps: { name: string; depth: number } | null;
  /** Folders (absolute) a package's local sources may be read from, as `--allow-local-sources` (relative to the file). */
  allowLocalSources: string[];
}

const EMPTY: ProjectConfig = {
  file: null,
  repositories: [],
  compilers: {},
  targets: [],
  jobs: null,
  pins: [],
  revdeps: null,
  allowLocalSources: [],
};

/** Turns a character offset into a 1-based line and column. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = /at position (\d+)/.exec(message);
    const pos = at ? lineColumn(text, Number(at[1])) : { line: 1, column: 1 };
    const detail = message.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, '');
    throw new SessionError(`${file}:${pos.line}:${pos.column}: invalid JSON: ${detail}`);
  }
}

const KNOWN_FIELDS = [
  'repositories',
  'compilers',
  'targets',
  'jobs',
  'pins',
  'revdeps',
  'revdepsDepth',
  'allowLocalSources',
  '$schema',
  'description',
];

/**
 * The config a command uses: the file given with --config; else `ecocheck.json` in `cwd`, but only when
 * no --repo was given (a config describes one project: its repositories, targets and compiler names,
 * which mean nothing for other repositories).
 */
export function projectConfigFor(opts: { config?: string; repo: readonly string[] }, cwd: string = process.cwd()): ProjectConfig {
  if (opts.config === undefined && opts.repo.length > 0) return { ...EMPTY };
  return loadProjectConfig(opts.config, cwd);
}

/** Reads `path`, or `ecocheck.json` in `cwd` when no path is given; no file there means an empty config. */
export function loadProjectConfig(path: string | undefined, cwd: string = process.cwd()): ProjectConfig {
  const file = path === undefined ? resolve(cwd, CONFIG_FILE_NAME) : resolve(cwd, path);
  if (!existsSync(file)) {
    if (path !== undefined) throw new SessionError('no such file', 'input', { setting: 'config', value: path });
    return { ...EMPTY };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SessionError(`${file}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
  // The config's shape, field by field, with the checker every JSON file ecocheck reads uses.
  const c = new JsonShape(
    file,
    (f, field, message) => new SessionError(`${f}: ${field === '(top level)' ? 'the config' : `"${field}"`}: ${message}`),
  );
  const obj = c.closedObject(parseJson(text, file), '(top level)', KNOWN_FIELDS);
  const stringList = (field: string) => (obj[field] === undefined ? [] : c.nonEmptyStrings(obj[field], field));
  const base = dirname(file);
  const repositories = stringList('repositories').map((r) => (isAbsolute(r) ? r : resolve(base, r)));
  const compilers: Record<string, string> = obj.compilers === undefined ? {} : { ...c.stringRecord(obj.compilers, 'compilers', true) };
  const jobs = obj.jobs === undefined ? null : c.integer(obj.jobs, 'jobs', 1);
  const pins = stringList('pins').map((text) => {
    try {
      return parsePin(text, base);
    } catch (err) {
      if (err instanceof PinError) throw new SessionError(`${file}: "pins": ${describeError(err)}`);
      throw err;
    }
  });
  let revdeps: ProjectConfig['revdeps'] = null;
  if (obj.revdeps !== undefined) {
    revdeps = {
      name: c.nonEmptyString(obj.revdeps, 'revdeps'),
      depth: obj.revdepsDepth === undefined ? 1 : c.integer(obj.revdepsDepth, 'revdepsDepth', 1),
    };
  } else if (obj.revdepsDepth !== undefined) throw new SessionError(`${file}: "revdepsDepth" goes with "revdeps"`);
  const allowLocalSources = stringList('allowLocalSources').map((d) => resolve(base, d));
  return { file, repositories, compilers, targets: stringList('targets'), jobs, pins, revdeps, allowLocalSources };
}
