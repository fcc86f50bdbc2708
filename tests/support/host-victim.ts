/**
 * A stand-in for the host in tests of host-side file steps: a folder holding a secret file (mode 600,
 * a unique marker string) and a victim folder with files, to point a package's symbolic links at.
 * `unchanged()` says whether anything in it changed; `leaks(text)` whether the secret shows in a text.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface HostVictim {
  /** The folder standing for the host. */
  dir: string;
  /** A mode-600 file holding `marker`. */
  secret: string;
  /** A folder with two files, for links to directories. */
  victimDir: string;
  marker: string;
  /** Every path under `dir` with its kind, mode and content hash. */
  snapshot(): Map<string, string>;
}

export function snapshotTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out.set(p, `dir ${(st.mode & 0o7777).toString(8)}`);
        walk(p);
      } else if (st.isSymbolicLink()) out.set(p, `link ${readlinkSync(p)}`);
      else out.set(p, `${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk(root);
  return out;
}

/** Creates the host stand-in under `parent` (which must exist). */
export function makeHostVictim(parent: string): HostVictim {
  const dir = join(parent, 'host');
  const victimDir = join(dir, 'victim');
  mkdirSync(victimDir, { recursive: true });
  const marker = `HOST-SECRET-${randomBytes(8).toString('hex')}`;
  const secret = join(dir, 'secret');
  writeFileSync(secret, `${marker}\n`, { mode: 0o600 });
  writeFileSync(join(victimDir, 'one'), 'one\n');
  writeFileSync(join(victimDir, 'two'), 'two\n');
  return { dir, secret, victimDir, marker, snapshot: () => snapshotTree(dir) };
}
