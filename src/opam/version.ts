/**
 * opam's version order (`OpamVersionCompare`, the Debian algorithm): a version is an alternation of
 * non-digit and digit runs. Non-digit runs compare character by character with `~` sorting before
 * everything (even the end of the run), then the end, then letters, then every other character; digit
 * runs compare as numbers (`1.0 = 1.00`, an empty run counts as 0).
 */

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** Weight of one character of a non-digit run; 0 stands for the end of the run. */
function weight(code: number): number {
  if (code === 126 /* ~ */) return -1;
  if (isLetter(code)) return code;
  return code + 256;
}

export function compareVersions(a: string, b: string): number {
  let i = 0;
  let j = 0;
  const la = a.length;
  const lb = b.length;
  while (i < la || j < lb) {
    // Non-digit runs.
    for (;;) {
      const ca = i < la ? a.charCodeAt(i) : -1;
      const cb = j < lb ? b.charCodeAt(j) : -1;
      const aIn = ca >= 0 && !isDigit(ca);
      const bIn = cb >= 0 && !isDigit(cb);
      if (!aIn && !bIn) break;
      const wa = aIn ? weight(ca) : 0;
      const wb = bIn ? weight(cb) : 0;
      if (wa !== wb) return wa < wb ? -1 : 1;
      if (aIn) i++;
      if (bIn) j++;
    }
    // Digit runs, compared as unbounded numbers.
    while (i < la && a.charCodeAt(i) === 48) i++;
    while (j < lb && b.charCodeAt(j) === 48) j++;
    const si = i;
    const sj = j;
    while (i < la && isDigit(a.charCodeAt(i))) i++;
    while (j < lb && isDigit(b.charCodeAt(j))) j++;
    const na = i - si;
    const nb = j - sj;
    if (na !== nb) return na < nb ? -1 : 1;
    for (let k = 0; k < na; k++) {
      const da = a.charCodeAt(si + k);
      const db = b.charCodeAt(sj + k);
      if (da !== db) return da < db ? -1 : 1;
    }
  }
  return 0;
}

export function versionsEqual(a: string, b: string): boolean {
  return compareVersions(a, b) === 0;
}
