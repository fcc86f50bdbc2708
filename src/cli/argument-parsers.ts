/** Reading the values of flags: numbers, durations, sizes, run numbers, mirrors (a `--format`: report-output.ts). */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './usage-error.js';

export function parseCount(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`${flag} ${value}: expected a whole number`);
  return n;
}

export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} ${value}: expected a positive integer`);
  return n;
}

/** `90`, `90s`, `30m`, `1h`, `1.5h` → milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new UsageError(`${flag} ${value}: expected a duration such as 90s, 30m or 1h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(m[1]) * unit);
  if (ms <= 0) throw new UsageError(`${flag} ${value}: must be more than zero`);
  return ms;
}

/** `4G`, `4GiB`, `512M`, `1048576` → bytes (binary units). */
export function parseBytes(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(value.trim());
  if (!m) throw new UsageError(`${flag} ${value}: expected a size such as 4G or 512M`);
  const power = ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
  const bytes = Math.round(Number(m[1]) * 1024 ** power);
  if (bytes <= 0) throw new UsageError(`${flag} ${value}: must be more than zero`);
  return bytes;
}

/** A run number, `7` or `#7`, as `ecocheck runs` shows them. */
export function parseRunId(value: string, flag: string): number {
  const m = /^#?(\d+)$/.exec(value.trim());
  if (m === null || Number(m[1]) <= 0) throw new UsageError(`${flag} ${value}: expected a run number (ecocheck runs lists them)`);
  return Number(m[1]);
}

/**
 * An `--archive-mirror` value as the fetcher takes it: a URL as given, a directory (opam's mirror
 * layout, ALGO/XX/HEX, e.g. a download cache) as a file:// URL.
 */
export function archiveMirrorAddress(value: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  const dir = resolve(value);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--archive-mirror ${value}: neither a URL nor a directory`);
  return `file://${dir}`;
}
