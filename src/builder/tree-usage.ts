/**
 * What trees hold on disk: every entry under them read with lstat (a symbolic link counted as itself,
 * never followed; nothing but folders opened), space as the blocks a file really holds (`st_blocks ×
 * 512`: a sparse file counts what it holds), a file with several hard links once. Paths are handled as
 * bytes: a build may name files with bytes that are not UTF-8, which a string could not name back (they
 * would go uncounted). The disk limit (disk-limit.ts) and the store's contents (store-contents.ts) count
 * with it.
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';

const SLASH = Buffer.from('/');

function lstatOrNull(p: Buffer): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null; // removed meanwhile, or unreadable
  }
}

/** Every entry under `roots` (each root included), depth first; what vanishes or cannot be read is skipped. */
export function* treeEntries(roots: readonly string[]): Generator<Stats> {
  const pending: Buffer[] = [];
  for (const root of roots) {
    const p = Buffer.from(root);
    const st = lstatOrNull(p);
    if (st === null) continue;
    yield st;
    if (st.isDirectory()) pending.push(p);
  }
  while (pending.length > 0) {
    const dir = pending.pop() as Buffer;
    let names: Buffer[];
    try {
      names = readdirSync(dir, { encoding: 'buffer' });
    } catch {
      continue; // gone, or not a folder any more
    }
    for (const name of names) {
      const p = Buffer.concat([dir, SLASH, name]);
      const st = lstatOrNull(p);
      if (st === null) continue;
      yield st;
      if (st.isDirectory()) pending.push(p);
    }
  }
}

/** Space and inodes added up; a hard-linked file counted once (across every tally sharing `seenLinks`). */
export class UsageTally {
  bytes = 0;
  inodes = 0;
  constructor(private readonly seenLinks: Set<string> = new Set()) {}

  add(st: Stats): void {
    if (st.nlink > 1 && !st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      if (this.seenLinks.has(id)) return;
      this.seenLinks.add(id);
    }
    this.inodes++;
    this.bytes += st.blocks * 512;
  }
}
