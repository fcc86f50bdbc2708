/**
 * Sizes in bytes as people read them: a limit the user set, exactly (`4 GiB`, `1536 MiB`), and a size
 * measured on disk, rounded (`20.1 GiB`). A base module: every layer prints sizes; it imports nothing.
 */

/** 4294967296 → "4 GiB": the largest unit that divides the limit exactly (over 1 MiB, else one decimal of MiB). */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1 && (v / 1024) % 1 === 0) {
    v /= 1024;
    i++;
  }
  if (i === 0 && n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${v} ${units[i]}`;
}

/** 21,592,588,288 → "20.1 GiB": one decimal, the unit that keeps it under 1024. */
export function formatUsageBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}
