/**
 * Where tests keep what outlives one run. State (a store, a database, a run lock) lives under the
 * checkout, in `.test-state/` (gitignored): two checkouts on one machine never share a lock or a store,
 * and removing a checkout removes its state. Downloads that are expensive to repeat are kept once per
 * machine instead, in caches keyed by content that any number of checkouts can share:
 *
 * - the download cache of sharedDownloadCache: ecocheck's own (files stored by checksum, written by
 *   rename, verified again when read), so a file there is the same for every reader;
 * - Debian's upstream tarballs (tests/support/real-sources.ts): named by source package and upstream
 *   version, which Debian never reuses for other bytes, and checksum-verified by `ecocheck cache import`;
 * - the unpacked snapshot (tests/support/snapshot.ts): one folder per tarball version, made by rename
 *   and only read.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { projectRoot } from './snapshot.js';

/** The checkout's folder for test state kept between runs. */
export const TEST_STATE_ROOT = join(projectRoot, '.test-state');

/** `.test-state/NAME` of this checkout, made if missing. */
export function testStateDir(name: string): string {
  const dir = join(TEST_STATE_ROOT, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The machine's cache folder (XDG_CACHE_HOME when absolute, else ~/.cache). */
function machineCache(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
}

/** A download cache shared by every checkout of the machine (ECOCHECK_TEST_DOWNLOADS elsewhere). */
export const sharedDownloadCache = process.env.ECOCHECK_TEST_DOWNLOADS ?? join(machineCache(), 'ecocheck-tests', 'downloads');

/** Debian's upstream tarballs, once per machine (ECOCHECK_DEBIAN_SOURCES elsewhere). */
export const sharedDebianSources = process.env.ECOCHECK_DEBIAN_SOURCES ?? join(machineCache(), 'ecocheck-debian-sources');
