/**
 * The one way a test skips for something missing on the machine (a tool, the snapshot, root, a kernel
 * feature). Outside CI a test whose need is missing is skipped with the reason. In CI (`CI=true`) a
 * missing need fails instead — a skip there would hide a setup step that `.ci/run` forgot (a package
 * that only this machine happens to have) — unless the need is one CI legitimately lacks, listed in
 * NEEDS with why; those skip in CI too.
 *
 * The failure is a test of its own, named after the need and the reason, registered where the check is
 * made (the file, or the describe block), once per need and reason; the tests that need it are skipped.
 */
import { test } from 'node:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { archiveAvailable, archiveTarball, projectRoot, snapshotAvailable, snapshotTarball } from './snapshot.js';

/** Whether CI may lack the need: a reason it may (then the test skips in CI too), or false (a missing setup step). */
type CiMayLack = (env: NodeJS.ProcessEnv) => string | false;

const never: CiMayLack = () => false;

/** Everything a test may skip for, and whether CI may lack it. */
export const NEEDS = {
  /** The opam-repository snapshot and its archive: in ../shared/data beside the checkout (CI has a copy of shared/ there). */
  snapshot: ((env) =>
    env.ECOCHECK_SNAPSHOT === undefined && !existsSync(join(projectRoot, '..', 'shared'))
      ? 'a clone with no ../shared beside it (and no ECOCHECK_SNAPSHOT) has no snapshot to read'
      : false) as CiMayLack,
  /** A state folder where the real corpus was checked (ECOCHECK_CORPUS_STATE): hours of builds, made by hand, never by CI. */
  'corpus-state': () => 'the real corpus is checked by hand (hours of builds); CI never has its state',
  /** Running ecocheck as uid nobody: needs the clone readable by nobody and unprivileged user namespaces. */
  'unprivileged-run': () =>
    "where CI clones (perhaps under a private home) and whether the kernel allows unprivileged user namespaces are the machine's, not a setup step",
  /** A cgroup process limit for the fork bomb: needs a delegated cgroup pids controller. */
  'process-limit': () => "cgroup delegation is the machine's (a container may have none), not a setup step",
  /** bubblewrap, able to sandbox here (scripts/install-system-deps.sh installs it). */
  bubblewrap: never,
  /** overlayfs switches mounted by unshare and mount (util-linux, mount: scripts/install-system-deps.sh), as root. */
  'switch-mount': never,
  /** Mounting (a tmpfs, a private mount namespace): root, as CI runs. */
  mount: never,
  /** Running as root, as CI does. */
  root: never,
  /** Debian 12's OCaml 4.13.1 as the ocamlc on PATH (ocaml-nox: scripts/install-system-deps.sh). */
  'system-ocaml': never,
  /** opam 2.1.2, the oracle of opam's own verdicts (opam: scripts/install-system-deps.sh). */
  opam: never,
  /** Chromium, for the HTML report (chromium: scripts/install-system-deps.sh). */
  chromium: never,
  /** A Debian host's package manager: apt-cache and dpkg-query, with apt's lists (scripts/install-system-deps.sh updates them). */
  apt: never,
  /** A Debian package a test installs and removes itself, not installed beforehand. */
  'depext-not-installed': () => 'someone installed the package on this machine; the test removes only what it installed',
  /** Debian's source packages, fetched from Debian's registry (which CI reaches). */
  'debian-sources': never,
} satisfies Record<string, CiMayLack>;

export type Need = keyof typeof NEEDS;

export type SkipDecision = { run: true } | { run: false; skip: string; fail: string | null };

/** What to do about `need` when `missing` (a reason, or false when present): pure, for the helper's own test. */
export function decideSkip(need: Need, missing: string | false, env: NodeJS.ProcessEnv): SkipDecision {
  if (missing === false) return { run: true };
  if (env.CI !== 'true') return { run: false, skip: missing, fail: null };
  const excuse = NEEDS[need](env);
  if (excuse !== false) return { run: false, skip: `${missing} (CI may lack this: ${excuse})`, fail: null };
  return { run: false, skip: missing, fail: `CI=true and ${need} is missing, a setup step .ci/run forgot: ${missing}` };
}

const failed = new Set<string>();

/**
 * The `skip` option of the tests that need `need`: false when `missing` is false (the need is met),
 * else the reason. In CI, for a need CI must have, also registers one failing test saying what is missing.
 */
export function skipWithout(need: Need, missing: string | false): string | false {
  const d = decideSkip(need, missing, process.env);
  if (d.run) return false;
  if (d.fail !== null && !failed.has(d.fail)) {
    failed.add(d.fail);
    const message = d.fail;
    test(`setup: ${need}`, () => {
      throw new Error(message);
    });
  }
  return d.skip;
}

/** The `skip` option of a test that reads the opam-repository snapshot. */
export function skipWithoutSnapshot(): string | false {
  return skipWithout('snapshot', snapshotAvailable() ? false : `no opam-repository snapshot at ${snapshotTarball} (set ECOCHECK_SNAPSHOT)`);
}

/** The `skip` option of a test that reads the snapshot and the archive of opam-repository. */
export function skipWithoutSnapshotAndArchive(): string | false {
  return (
    skipWithoutSnapshot() ||
    skipWithout('snapshot', archiveAvailable() ? false : `no opam-repository archive at ${archiveTarball} (set ECOCHECK_ARCHIVE)`)
  );
}
