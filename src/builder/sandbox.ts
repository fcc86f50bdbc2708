/**
 * The build sandbox, as the builder sees it: what a sandboxed command may see and write (a
 * `SandboxSpec`, which names no implementation), and the `Sandbox` interface an implementation
 * provides. bubblewrap (bubblewrap.ts) is the first; another (a container runtime, macOS's
 * sandbox-exec, a remote builder's) plugs in by implementing `Sandbox` and being given to the opam
 * builder (`OpamBuilderOptions.sandbox`) — as opam chooses its wrapper (bwrap.sh, sandbox_exec.sh) by
 * configuration, and crater keeps rustwide behind an interface.
 *
 * The process runner (process-runner.ts) asks the sandbox to wrap each command, prints its identity in
 * the job's log, and asks it to read its own failures (a command it could not find); it knows no
 * implementation's option or message text. The builder's identity (builder-version.ts) includes the
 * sandbox's, so that results built under another implementation (or another version of one) are
 * never reused.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * How builds are confined: `confined` (the default) shows them the system directories only, read-only,
 * no network, as an unprivileged user; `host` (`--no-sandbox`) shows them the host's filesystem with
 * ecocheck's own rights and the network. Either way each job's switch, HOME and build folder are its
 * own, mounted by the sandbox (so `host` still needs one).
 */
export type SandboxMode = 'confined' | 'host';

export const SANDBOX_MODES: readonly SandboxMode[] = ['confined', 'host'];

export function isSandboxMode(v: unknown): v is SandboxMode {
  return (SANDBOX_MODES as readonly unknown[]).includes(v);
}

export interface SandboxMount {
  /** A host directory or file. */
  source: string;
  /** Where the command sees it. */
  target: string;
  writable: boolean;
}

export interface SandboxUser {
  /** A host uid when ecocheck is root (build-user.ts), else the uid seen inside a user namespace. */
  uid: number;
  gid: number;
  name: string;
  home: string;
}

export interface SandboxSpec {
  /** Host directories the command may write, at their own paths. */
  writable: string[];
  /** Host directories bound read-only at their own paths (even when inside a writable one). */
  readonly: string[];
  network: boolean;
  /** Host paths bound elsewhere, in this order (parents first): the switch, the build directory. */
  mounts?: SandboxMount[];
  /** The working directory as the command sees it (default: the request's cwd). */
  cwd?: string;
  /** Run as this unprivileged user, HOME its home (created, and handed to it, when inside a writable directory). */
  user?: SandboxUser;
  /**
   * Show the whole host filesystem, not only the system directories: `read-only`, or `writable` with
   * the user's own rights and the host's /tmp (`--no-sandbox`).
   */
  hostFilesystem?: 'read-only' | 'writable';
  /** The host directory seen as /tmp (default: one inside the writable directory holding cwd, else a tmpfs). */
  tmp?: string;
}

/** Whether a sandbox works on this machine, or why not (one line saying how to get it). */
export type SandboxAvailability = { ok: true } | { ok: false; message: string };

/** A command made ready to run in a sandbox: the argv prefix (the command's own argv follows) and its environment. */
export interface WrappedCommand {
  argv: string[];
  env: Record<string, string>;
}

export interface Sandbox {
  /**
   * The implementation and what of it can change what a build produces, e.g. `bubblewrap/1+setpriv`:
   * part of the builder's identity (builder-version.ts), so part of every job key. An implementation
   * bumps its own version when what it shows builds changes.
   */
  readonly identity: string;
  /** Whether it works here (checked once, then remembered), else a one-line reason. */
  detect(): SandboxAvailability;
  /**
   * The argv prefix and environment running a command under `spec`, `cwd` being the host directory the
   * command starts in. May create (and hand to the build user) the writable directories it binds.
   * Throws when the sandbox cannot be set up (the runner reports it as the command's failure).
   */
  wrap(spec: SandboxSpec, cwd: string, env: Record<string, string>): WrappedCommand;
  /**
   * The sandbox's own report that it could not find or start the command, read from the command's
   * output and exit code: the command's name, else null. The runner then reports exit code 127, as a
   * shell does.
   */
  commandNotFound(output: string, exitCode: number | null): string | null;
  /**
   * Whether every process of a sandboxed command lives in a PID namespace of the sandbox's own, where a
   * `kill -KILL -1` of the build user reaches the command's processes alone: then a job's commands may
   * share one launch (sandbox-session.ts). Absent: false, one launch per command.
   */
  isolatesProcesses?(): boolean;
}

/** The host's system directories a sandboxed command sees (read-only), when they exist. */
export const SYSTEM_DIRECTORIES = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/opt'];

/** Name of the private home directory created inside the build directory. */
export const SANDBOX_HOME_NAME = '.ecocheck-home';
/** Name of the directory (next to the private home) that the sandbox sees as /tmp. */
export const SANDBOX_TMP_NAME = '.ecocheck-tmp';

/** The writable directory holding `cwd`, else the first writable one; null when there is none. */
export function privateBase(spec: SandboxSpec, cwd: string): string | null {
  const abs = path.resolve(cwd);
  const holder = spec.writable.map((w) => path.resolve(w)).find((w) => abs === w || abs.startsWith(w + path.sep));
  return holder ?? (spec.writable[0] !== undefined ? path.resolve(spec.writable[0]) : null);
}

/** The private HOME for a sandboxed command: inside the writable directory holding `cwd`, else the first one. */
export function sandboxHome(spec: SandboxSpec, cwd: string): string {
  const base = privateBase(spec, cwd);
  return base === null ? '/tmp/home' : path.join(base, SANDBOX_HOME_NAME);
}

/** passwd and group files naming `user`, written under `dir`, as mounts over /etc/passwd and /etc/group. */
export function userDatabaseMounts(dir: string, user: SandboxUser): SandboxMount[] {
  mkdirSync(dir, { recursive: true });
  const passwd = path.join(dir, 'passwd');
  const group = path.join(dir, 'group');
  writeFileSync(
    passwd,
    `root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n${user.name}:x:${user.uid}:${user.gid}:${user.name}:${user.home}:/bin/sh\n`,
  );
  writeFileSync(group, `root:x:0:\nnogroup:x:65534:\n${user.name}:x:${user.gid}:\n`);
  return [
    { source: passwd, target: '/etc/passwd', writable: false },
    { source: group, target: '/etc/group', writable: false },
  ];
}

/** One line describing what `spec` shows a command (for the job's log), after the sandbox's identity. */
export function describeSandboxSpec(spec: SandboxSpec, home: string | undefined): string {
  const fs =
    spec.hostFilesystem === 'writable'
      ? 'host filesystem'
      : spec.hostFilesystem === 'read-only'
        ? 'host filesystem read-only'
        : 'system directories read-only';
  const writable = [...spec.writable, ...(spec.mounts ?? []).filter((m) => m.writable).map((m) => m.target)].join(' ') || 'none';
  return `${spec.network ? 'network allowed' : 'no network'}, ${fs}${spec.user ? `, as ${spec.user.name} (uid ${spec.user.uid})` : ''}, writable: ${writable}, HOME=${home}`;
}
