/**
 * opam's archive mirrors as a repository or an opam root declares them: the `archive-mirrors` field
 * of a repository's `repo` file (relative entries are read from the repository itself, as opam does
 * for a repository's `cache/`), and of an opam root's `config`. opam.ocaml.org serves its repository
 * with `archive-mirrors: "cache"`; a clone of ocaml/opam-repository's git tree has no such field, so
 * such a clone is recognised by its `upstream`/`browse` fields and given opam.ocaml.org's cache, which
 * is what `opam init`'s default repository gives every opam user. Sources are checked against their
 * checksums whatever mirror they come from: a mirror changes where a file is fetched from, never what.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Value } from './ast.js';
import { parseOpamFile } from './parser.js';
import { OpamFormatError } from './parse-error.js';

/** opam.ocaml.org's archive cache: ALGO/XX/HEX for every source of opam-repository. */
export const OPAM_ORG_ARCHIVE_MIRROR = 'https://opam.ocaml.org/cache';

export interface DeclaredMirrors {
  /** The mirrors as fetch addresses (http(s):// or file://), in the declared order. */
  mirrors: string[];
  /** The file is ocaml/opam-repository's own `repo` file (a clone of it, or opam.ocaml.org's). */
  opamRepository: boolean;
  /** Why the file could not be read (file:line:column: message); the mirrors are then empty. */
  problem: string | null;
}

const NONE: DeclaredMirrors = { mirrors: [], opamRepository: false, problem: null };

function isUrl(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
}

function stringsOf(value: Value): string[] {
  if (value.kind === 'string') return [value.value];
  if (value.kind === 'list') return value.items.flatMap(stringsOf);
  if (value.kind === 'option') return stringsOf(value.value);
  return [];
}

/** The string fields and `archive-mirrors` of an opam-format file; absent file: null. */
function readFields(file: string): { fields: Map<string, Value> } | { problem: string } | null {
  if (!existsSync(file) || !statSync(file).isFile()) return null;
  try {
    const ast = parseOpamFile(readFileSync(file, 'utf8'), file);
    const fields = new Map<string, Value>();
    for (const item of ast.items) if (item.kind === 'variable') fields.set(item.name, item.value);
    return { fields };
  } catch (err) {
    if (err instanceof OpamFormatError) return { problem: err.message };
    return { problem: `${file}: ${(err as Error).message}` };
  }
}

function mirrorsOf(fields: Map<string, Value>, base: string): string[] {
  const value = fields.get('archive-mirrors');
  if (value === undefined) return [];
  return stringsOf(value).map((m) => (isUrl(m) ? m : `file://${resolve(base, m)}`));
}

/** What a repository's `repo` file declares (`repoDir/repo`); no file: nothing. */
export function repositoryArchiveMirrors(repoDir: string): DeclaredMirrors {
  const read = readFields(join(repoDir, 'repo'));
  if (read === null) return NONE;
  if ('problem' in read) return { ...NONE, problem: read.problem };
  const text = (name: string) => {
    const v = read.fields.get(name);
    return v?.kind === 'string' ? v.value : '';
  };
  const opamRepository =
    /^https?:\/\/github\.com\/ocaml\/opam-repository(\.git)?(\/|$)/.test(text('upstream')) ||
    /^https?:\/\/opam\.ocaml\.org(\/|$)/.test(text('browse'));
  return { mirrors: mirrorsOf(read.fields, repoDir), opamRepository, problem: null };
}

/** What an opam root's global `config` declares (`opamRoot/config`); no file: nothing. */
export function opamRootArchiveMirrors(opamRoot: string): DeclaredMirrors {
  const read = readFields(join(opamRoot, 'config'));
  if (read === null) return NONE;
  if ('problem' in read) return { ...NONE, problem: read.problem };
  return { mirrors: mirrorsOf(read.fields, opamRoot), opamRepository: false, problem: null };
}

/**
 * The mirrors opam would try for these repositories, first repository first: each one's declared
 * mirrors (opam.ocaml.org's cache for a clone of opam-repository that declares none), then the opam
 * root's; each address once.
 */
export function defaultArchiveMirrors(repositories: readonly string[], opamRoot: string | null): { mirrors: string[]; problems: string[] } {
  const out: string[] = [];
  const problems: string[] = [];
  const add = (m: string) => {
    if (!out.includes(m)) out.push(m);
  };
  for (const repo of repositories) {
    const declared = repositoryArchiveMirrors(repo);
    if (declared.problem !== null) problems.push(declared.problem);
    declared.mirrors.forEach(add);
    if (declared.opamRepository && declared.mirrors.length === 0) add(OPAM_ORG_ARCHIVE_MIRROR);
  }
  if (opamRoot !== null) {
    const declared = opamRootArchiveMirrors(opamRoot);
    if (declared.problem !== null) problems.push(declared.problem);
    declared.mirrors.forEach(add);
  }
  return { mirrors: out, problems };
}
