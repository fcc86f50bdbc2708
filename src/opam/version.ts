/**
 * opam's version order (`OpamVersionCompare` of opam 2.1, the Debian algorithm as Dose implements it).
 * A version splits into an epoch (before the first `:`, usually empty), an upstream part and a
 * revision (after the LAST `-`, empty when there is none); the three are compared in turn. Each part
 * is an alternation of non-digit and digit runs: non-digit characters compare with `~` before
 * everything (even the end of the part), then letters, then every other character; digit runs compare
 * as numbers (`1.0 = 1.00`). When one part is exhausted, the rest of the other decides: nothing but
 * zeros means equal (`a = a0`, `1.0 = 1.0-0`), a `~` makes the longer one smaller, anything else larger.
 * So `1.0-test < 1.0.1` and `1.0-1 < 1.0+x` (the revision is not compared until the upstream parts tie).
 */

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

const TILDE = 126;
const ZERO = 48;

/** opam's modified character order: `~` first, then letters, then anything else (by code). */
function compareChars(c1: number, c2: number): number {
  if (c1 === TILDE) return c2 === TILDE ? 0 : -1;
  if (c2 === TILDE) return 1;
  const l1 = isLetter(c1);
  const l2 = isLetter(c2);
  if (l1 && l2) return c1 - c2;
  if (l1) return -1;
  if (l2) return 1;
  return c1 - c2;
}

/** `compare_chunks` on x[xi..xl) and y[yi..yl). */
function compareChunks(x: string, xi: number, xl: number, y: string, yi: number, yl: number): number {
  for (;;) {
    // Lexical part.
    if (xi === xl || yi === yl) {
      if (xi === xl && yi === yl) return 0;
      if (xi === xl) {
        while (yi < yl && y.charCodeAt(yi) === ZERO) yi++;
        if (yi === yl) return 0;
        return y.charCodeAt(yi) === TILDE ? 1 : -1;
      }
      while (xi < xl && x.charCodeAt(xi) === ZERO) xi++;
      if (xi === xl) return 0;
      return x.charCodeAt(xi) === TILDE ? -1 : 1;
    }
    const cx = x.charCodeAt(xi);
    const cy = y.charCodeAt(yi);
    const dx = isDigit(cx);
    const dy = isDigit(cy);
    if (!dx && !dy) {
      const c = compareChars(cx, cy);
      if (c !== 0) return c;
      xi++;
      yi++;
      continue;
    }
    if (dx && !dy) return cy === TILDE ? 1 : -1;
    if (!dx && dy) return cx === TILDE ? -1 : 1;
    // Numerical part: skip leading zeros, longer run is larger, then digit by digit.
    while (xi < xl && x.charCodeAt(xi) === ZERO) xi++;
    while (yi < yl && y.charCodeAt(yi) === ZERO) yi++;
    let xn = xi;
    let yn = yi;
    while (xn < xl && isDigit(x.charCodeAt(xn))) xn++;
    while (yn < yl && isDigit(y.charCodeAt(yn))) yn++;
    if (xn - xi !== yn - yi) return xn - xi - (yn - yi);
    while (xi < xn) {
      const c = x.charCodeAt(xi) - y.charCodeAt(yi);
      if (c !== 0) return c;
      xi++;
      yi++;
    }
  }
}

function sign(n: number): number {
  return n === 0 ? 0 : n < 0 ? -1 : 1;
}

export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  // Epoch: before the first ':'.
  const ea = a.indexOf(':');
  const eb = b.indexOf(':');
  const ec = compareChunks(a, 0, ea < 0 ? 0 : ea, b, 0, eb < 0 ? 0 : eb);
  if (ec !== 0) return sign(ec);
  const ra = ea + 1;
  const rb = eb + 1;
  // Revision: after the last '-' of the rest.
  let da = a.lastIndexOf('-');
  let db = b.lastIndexOf('-');
  if (da < ra) da = -1;
  if (db < rb) db = -1;
  const ua = da < 0 ? a.length : da;
  const ub = db < 0 ? b.length : db;
  const uc = compareChunks(a, ra, ua, b, rb, ub);
  if (uc !== 0) return sign(uc);
  return sign(compareChunks(a, da < 0 ? a.length : da + 1, a.length, b, db < 0 ? b.length : db + 1, b.length));
}

export function versionsEqual(a: string, b: string): boolean {
  return compareVersions(a, b) === 0;
}
