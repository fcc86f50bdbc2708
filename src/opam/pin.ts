/**
 * A pin, as `opam pin add NAME[.VERSION] TARGET` takes it: the package's source comes from a local
 * directory (a checkout, opam's `path` pin) or a URL, and the pinned package is the only version of
 * NAME there is. This file reads the argument `NAME[.VERSION]=DIR|URL`; `pinned-repository.ts` applies
 * pins to a loaded repository.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageSpecToString, parsePackageSpec } from './package-spec.js';
import { OpamError } from './opam-error.js';

import type { PinSource } from './package-model.js';

export type { PinSource };

export interface Pin {
  name: string;
  /** The version given (`NAME.VERSION=…`), or null: the opam file's, else the repository's, else `~dev`. */
  version: string | null;
  source: PinSource;
}

/** A pin that cannot be read or applied; `argument` is the text it came from (or its canonical form). */
export class PinError extends OpamError {
  constructor(
    readonly argument: string,
    message: string,
  ) {
    super(message, 'input', { setting: 'pin', value: argument });
  }
}

/** A URL with a transport (`https://`, `git+https://`, `file://`, `git://`…); anything else is a path. */
const URL_PATTERN = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** A file:// URL of an archive is fetched and unpacked like any URL, not copied as a directory. */
const ARCHIVE_SUFFIX = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz|tbz2|tar\.xz|txz|tar\.lzma|tlz|zip)$/i;

/**
 * `NAME[.VERSION]=DIR|URL`. The left side is read as every package argument is (`parsePackageSpec`); a
 * `file://` URL of a directory (anything but an archive) is a local path, as opam reads it (a `path`
 * pin, like the bare path); a relative DIR is made absolute against `cwd`. Throws PinError naming the text.
 */
export function parsePin(text: string, cwd: string = process.cwd()): Pin {
  const eq = text.indexOf('=');
  if (eq < 0) throw new PinError(text, 'expected NAME[.VERSION]=DIR or NAME[.VERSION]=URL');
  const left = text.slice(0, eq);
  const right = text.slice(eq + 1);
  const spec = parsePackageSpec(left);
  if (spec === null) throw new PinError(text, `${JSON.stringify(left)} is not a package name, or NAME.VERSION`);
  if (right === '') throw new PinError(text, 'no directory or URL after =');
  let source: PinSource;
  if (/^file:\/\//.test(right) && !ARCHIVE_SUFFIX.test(right.replace(/[#?].*$/, ''))) {
    let path: string;
    try {
      path = fileURLToPath(right.replace(/#.*$/, ''));
    } catch {
      throw new PinError(text, `${right} is not a valid file:// URL`);
    }
    source = { kind: 'dir', path };
  } else if (URL_PATTERN.test(right)) {
    source = { kind: 'url', url: right };
  } else {
    source = { kind: 'dir', path: resolve(cwd, right) };
  }
  return { name: spec.name, version: spec.version, source };
}

/** The pin as an argument again (`NAME[.VERSION]=TARGET`, the directory absolute). */
export function pinToString(pin: Pin): string {
  return `${packageSpecToString(pin)}=${pin.source.kind === 'dir' ? pin.source.path : pin.source.url}`;
}
