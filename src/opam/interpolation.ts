/**
 * opam's variable identifiers and string interpolation (`OpamFilter.resolve_ident`, `expand_string`):
 * `%{var}%`, `%{pkg:var}%`, `%{_:var}%`, `%{a+b:installed}%`, `%{var?then:else}%`, `%{pkg:enable}%`,
 * and `%%` for a literal `%`.
 */
import type { VariableLookup, VariableValue } from './variable-value.js';

/** A parsed identifier: `packages` null for a global variable, `_` for the package itself. */
export interface FilterIdent {
  packages: string[] | null;
  variable: string;
  converter?: [string, string];
}

/** `filter_ident_of_string`: `pkgs:var`, `var?then:else`, `pkgs:var?then:else` (cut at the last `:`/`?`). */
export function parseFilterIdent(s: string): FilterIdent {
  const colon = s.lastIndexOf(':');
  if (colon < 0) return { packages: null, variable: s };
  const p = s.slice(0, colon);
  const last = s.slice(colon + 1);
  const question = p.lastIndexOf('?');
  if (question < 0) return { packages: p.split('+'), variable: last };
  const converter: [string, string] = [p.slice(question + 1), last];
  const head = p.slice(0, question);
  const colon2 = head.lastIndexOf(':');
  if (colon2 < 0) return { packages: null, variable: head, converter };
  return { packages: head.slice(0, colon2).split('+'), variable: head.slice(colon2 + 1), converter };
}

/** `string_of_filter_ident`. */
export function filterIdentToString(id: FilterIdent): string {
  const pkgs = id.packages && id.packages.length > 0 ? `${id.packages.join('+')}:` : '';
  const conv = id.converter ? `?${id.converter[0]}:${id.converter[1]}` : '';
  return `${pkgs}${id.variable}${conv}`;
}

function boolOfValue(v: VariableValue): boolean | undefined {
  if (typeof v === 'boolean') return v;
  let s: string | undefined;
  if (typeof v === 'string') s = v;
  else if (Array.isArray(v) && v.length === 1) s = v[0];
  if (s === 'true') return true;
  if (s === 'false') return false;
  return undefined;
}

/**
 * `OpamFilter.resolve_ident_raw`: the variable's contents, `undefined` when undefined. `pkg:enable`
 * means `pkg:installed?enable:disable`; with several packages (`a+b:installed`) the result is the
 * conjunction of their boolean values; a converter picks `then`/`else` (`else` when undefined, unless
 * `noUndefExpand`).
 */
export function resolveIdentRaw(lookup: VariableLookup, id: FilterIdent, noUndefExpand = false): VariableValue {
  const { packages } = id;
  let { variable, converter } = id;
  if (packages && packages.length > 0 && variable === 'enable' && !converter) {
    variable = 'installed';
    converter = ['enable', 'disable'];
  }
  let value: VariableValue;
  if (!packages || packages.length === 0) {
    value = lookup(null, variable);
  } else if (packages.length === 1) {
    value = lookup([packages[0]], variable);
  } else {
    // Fold exactly like opam: stop at the first `false`; `true` keeps the accumulator; anything
    // else replaces it by its boolean reading (undefined when it has none).
    let acc: boolean | undefined = true;
    for (const name of packages) {
      if (acc === false) break;
      const v = lookup([name], variable);
      if (v === true) continue;
      acc = v === undefined ? undefined : boolOfValue(v);
    }
    value = acc;
  }
  if (converter && !noUndefExpand) {
    const b = value === undefined ? undefined : boolOfValue(value);
    if (b === true) return converter[0];
    return converter[1];
  }
  return value;
}

/** `resolve_ident`: a list becomes its items joined by spaces. */
export function resolveIdent(lookup: VariableLookup, id: FilterIdent): boolean | string | undefined {
  const v = resolveIdentRaw(lookup, id);
  if (Array.isArray(v)) return v.join(' ');
  return v;
}

// `%%`, or `%{…}%`, or an unclosed `%{…` (kept as is). Inside, any character but a newline, and `}`
// only when not followed by `%`.
const INTERP = /%%|%\{((?:[^}\n]|\}(?=[^%\n]|$))*)(\}%)?/g;

export interface InterpolateOptions {
  /**
   * What an undefined variable expands to. opam 2.1 expands it to the empty string in commands,
   * filters and substituted files (`expand_string ~default:(fun _ -> "")`); `keep` leaves `%{…}%`.
   */
  undefined?: 'empty' | 'keep';
  /** Told about each undefined variable (by its text inside `%{…}%`). */
  onUndefined?: (ident: string) => void;
  /** Told about an unclosed `%{…` (kept literally, as opam does). */
  onUnclosed?: (text: string) => void;
}

/** Expands `%{…}%` and `%%` in `s`. */
export function interpolate(s: string, lookup: VariableLookup, options: InterpolateOptions = {}): string {
  if (!s.includes('%')) return s;
  return s.replace(INTERP, (whole: string, inner: string | undefined, close: string | undefined) => {
    if (whole === '%%') return '%';
    if (!close) {
      options.onUnclosed?.(whole);
      return whole;
    }
    const v = resolveIdent(lookup, parseFilterIdent(inner ?? ''));
    if (v === undefined) {
      options.onUndefined?.(inner ?? '');
      return options.undefined === 'keep' ? whole : '';
    }
    return typeof v === 'boolean' ? String(v) : v;
  });
}

/** The identifiers referenced by closed `%{…}%` interpolations in `s`, in order of appearance. */
export function variablesOf(s: string): FilterIdent[] {
  const out: FilterIdent[] = [];
  for (const m of s.matchAll(INTERP)) {
    if (m[0] !== '%%' && m[2]) out.push(parseFilterIdent(m[1] ?? ''));
  }
  return out;
}
