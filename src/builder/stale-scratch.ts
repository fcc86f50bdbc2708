/**
 * A job's scratch folder (`buildRoot/NAME.VERSION-pidPID-START-XXXXXX`), and its unfinished layer's
 * folder (`STORE/.incoming/NAME.VERSION-pidPID-START-XXXXXX`), names the ecocheck process that
 * made it: its pid and that process's start time (so a pid used again by another process is not taken
 * for the owner). A builder created later removes the scratch folders whose owner is gone: what a
 * `kill -9` (or a crash) left in flight. A live owner's folders, this process's included, are kept.
 *
 * The removal never follows a symbolic link (a build may leave one pointing anywhere on the host: it is
 * unlinked, its target untouched) and gives write permission back to read-only directories the build
 * left. It is best effort: what cannot be removed stays for the next sweep, and no error stops a run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeTree } from './layer-store.js';

/** A process's start time (clock ticks after boot, /proc/PID/stat's 22nd field), or null when it is gone. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** This process as a scratch folder's owner: `pidPID-START`. */
function ownerTag(): string {
  return `pid${process.pid}-${startTime(process.pid) ?? '0'}`;
}

/** The `mkdtempSync` prefix of a job's scratch folder under `buildRoot`, naming this process as its owner. */
export function scratchPrefix(buildRoot: string, jobId: string): string {
  return join(buildRoot, `${jobId}-${ownerTag()}-`);
}

const OWNED = /-pid(\d+)-(\d+)-[A-Za-z0-9]{6}$/;

/** Whether a scratch folder's name says its owner is gone (false for names that say no owner). */
export function ownerIsGone(name: string): boolean {
  const m = OWNED.exec(name);
  if (m === null) return false;
  const pid = Number(m[1]);
  if (pid === process.pid) return false;
  const started = startTime(pid);
  return started === null || started !== m[2];
}

/** Removes the scratch folders under `buildRoot` of ecocheck processes no longer running; returns their names. */
export function removeStaleScratch(buildRoot: string): string[] {
  let names: string[];
  try {
    names = readdirSync(buildRoot);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!ownerIsGone(name)) continue;
    try {
      removeTree(join(buildRoot, name));
      removed.push(name);
    } catch {
      // Left for the next sweep.
    }
  }
  return removed;
}
