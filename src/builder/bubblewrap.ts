/**
 * The first implementation of the build sandbox (sandbox.ts's `Sandbox`): bubblewrap (bwrap) command
 * lines, the check that bwrap works here, and the reading of bwrap's and setpriv's own failures.
 *
 * A sandboxed command sees the system directories read-only (/usr, /etc, /opt and the /bin, /lib…
 * links or directories), not the rest of the host: no user's home, no ecocheck state directory or
 * database, no /tmp of the host. On top of that: the given writable and read-only directories at
 * their own paths, the given `mounts` at other paths (a job's switch and build directory), a private
 * /tmp (the build's `.ecocheck-tmp` directory) and /var/tmp, a private /dev and /proc, no network
 * (unless asked for), its own PID namespace (so it dies entirely with its first process), a new
 * session (it cannot reach a terminal), and no capabilities even when ecocheck runs as root. With
 * `user`, the command runs as that unprivileged user, with a passwd entry (userDatabaseMounts), so
 * that configure scripts refusing root work. HOME points at a private writable directory.
 *
 * How the command becomes `user`: when ecocheck is root, bwrap stays root for its mounts (it binds any
 * host path, even under a 700 /root) with every capability dropped but those setpriv needs, and the
 * command is started through `setpriv`, which sets the real, effective and saved uid and gid to the
 * user's (a real host uid: build-user.ts), clears the supplementary groups, the inheritable and
 * bounding capability sets and sets no_new_privs: the uid change from 0 clears the permitted and
 * effective sets, so nothing of root survives and a setuid program cannot give it back. The
 * directories the command may write (the writable binds, /tmp) are handed to that uid first. When
 * ecocheck is not root, bwrap makes a user namespace (`--unshare-user --uid`), as the invoking user.
 *
 * `hostFilesystem` shows the whole host filesystem instead of the system directories alone: read-only,
 * or writable with the user's own rights and the host's /tmp (for `--no-sandbox`); then only /home is
 * private (the job's HOME and switch are mounted there). (Fetching no longer uses the read-only one: it
 * sees the system directories, its scratch, the download cache and the local sources alone.)
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, lchownSync, lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { BUILD_USER_NAME, buildsDropPrivileges, sandboxIds } from './build-user.js';
import {
  privateBase,
  sandboxHome,
  SANDBOX_TMP_NAME,
  SYSTEM_DIRECTORIES,
  type Sandbox,
  type SandboxAvailability,
  type SandboxSpec,
  type SandboxUser,
  type WrappedCommand,
} from './sandbox.js';

/**
 * This implementation's version, in its identity (and so in every job key): bump it when what a
 * command sees or may do under bubblewrap changes (its binds, namespaces, user, limits), as the
 * builder's own version (builder-version.ts) is bumped for the builder. 1: bwrap 0.8 as set up below,
 * the command dropped to the build user by setpriv when ecocheck is root (issue 21).
 */
export const BUBBLEWRAP_VERSION = 1;

interface Detection {
  bwrap: string | null;
  /** util-linux's setpriv (how a command drops from root to the build user); null when not root. */
  setpriv: string | null;
  ok: boolean;
  message: string;
  /** Whether --unshare-pid works here (it may not in some containers). */
  unsharePid: boolean;
}

let detection: Detection | null = null;

function findTool(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (!dir.startsWith('/')) continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

function tryBwrap(bwrap: string, extra: string[]): { ok: boolean; stderr: string } {
  const r = spawnSync(
    bwrap,
    [...systemRootArgv(), '--dev', '/dev', '--proc', '/proc', '--unshare-net', '--tmpfs', '/tmp', ...extra, '--', 'true'],
    { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { ok: r.status === 0, stderr: (r.stderr ?? r.error?.message ?? '').trim() };
}

/** bwrap arguments showing the system directories (links as links), read-only. */
function systemRootArgv(): string[] {
  const argv: string[] = [];
  for (const dir of SYSTEM_DIRECTORIES) {
    let st;
    try {
      st = lstatSync(dir);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) argv.push('--symlink', readlinkSync(dir), dir);
    else if (st.isDirectory()) argv.push('--ro-bind', dir, dir);
  }
  return argv;
}

/** Capabilities bwrap keeps (as root) for setpriv: changing uid and gid, dropping the bounding set. */
const SETPRIV_CAPABILITIES = ['CAP_SETUID', 'CAP_SETGID', 'CAP_SETPCAP'];

/** What the command is prefixed with (inside the sandbox) to drop from root to `user`, for good. */
function setprivArgv(setpriv: string, user: SandboxUser): string[] {
  return [
    setpriv,
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--no-new-privs',
    '--',
  ];
}

function detect(): Detection {
  if (detection) return detection;
  const bwrap = findTool('bwrap');
  const setpriv = buildsDropPrivileges() ? findTool('setpriv') : null;
  if (buildsDropPrivileges() && !setpriv) {
    detection = {
      bwrap,
      setpriv: null,
      ok: false,
      message:
        "builds need util-linux's setpriv (sandboxed commands drop from root to the build user with it), which is not installed: apt-get install util-linux",
      unsharePid: false,
    };
    return detection;
  }
  if (!bwrap) {
    detection = {
      bwrap: null,
      setpriv,
      ok: false,
      message:
        "builds need bubblewrap (each job's switch is bound at its fixed path in a sandbox), which is not installed: apt-get install bubblewrap",
      unsharePid: false,
    };
    return detection;
  }
  const full = tryBwrap(bwrap, ['--unshare-pid', '--die-with-parent', '--new-session', '--cap-drop', 'ALL']);
  if (full.ok) {
    detection = { bwrap, setpriv, ok: true, message: '', unsharePid: true };
    return detection;
  }
  const noPid = tryBwrap(bwrap, ['--die-with-parent', '--new-session', '--cap-drop', 'ALL']);
  detection = noPid.ok
    ? { bwrap, setpriv, ok: true, message: '', unsharePid: false }
    : {
        bwrap,
        setpriv,
        ok: false,
        message: `bubblewrap (${bwrap}) cannot create a sandbox on this machine: ${noPid.stderr || full.stderr || 'unknown error'} (unprivileged user namespaces may be disabled)`,
        unsharePid: false,
      };
  return detection;
}

export function sandboxAvailable(): SandboxAvailability {
  const d = detect();
  return d.ok ? { ok: true } : { ok: false, message: d.message };
}

/** Whether sandboxed commands get their own PID namespace on this machine. */
export function sandboxHasPidNamespace(): boolean {
  return detect().unsharePid;
}

/**
 * The bwrap argv prefix (ending in `--`) for running a command under `spec`, and the environment to
 * give it (the request's, with HOME replaced by the private home unless it already is inside a
 * writable directory). Creates the writable directories and the home directory. When ecocheck is
 * root, the command runs as `spec.user`, else as the build user (build-user.ts), both through setpriv
 * (the prefix then ends with setpriv's `--`), and the directories it may write are handed to that user
 * (the directories themselves, not what they hold: that is the caller's, see build-user.ts's handOver);
 * with `hostFilesystem: 'writable'` (`--no-sandbox`) it keeps ecocheck's own rights.
 */
export function sandboxArgv(spec: SandboxSpec, cwd: string, env: Record<string, string>): WrappedCommand {
  const d = detect();
  if (!d.ok || !d.bwrap) throw new Error(d.message);
  // Keep a HOME that is already private (inside a writable directory); replace any other.
  const given = env.HOME !== undefined && env.HOME !== '' ? path.resolve(env.HOME) : null;
  const writableInside = [
    ...spec.writable.map((w) => path.resolve(w)),
    ...(spec.mounts ?? []).filter((m) => m.writable).map((m) => m.target),
  ];
  const givenIsPrivate = given !== null && writableInside.some((w) => given === w || given.startsWith(w + path.sep));
  const home = spec.user ? spec.user.home : givenIsPrivate && given !== null ? given : sandboxHome(spec, cwd);
  const unconfined = spec.hostFilesystem === 'writable';
  // As root: who the command becomes (setpriv), and to whom its writable directories are handed.
  const dropTo: SandboxUser | null = d.setpriv && !unconfined ? (spec.user ?? { ...sandboxIds(), name: BUILD_USER_NAME, home }) : null;
  const handToUser = (dir: string) => {
    if (dropTo) lchownSync(dir, dropTo.uid, dropTo.gid);
  };
  // bwrap, as root, makes a mount point's missing parents mode 700: made beforehand with mode 755,
  // the user can reach what is mounted there (never more: a parent holds nothing else).
  const madeParents = new Set<string>();
  const parentsOf = (target: string): string[] => {
    if (!dropTo) return [];
    const out: string[] = [];
    for (let p = path.dirname(path.resolve(target)); p !== '/'; p = path.dirname(p)) {
      if (madeParents.has(p)) break;
      madeParents.add(p);
      out.unshift('--perms', '0755', '--dir', p);
    }
    return out;
  };
  const argv = [d.bwrap, '--die-with-parent', '--new-session', '--cap-drop', 'ALL'];
  if (dropTo) for (const cap of SETPRIV_CAPABILITIES) argv.push('--cap-add', cap);
  argv.push('--unshare-ipc', '--unshare-uts');
  if (d.unsharePid) argv.push('--unshare-pid');
  if (!spec.network) argv.push('--unshare-net');
  if (spec.user && !d.setpriv) argv.push('--unshare-user', '--uid', String(spec.user.uid), '--gid', String(spec.user.gid));
  if (spec.hostFilesystem) {
    argv.push(unconfined ? '--bind' : '--ro-bind', '/', '/');
    // The job's HOME and switch live under /home: a private /home, so nothing is made on the host's.
    if ((spec.mounts ?? []).some((m) => m.target.startsWith('/home/'))) argv.push('--tmpfs', '/home');
  } else argv.push(...systemRootArgv());
  argv.push('--dev', '/dev', '--proc', '/proc');
  // A private /tmp: a directory of the build (on disk, not in the job's memory), else a tmpfs.
  const base = privateBase(spec, cwd);
  if (unconfined) {
    // the host's own /tmp
  } else if (spec.tmp !== undefined) {
    mkdirSync(spec.tmp, { recursive: true });
    handToUser(spec.tmp);
    argv.push('--bind', spec.tmp, '/tmp');
  } else if (base !== null) {
    const tmp = path.join(base, SANDBOX_TMP_NAME);
    mkdirSync(tmp, { recursive: true });
    handToUser(tmp);
    argv.push('--bind', tmp, '/tmp');
  } else {
    argv.push('--perms', '1777', '--tmpfs', '/tmp');
  }
  if (!unconfined) argv.push(...parentsOf('/var/tmp'), '--perms', '1777', '--tmpfs', '/var/tmp', '--perms', '1777', '--tmpfs', '/dev/shm');
  // Same-path binds, parents before children, so a read-only directory inside a writable one stays read-only.
  const binds: { p: string; writable: boolean }[] = [
    ...spec.writable.map((p) => ({ p: path.resolve(p), writable: true })),
    ...spec.readonly.map((p) => ({ p: path.resolve(p), writable: false })),
  ];
  binds.sort((a, b) => a.p.split('/').length - b.p.split('/').length || Number(a.writable) - Number(b.writable));
  for (const b of binds) {
    if (b.writable) {
      mkdirSync(b.p, { recursive: true });
      handToUser(b.p);
      argv.push(...parentsOf(b.p), '--bind', b.p, b.p);
    } else if (existsSync(b.p)) {
      argv.push(...parentsOf(b.p), '--ro-bind', b.p, b.p);
    }
  }
  for (const m of spec.mounts ?? []) {
    if (m.writable && lstatSync(m.source, { throwIfNoEntry: false })?.isDirectory()) handToUser(m.source);
    argv.push(...parentsOf(m.target), m.writable ? '--bind' : '--ro-bind', m.source, m.target);
  }
  if (home === '/tmp/home') argv.push('--perms', dropTo ? '1777' : '0755', '--dir', home);
  else {
    // A home inside a same-path writable directory is made there (a mount's target is made by its bind).
    const hostHome = hostPathOf(spec, home);
    if (hostHome !== null) {
      mkdirSync(hostHome, { recursive: true });
      handToUser(hostHome);
    }
  }
  // The sandbox's own root (where the mount points were made) is read-only too: a write anywhere but
  // the writable binds fails, as on the read-only host, instead of vanishing into a private tmpfs.
  if (!spec.hostFilesystem) argv.push('--remount-ro', '/');
  argv.push('--chdir', spec.cwd ?? path.resolve(cwd), '--');
  if (dropTo && d.setpriv) argv.push(...setprivArgv(d.setpriv, dropTo));
  const outEnv: Record<string, string> = { ...env, HOME: home };
  if (spec.user) {
    outEnv.USER = spec.user.name;
    outEnv.LOGNAME = spec.user.name;
  }
  return { argv, env: outEnv };
}

/** The host path of `inside` when it lies in a same-path writable directory (not a mount's target); else null. */
function hostPathOf(spec: SandboxSpec, inside: string): string | null {
  const p = path.resolve(inside);
  if ((spec.mounts ?? []).some((m) => p === m.target || p.startsWith(m.target + path.sep))) return null;
  return spec.writable.map((w) => path.resolve(w)).some((w) => p === w || p.startsWith(w + path.sep)) ? p : null;
}

/**
 * bwrap's own report that it could not exec the command (exit 1), or, where the command drops from root
 * to the build user, setpriv's (exit 127): the command's name.
 */
function commandNotFound(output: string, exitCode: number | null): string | null {
  if (exitCode !== 1 && exitCode !== 127) return null;
  return /^(?:bwrap: execvp|setpriv: failed to execute) (.*): No such file or directory$/m.exec(output)?.[1] ?? null;
}

/** The bubblewrap sandbox. */
export const bubblewrap: Sandbox = {
  // setpriv (ecocheck is root: the command becomes the build user) or a user namespace (it is not).
  get identity() {
    return `bubblewrap/${BUBBLEWRAP_VERSION}+${buildsDropPrivileges() ? 'setpriv' : 'userns'}`;
  },
  detect: sandboxAvailable,
  wrap: sandboxArgv,
  commandNotFound,
  isolatesProcesses: sandboxHasPidNamespace,
};
