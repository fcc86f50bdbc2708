/**
 * The host user builds run as: a dedicated uid and gid that own nothing on the host, so that a build
 * (other people's code) cannot read root-only files, write root's, or leave a setuid-root program.
 *
 * When ecocheck runs as root, that is the system user `ecocheck-build` (scripts/install-system-deps.sh
 * creates it), else a fixed uid and gid that /etc/passwd and /etc/group do not name (FALLBACK_BUILD_ID,
 * or the first free one below it). The sandbox (bubblewrap.ts) keeps bubblewrap root for its mounts and
 * drops to that uid for the command itself; every directory a build writes is handed to it first
 * (`handOver`). When ecocheck is not root, builds run as the invoking user (in a user namespace, where
 * they see themselves as uid 1000): then there is nothing to hand over.
 *
 * No other module of ecocheck is loaded here: the sandbox's identity (bubblewrap.ts), which planning
 * loads, asks whether builds drop privileges.
 */
import { chmodSync, lchownSync, lstatSync, readdirSync, readFileSync } from 'node:fs';

/** The system user builds run as when ecocheck is root. */
export const BUILD_USER_NAME = 'ecocheck-build';
/** The uid and gid builds run as when there is no user `ecocheck-build` (or the first free one below). */
export const FALLBACK_BUILD_ID = 64_999;
/** The uid and gid a build sees itself as when ecocheck is not root (its own user namespace). */
export const USER_NAMESPACE_ID = 1000;

export interface BuildUser {
  uid: number;
  gid: number;
  /** For the log: who that is and where it comes from. */
  description: string;
}

/** The ids of `name` in passwd/group-formatted text (`name:x:ID:…`), or null. */
function idOf(text: string, name: string): number | null {
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 3 && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return null;
}

function idsIn(text: string): Set<number> {
  const ids = new Set<number>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^\d+$/.test(f[2])) ids.add(Number(f[2]));
  }
  return ids;
}

/**
 * The build user named by the given passwd and group files' text: `ecocheck-build` (its own uid and
 * primary gid, from its passwd line), else the fallback id, free in both files.
 */
export function buildUserFrom(passwd: string, group: string): BuildUser {
  const uid = idOf(passwd, BUILD_USER_NAME);
  if (uid !== null && uid !== 0) {
    const line = passwd.split('\n').find((l) => l.startsWith(`${BUILD_USER_NAME}:`)) as string;
    const gid = Number(line.split(':')[3]);
    if (Number.isInteger(gid) && gid !== 0) return { uid, gid, description: `the user ${BUILD_USER_NAME} (uid ${uid}, gid ${gid})` };
  }
  const taken = new Set([...idsIn(passwd), ...idsIn(group)]);
  let id = FALLBACK_BUILD_ID;
  while (taken.has(id) && id > 1000) id--;
  return {
    uid: id,
    gid: id,
    description: `uid ${id}, gid ${id}, which no user or group of this host has (there is no user ${BUILD_USER_NAME}: scripts/install-system-deps.sh creates it)`,
  };
}

let hostUser: BuildUser | null = null;

/** The build user of this host (read once from /etc/passwd and /etc/group). */
export function hostBuildUser(): BuildUser {
  if (!hostUser) {
    const read = (p: string): string => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return '';
      }
    };
    hostUser = buildUserFrom(read('/etc/passwd'), read('/etc/group'));
  }
  return hostUser;
}

/** Whether builds drop from root to the build user (ecocheck runs as root), rather than run in a user namespace. */
export function buildsDropPrivileges(): boolean {
  return process.getuid?.() === 0;
}

/** The uid and gid a sandboxed build sees itself as: the build user's, or 1000 in a user namespace. */
export function sandboxIds(): { uid: number; gid: number } {
  if (!buildsDropPrivileges()) return { uid: USER_NAMESPACE_ID, gid: USER_NAMESPACE_ID };
  const u = hostBuildUser();
  return { uid: u.uid, gid: u.gid };
}

/** The owner to hand build directories to: the build user when builds drop to it, else null (nothing to do). */
export function buildOwner(): BuildUser | null {
  return buildsDropPrivileges() ? hostBuildUser() : null;
}

const SETID_BITS = 0o6000;

/**
 * Walks `root` (lstat, never following a symbolic link, never opening anything) and gives every entry
 * not already theirs to `owner` (lchown; null: ownership unchanged); with `stripSetid`, removes the
 * setuid and setgid bits of every file and directory. Only for trees no process of a build is
 * running in (between a job's commands, or once it ended), so nothing can be swapped meanwhile.
 */
export function handOver(root: string, owner: { uid: number; gid: number } | null, stripSetid = false): void {
  // Paths as bytes: a build may name a file with bytes that are not UTF-8, which a string cannot name back
  // (it would be skipped: a setuid file kept).
  const slash = Buffer.from('/');
  const visit = (p: Buffer): void => {
    let st;
    try {
      st = lstatSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e; // e.g. a path too long to name: never leave part of the tree unchecked
    }
    if (owner && (st.uid !== owner.uid || st.gid !== owner.gid)) lchownSync(p, owner.uid, owner.gid);
    if (st.isSymbolicLink()) return;
    // chown clears a file's setuid bit itself; the mode is read again only when a bit was set.
    if (stripSetid && (st.mode & SETID_BITS) !== 0) {
      const mode = lstatSync(p).mode;
      if ((mode & SETID_BITS) !== 0) chmodSync(p, mode & 0o7777 & ~SETID_BITS);
    }
    if (st.isDirectory()) for (const e of readdirSync(p, { encoding: 'buffer' })) visit(Buffer.concat([p, slash, e]));
  };
  visit(Buffer.from(root));
}
