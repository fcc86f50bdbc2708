/**
 * The hostile fixture repository (fixtures/hostile-repo: packages whose builds sleep forever, allocate
 * without bound, open connections, fork-bomb, write outside their prefix, fill the disk) instantiated
 * for a test: copied into a fresh temp directory with the placeholders of its opam files replaced
 * (`@MARKER@`, `@PORT@`, `@OUTSIDE@`, `@HOME@`, `@REPO@`). The fixture folder itself is never written.
 */
import { copyFixtureRepository, type FixtureCopy } from '../../support/fixture-copy.js';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from './snapshot.js';

export const hostileRepoFixture = join(projectRoot, 'fixtures', 'hostile-repo');

export interface HostileRepoOptions {
  /** A unique number: the hostile sleepers' durations and the escape markers' names. */
  marker: number;
  /** Where the network package tries to connect on 127.0.0.1 (default 9: discard, nothing listening). */
  port?: number;
  /** A directory outside every writable place of the sandbox, holding `victim.txt`. */
  outside: string;
  /** The real home folder (default: the current user's). */
  home?: string;
}

export type HostileRepoCopy = FixtureCopy;

/** A fresh instantiated copy of the hostile repository (under `parent`, default the temp dir). */
export function instantiateHostileRepo(options: HostileRepoOptions, parent: string = tmpdir()): HostileRepoCopy {
  return copyFixtureRepository(
    hostileRepoFixture,
    'ecocheck-hostile-repo-',
    (root) => ({
      '@MARKER@': String(options.marker),
      '@PORT@': String(options.port ?? 9),
      '@OUTSIDE@': options.outside,
      '@HOME@': options.home ?? homedir(),
      '@REPO@': root,
    }),
    parent,
  );
}
