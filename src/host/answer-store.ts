/**
 * The host package manager's answers kept between processes, so that a `solve` or a `plan` does not ask
 * apt again what it answered a minute ago. Answers are stored under a stamp of the package manager's
 * own state (its status and list files, by size, modification time and inode): an `apt-get update`,
 * an install or a removal changes the stamp, and the stored answers are dropped. The file is the
 * application's (its state paths: the cache folder, or the state dir), passed to each call; null: answers
 * are kept for the process only.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A stamp over the files and the files of the directories given (missing ones count as missing). */
export function stateStamp(paths: readonly string[]): string {
  const h = createHash('sha256');
  const add = (p: string) => {
    try {
      const st = statSync(p);
      h.update(`${p}\0${st.size}\0${st.mtimeMs}\0${st.ino}\0`);
      if (st.isDirectory()) for (const e of readdirSync(p).sort()) add(join(p, e));
    } catch {
      h.update(`${p}\0-\0`);
    }
  };
  for (const p of paths) add(p);
  return h.digest('hex');
}

interface StoredAnswers<T> {
  family: string;
  stamp: string;
  answers: Record<string, T>;
}

/** The answers stored for this family and stamp, or an empty map. Never throws: a bad file is no answers. */
export function loadAnswers<T>(storeFile: string | null, family: string, stamp: string): Map<string, T> {
  if (storeFile === null) return new Map();
  try {
    const data = JSON.parse(readFileSync(storeFile, 'utf8')) as StoredAnswers<T>;
    if (data.family !== family || data.stamp !== stamp || typeof data.answers !== 'object' || data.answers === null) return new Map();
    return new Map(Object.entries(data.answers));
  } catch {
    return new Map();
  }
}

/** Stores the answers (replacing older ones), atomically; a store that cannot be written is skipped. */
export function saveAnswers<T>(storeFile: string | null, family: string, stamp: string, answers: ReadonlyMap<string, T>): void {
  if (storeFile === null) return;
  try {
    mkdirSync(dirname(storeFile), { recursive: true });
    const tmp = `${storeFile}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify({ family, stamp, answers: Object.fromEntries(answers) } satisfies StoredAnswers<T>));
    renameSync(tmp, storeFile);
  } catch {
    // A cache: the next process asks the host again.
  }
}
