/**
 * The opam switch every job sees: one fixed path, the same for every job and every machine, so that
 * what a build embeds (the compiler's standard library path, findlib.conf, META files, scripts) stays
 * valid when its layer is stacked under another job's switch.
 *
 * The layout is opam's (`OpamPath.Switch`, `OpamSwitchAction.create_empty_switch`): root
 * `/home/opam/.opam`, switch `default`, prefix `/home/opam/.opam/default`, with opam's directories
 * present in an empty switch. A package is built in `<prefix>/.opam-switch/build/NAME.VERSION`, as
 * opam builds it; that directory never becomes part of a layer.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** `root`: the opam root inside the sandbox. */
export const SWITCH_ROOT = '/home/opam/.opam';
/** `switch`: the switch's name. */
export const SWITCH_NAME = 'default';
/** `prefix`: where the switch is, inside the sandbox. */
export const SWITCH_PREFIX = `${SWITCH_ROOT}/${SWITCH_NAME}`;
/** HOME inside the sandbox (a private, writable directory of the job; the build user's, build-user.ts, named `opam`). */
export const SANDBOX_HOME = '/home/opam';

/** Directories of the switch's internal state that never become part of a layer. */
export const SWITCH_SCRATCH_DIRS = ['.opam-switch/build', '.opam-switch/sources', '.opam-switch/backup'];

/** The directories `opam switch create --empty` makes: every switch has them. */
export const EMPTY_SWITCH_DIRS = [
  'bin',
  'sbin',
  'lib',
  'lib/stublibs',
  'lib/toplevel',
  'share',
  'doc',
  'etc',
  'man',
  ...['1', '1M', '2', '3', '4', '5', '6', '7', '8', '9'].map((n) => `man/man${n}`),
  '.opam-switch',
  '.opam-switch/build',
  '.opam-switch/install',
  '.opam-switch/config',
  '.opam-switch/packages',
];

/** Where package NAME.VERSION is built, inside the sandbox. */
export function switchBuildDir(id: string): string {
  return `${SWITCH_PREFIX}/.opam-switch/build/${id}`;
}

/** Creates the empty switch's directories under `dir` (a host directory standing for the prefix). */
export function createEmptySwitch(dir: string): void {
  for (const d of EMPTY_SWITCH_DIRS) mkdirSync(join(dir, d), { recursive: true });
}

/** A path inside the switch as the switch-relative form reports use (`%{prefix}%/lib/…`). */
export function switchRelative(path: string): string {
  return path.startsWith(SWITCH_PREFIX + '/') ? path.slice(SWITCH_PREFIX.length + 1) : path;
}
