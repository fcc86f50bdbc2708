/**
 * Which archive mirrors a run's fetches fall back on: the user's (`--archive-mirror`, first), then,
 * unless `--no-default-mirror`, those opam itself would use for these repositories (their `repo`
 * files; opam.ocaml.org's cache for opam-repository) and the user's opam root (`$OPAMROOT/config`,
 * default `~/.opam/config`).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { defaultArchiveMirrors } from '../opam/archive-mirrors.js';

export interface MirrorSettings {
  /** The user's own (`--archive-mirror`), as fetch addresses. */
  archiveMirrors: readonly string[];
  /** Add opam's default mirrors (false: `--no-default-mirror`). Absent: true. */
  defaultMirrors?: boolean;
}

export interface MirrorChoice {
  mirrors: string[];
  /** Those that came from the repositories or the opam root rather than the user's flags. */
  defaults: string[];
  /** A `repo` or opam `config` file that could not be read (file:line:column: message). */
  problems: string[];
}

/** The opam root opam itself would read: `$OPAMROOT`, else `~/.opam`. */
export function userOpamRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.OPAMROOT !== undefined && env.OPAMROOT !== '' ? env.OPAMROOT : join(homedir(), '.opam');
}

export function chooseArchiveMirrors(
  settings: MirrorSettings,
  repositories: readonly string[],
  opamRoot: string | null = userOpamRoot(),
): MirrorChoice {
  const mirrors = [...settings.archiveMirrors];
  if (settings.defaultMirrors === false) return { mirrors, defaults: [], problems: [] };
  const found = defaultArchiveMirrors(repositories, opamRoot);
  const defaults = found.mirrors.filter((m) => !mirrors.includes(m));
  return { mirrors: [...mirrors, ...defaults], defaults, problems: found.problems };
}
