/**
 * A job's switch, composed of layers with overlayfs.
 *
 * The switch a job builds in is the union of the layers of its whole build closure, in build order,
 * over the empty switch (layer-store.ts); what the job adds or changes goes to its own upper
 * directory, which becomes its layer. The union is mounted in a private mount namespace of the job's
 * command (`unshare --mount`), then bound by the sandbox at the switch's fixed path: nothing outside
 * that command ever sees it, and the lower layers are never written.
 *
 * Lower directories are named through a directory of short numbered symbolic links, relative to it, so
 * that the mount options stay far below the kernel's one-page limit even for a closure of hundreds of
 * layers (overlayfs itself stacks at most 500).
 *
 * Why overlayfs rather than a hardlink farm: composing is constant-time (links, not a copy of every
 * file of the closure), a write to a file of a lower layer is a copy-up into the job's own layer
 * instead of a write through a hard link into a dependency's stored files, and removals are recorded
 * (whiteouts). `npm run bench` measures both ways of composing a 150-layer switch.
 */
import { spawnSync } from 'node:child_process';
import { lchownSync, mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SWITCH_SCRATCH_DIRS } from './switch-layout.js';
import { removeTree, removeTreeAsync } from './layer-store.js';
import { BuilderError } from './builder-error.js';
import { removeConfined } from './confined-path.js';

/** overlayfs's own limit on stacked lower layers (`OVL_MAX_STACK`). */
export const MAX_LAYERS = 500;

export interface SwitchMount {
  /** The job's upper directory: what it adds to the switch (becomes its layer). */
  upper: string;
  /** Holds the upper and work directories (on the store's filesystem, so the upper can be renamed into it). */
  incoming: string;
  /** Holds the links to the lower layers and the mount point. */
  scaffold: string;
  /** The host directory the union is mounted on, inside the command's mount namespace. */
  mountPoint: string;
  /** Prepended to a command: mounts the union, then execs the rest of the argv. */
  wrapperArgv: string[];
  /** Layers in the union, bottom first. */
  layers: string[];
}

export class SwitchMountError extends BuilderError {}

interface OverlaySupport {
  ok: boolean;
  message: string;
  /** Not root: the mount needs a user namespace and overlayfs's user xattrs. */
  userNamespace: boolean;
}

let support: OverlaySupport | null = null;

const MOUNT_SCRIPT = 'cd "$1" && mount -t overlay ecocheck -o "$2" "$3" && shift 3 && exec "$@"';

function unshareArgv(userNamespace: boolean): string[] {
  return ['unshare', '--mount', '--propagation', 'private', ...(userNamespace ? ['--user', '--map-root-user'] : []), '--'];
}

function overlayOptions(lowerCount: number, upper: string, work: string, userNamespace: boolean): string {
  const lower = Array.from({ length: lowerCount }, (_, i) => String(lowerCount - 1 - i)).join(':');
  // nosuid, nodev: a setuid file or a device node in the switch is never honoured (layers lose such bits anyway).
  return `nosuid,nodev,lowerdir=${lower},upperdir=${upper},workdir=${work}${userNamespace ? ',userxattr' : ''}`;
}

function checkPath(p: string): void {
  if (/[,:\\\s]/.test(p)) {
    throw new SwitchMountError(
      `the path ${p} cannot be given to overlayfs (it contains a comma, colon, backslash or space): choose a state directory without them`,
    );
  }
}

/** Whether this machine can mount an overlay switch (checked once, by mounting a tiny one). */
export function switchMountSupport(): { ok: true } | { ok: false; message: string } {
  if (!support) {
    const userNamespace = process.getuid?.() !== 0;
    const dir = mkdtempSync(join(tmpdir(), 'ecocheck-overlay-check-'));
    try {
      for (const d of ['l/0', 'upper', 'work', 'merged']) mkdirSync(join(dir, d), { recursive: true });
      writeFileSync(join(dir, 'l/0/f'), 'lower\n');
      const r = spawnSync(
        unshareArgv(userNamespace)[0],
        [
          ...unshareArgv(userNamespace).slice(1),
          '/bin/sh',
          '-c',
          MOUNT_SCRIPT,
          'ecocheck-switch',
          join(dir, 'l'),
          overlayOptions(1, join(dir, 'upper'), join(dir, 'work'), userNamespace),
          join(dir, 'merged'),
          '/bin/sh',
          '-c',
          `cat "$0"/f >/dev/null && echo upper > "$0"/g`,
          join(dir, 'merged'),
        ],
        { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let wrote = false;
      try {
        wrote = readFileSync(join(dir, 'upper/g'), 'utf8') === 'upper\n';
      } catch {
        wrote = false;
      }
      support =
        r.status === 0 && wrote
          ? { ok: true, message: '', userNamespace }
          : {
              ok: false,
              userNamespace,
              message: `cannot compose a switch with overlayfs on this machine (${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n')[0]}): ecocheck needs util-linux's unshare and mount, overlayfs, and${userNamespace ? ' unprivileged user namespaces (kernel 5.11 or later)' : ' mount namespaces'}`,
            };
    } finally {
      removeTree(dir);
    }
  }
  return support.ok ? { ok: true } : { ok: false, message: support.message };
}

/**
 * Prepares the union of `layers` (bottom first) for one job: the numbered links and the mount point
 * under `dir` (a fresh directory of the job's scratch space), the upper and work directories under
 * `incoming` (a fresh directory on the layer store's filesystem: overlayfs wants them on one
 * filesystem, and the finished upper is renamed into the store). `owner`: the build user, who gets
 * the upper directory (the switch's root) when builds drop from root to it (build-user.ts).
 */
export function prepareSwitchMount(
  dir: string,
  layers: string[],
  incoming: string = join(dir, 'incoming'),
  owner: { uid: number; gid: number } | null = null,
): SwitchMount {
  const avail = switchMountSupport();
  if (!avail.ok) throw new SwitchMountError(avail.message);
  if (layers.length > MAX_LAYERS) {
    throw new SwitchMountError(`the switch would stack ${layers.length} layers; overlayfs stacks at most ${MAX_LAYERS}`);
  }
  const base = resolve(dir);
  const lowerDir = join(base, 'lower');
  const upper = join(resolve(incoming), 'upper');
  const work = join(resolve(incoming), 'work');
  const mountPoint = join(base, 'switch');
  for (const d of [lowerDir, upper, work, mountPoint]) mkdirSync(d, { recursive: true });
  // The switch's root directory is the upper's: the build user's, so that it may write there.
  if (owner) lchownSync(upper, owner.uid, owner.gid);
  checkPath(upper);
  checkPath(work);
  layers.forEach((layer, i) => symlinkSync(resolve(layer), join(lowerDir, String(i))));
  const userNamespace = support?.userNamespace ?? false;
  return {
    upper,
    incoming: resolve(incoming),
    scaffold: base,
    mountPoint,
    layers,
    wrapperArgv: [
      ...unshareArgv(userNamespace),
      '/bin/sh',
      '-c',
      MOUNT_SCRIPT,
      'ecocheck-switch',
      lowerDir,
      overlayOptions(layers.length, upper, work, userNamespace),
      mountPoint,
    ],
  };
}

/**
 * Removes from a finished upper directory what is never part of a layer (the build directory…). The
 * upper is what the build wrote: no link in it is followed (a link the build put where `.opam-switch`
 * was is removed itself, never what it points to).
 */
export function pruneUpper(upper: string, trash?: string): void {
  // With `trash` (a folder on the upper's file system, removed later off the event loop), moved there:
  // a rename instead of a removal of every file the build left in its build folder.
  let n = 0;
  const remove = trash === undefined ? removeTree : (p: string) => renameSync(p, join(trash, `pruned-${n++}`));
  for (const d of SWITCH_SCRATCH_DIRS) removeConfined({ dir: upper, label: 'the upper directory' }, d, remove);
}

/** Removes the job's mount scaffolding and what is left of its upper directory (all of it, unless it was sealed). */
export function removeSwitchMount(mount: SwitchMount): void {
  removeTree(mount.incoming); // overlayfs leaves a mode-000 directory in work/
  removeTree(mount.scaffold);
}

/** removeSwitchMount on the thread pool (layer-store.ts's removeTreeAsync): other builds go on meanwhile. */
export async function removeSwitchMountAsync(mount: SwitchMount): Promise<void> {
  await Promise.all([removeTreeAsync(mount.incoming), removeTreeAsync(mount.scaffold)]);
}
