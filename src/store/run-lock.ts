/**
 * One `check` at a time per database: a lock row taken in an immediate transaction. A second process is
 * refused with a message naming the holder; a lock left by a dead process is taken over.
 */
import { hostname } from 'node:os';
import type { Db } from './database.js';
import { StoreError } from './store-error.js';

const LOCK = 'run';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class RunLockedError extends StoreError {}

/** Takes the run lock for this process or throws RunLockedError; returns the release function. */
export function acquireRunLock(db: Db, file: string): () => void {
  const host = hostname();
  const take = db.transaction(() => {
    const held = db.prepare(`SELECT pid, host, run_id, acquired_at FROM locks WHERE name = ?`).get(LOCK) as
      { pid: number; host: string; run_id: number | null; acquired_at: string } | undefined;
    if (held !== undefined && held.pid !== process.pid && (held.host !== host || alive(held.pid))) {
      throw new RunLockedError(
        `another ecocheck run (pid ${held.pid} on ${held.host}, since ${held.acquired_at}) is running on ${file} (wait for it to finish)`,
        true,
      );
    }
    db.prepare(`INSERT OR REPLACE INTO locks (name, pid, host, run_id, acquired_at) VALUES (?, ?, ?, NULL, ?)`).run(
      LOCK,
      process.pid,
      host,
      new Date().toISOString(),
    );
  });
  try {
    take.immediate();
  } catch (err) {
    if (err instanceof StoreError) throw err;
    // The first write of a run: a full disk or an unwritable file shows here, named, in one line.
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    if (typeof code === 'string' && code.startsWith('SQLITE_')) {
      throw new StoreError(
        `cannot write the database ${file}: ${message}${code === 'SQLITE_FULL' ? ' (free some space on its disk)' : ''}`,
        true,
      );
    }
    throw err;
  }
  return () => {
    db.prepare(`DELETE FROM locks WHERE name = ? AND pid = ?`).run(LOCK, process.pid);
  };
}
