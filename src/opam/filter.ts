/**
 * opam's filter language and filtered package formulas (`OpamFilter`, `OpamFormat.V.filter`,
 * `filtered_constraints`, `package_formula`): reading them from the syntax tree, evaluating them with
 * opam's three-valued logic, and printing them back.
 */
import type { RelOp, Span, Value } from './ast.js';
import type { FilterOrConstraint, Filter, Formula, PackageAtom } from './package-model.js';
import { OpamFormatError } from './parse-error.js';
import { compareVersions } from './version.js';
import { filterIdentToString, interpolate, parseFilterIdent, resolveIdent } from './interpolation.js';
import type { VariableLookup, VariableValue } from './variable-value.js';

export type { VariableLookup, VariableValue };
import {
  ands,
  formulaFromValue,
  formulaToString,
  mapFormula,
  negateFormula,
  partialEval,
  type FormulaListKind,
  type PartialResult,
} from './formula.js';

// ---------------------------------------------------------------------------------------------------
// Evaluation (`OpamFilter.reduce`)

/** A reduced filter: a boolean, a string, or undefined (`FUndef`). */
type Reduced = { k: 'bool'; v: boolean } | { k: 'string'; v: string } | { k: 'undef' };

const UNDEF: Reduced = { k: 'undef' };

/** `value_bool` without default: undefined for anything that is not a boolean or "true"/"false". */
function reducedBool(r: Reduced): boolean | undefined {
  if (r.k === 'bool') return r.v;
  if (r.k === 'string') {
    if (r.v === 'true') return true;
    if (r.v === 'false') return false;
  }
  return undefined;
}

/** `value_string`. */
function reducedString(r: Reduced): string | undefined {
  if (r.k === 'bool') return String(r.v);
  if (r.k === 'string') return r.v;
  return undefined;
}

/** `OpamFormula.check_relop` on a comparison result. */
export function checkRelop(op: RelOp, c: number): boolean {
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
    case '~':
      throw new Error('the relational operator ~ has no meaning in opam 2.1');
  }
}

function reduce(f: Filter, lookup: VariableLookup): Reduced {
  const r = reduceAux(f, lookup);
  // Strings, whether literal or a variable's value, are interpolated (undefined parts expand to "").
  if (r.k === 'string') return { k: 'string', v: interpolate(r.v, lookup) };
  return r;
}

function reduceAux(f: Filter, lookup: VariableLookup): Reduced {
  switch (f.kind) {
    case 'undef':
      return UNDEF;
    case 'bool':
      return { k: 'bool', v: f.value };
    case 'string':
      return { k: 'string', v: f.value };
    case 'ident': {
      const v = resolveIdent(lookup, { packages: f.packages, variable: f.variable, converter: f.converter });
      if (v === undefined) return UNDEF;
      return typeof v === 'boolean' ? { k: 'bool', v } : { k: 'string', v };
    }
    case 'op': {
      const l = reducedString(reduce(f.left, lookup));
      const r = reducedString(reduce(f.right, lookup));
      if (l === undefined || r === undefined) return UNDEF;
      return { k: 'bool', v: checkRelop(f.op, compareVersions(l, r)) };
    }
    case 'and':
    case 'or': {
      // `logop2`: the absorbing boolean wins even against undefined; otherwise undefined propagates,
      // and a non-boolean value makes the result undefined.
      const absorb = f.kind === 'or';
      const l = reduce(f.left, lookup);
      const r = reduce(f.right, lookup);
      if (r.k === 'bool' && r.v === absorb) return r;
      if (l.k === 'bool' && l.v === absorb) return l;
      if (l.k === 'undef' || r.k === 'undef') return UNDEF;
      const lb = reducedBool(l);
      const rb = reducedBool(r);
      if (lb === undefined || rb === undefined) return UNDEF;
      return { k: 'bool', v: absorb ? lb || rb : lb && rb };
    }
    case 'not': {
      const b = reducedBool(reduce(f.arg, lookup));
      return b === undefined ? UNDEF : { k: 'bool', v: !b };
    }
    case 'defined':
      return { k: 'bool', v: reduce(f.arg, lookup).k !== 'undef' };
  }
}

/** `OpamFilter.eval`: a boolean, a string, or `undefined` when the filter's value is undefined. */
export function evalFilter(f: Filter, lookup: VariableLookup): boolean | string | undefined {
  const r = reduce(f, lookup);
  return r.k === 'undef' ? undefined : r.v;
}

/**
 * `OpamFilter.eval_to_bool ~default`: `"true"`/`"false"` strings count as booleans; an undefined
 * value or any other string gives `defaultWhenUndefined`.
 */
export function evalFilterToBool(f: Filter, lookup: VariableLookup, defaultWhenUndefined: boolean): boolean {
  const b = reducedBool(reduce(f, lookup));
  return b === undefined ? defaultWhenUndefined : b;
}

/** `OpamFilter.eval_to_string`: undefined when the value is undefined; booleans print as true/false. */
export function evalFilterToString(f: Filter, lookup: VariableLookup): string | undefined {
  return reducedString(reduce(f, lookup));
}

/** Every variable a filter mentions, directly or in `%{…}%` of its strings (`OpamFilter.variables`). */
export function filterVariables(f: Filter): { packages: string[] | null; variable: string }[] {
  const out: { packages: string[] | null; variable: string }[] = [];
  const walk = (g: Filter): void => {
    switch (g.kind) {
      case 'ident':
        out.push({ packages: g.packages, variable: g.variable });
        return;
      case 'string':
        for (const id of stringIdents(g.value)) out.push(id);
        return;
      case 'op':
      case 'and':
      case 'or':
        walk(g.left);
        walk(g.right);
        return;
      case 'not':
      case 'defined':
        walk(g.arg);
        return;
      default:
        return;
    }
  };
  walk(f);
  return out;
}

function stringIdents(s: string): { packages: string[] | null; variable: string }[] {
  const out: { packages: string[] | null; variable: string }[] = [];
  for (const m of s.matchAll(/%\{([^}\n]*)\}%/g)) {
    const id = parseFilterIdent(m[1] ?? '');
    out.push({ packages: id.packages, variable: id.variable });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Reading filters from the syntax tree (`OpamFormat.V.filter`)

/** What a node is, with its article: `an identifier foo`. */
function describe(v: Value): string {
  switch (v.kind) {
    case 'bool':
      return `a boolean ${v.value}`;
    case 'int':
      return `an integer ${v.value}`;
    case 'string':
      return `a string ${JSON.stringify(v.value)}`;
    case 'ident':
      return `an identifier ${v.name}`;
    case 'relop':
      return `a comparison '${v.op}'`;
    case 'prefix-relop':
      return `a version constraint '${v.op}'`;
    case 'logop':
    case 'pfxop':
      return `an expression '${v.op}'`;
    case 'list':
      return 'a list';
    case 'group':
      return 'a parenthesised group';
    case 'option':
      return 'a value with options';
    case 'env-binding':
      return `an environment update '${v.op}'`;
  }
}

function errorAt(span: Span, message: string): OpamFormatError {
  return new OpamFormatError(span.start, message);
}

function checkRelopSupported(op: RelOp, span: Span): void {
  if (op === '~') throw errorAt(span, "the relational operator '~' is not supported by opam 2.1");
}

/** Reads a filter ident string into a Filter (`FIdent`). */
export function identFilter(name: string): Filter {
  const id = parseFilterIdent(name);
  const f: Filter = { kind: 'ident', packages: id.packages, variable: id.variable };
  if (id.converter) f.converter = id.converter;
  return f;
}

/** Converts one filter expression; throws a positioned OpamFormatError on anything else. */
export function filterFromValue(v: Value): Filter {
  switch (v.kind) {
    case 'bool':
      return { kind: 'bool', value: v.value };
    case 'string':
      return { kind: 'string', value: v.value };
    case 'int':
      return { kind: 'string', value: String(v.value) };
    case 'ident':
      return identFilter(v.name);
    case 'group':
      return filterFromValues(v.items, v.span);
    case 'relop':
      checkRelopSupported(v.op, v.span);
      return { kind: 'op', op: v.op, left: filterFromValue(v.left), right: filterFromValue(v.right) };
    case 'pfxop':
      return v.op === '!' ? { kind: 'not', arg: filterFromValue(v.arg) } : { kind: 'defined', arg: filterFromValue(v.arg) };
    case 'logop':
      return {
        kind: v.op === '&' ? 'and' : 'or',
        left: filterFromValue(v.left),
        right: filterFromValue(v.right),
      };
    default:
      throw errorAt(v.span, `expected a filter expression, found ${describe(v)}`);
  }
}

/**
 * Converts the contents of a `{ … }` option (or of a field like `available:`): empty is `true`, one
 * expression (possibly parenthesised) is the filter, more is an error at `span`.
 */
export function filterFromValues(items: Value[], span: Span): Filter {
  if (items.length === 0) return { kind: 'bool', value: true };
  if (items.length > 1) throw errorAt(items[1]!.span, 'expected a single filter expression');
  const only = items[0]!;
  if (only.kind === 'group') {
    if (only.items.length !== 1) throw errorAt(only.items.length > 1 ? only.items[1]!.span : span, 'expected a single filter expression');
    return filterFromValue(only.items[0]!);
  }
  return filterFromValue(only);
}

// ---------------------------------------------------------------------------------------------------
// Printing (`OpamFilter.to_string`)

type PrintContext = 'or' | 'and' | 'relop' | 'not' | 'defined';

/** An OCaml `%S`-style quoted string (the escapes opam's printer uses). */
export function quoteString(s: string): string {
  return `"${s.replace(/[\\"\n\t\r]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : `\\${c}`))}"`;
}

export function printFilter(f: Filter): string {
  const aux = (g: Filter, context: PrintContext): string => {
    switch (g.kind) {
      case 'bool':
        return String(g.value);
      case 'string':
        return quoteString(g.value);
      case 'ident':
        return filterIdentToString({ packages: g.packages, variable: g.variable, converter: g.converter });
      case 'undef':
        return '#undefined';
      case 'op': {
        const s = `${aux(g.left, 'relop')} ${g.op} ${aux(g.right, 'relop')}`;
        return context !== 'or' && context !== 'and' ? `(${s})` : s;
      }
      case 'and': {
        const s = `${aux(g.left, 'and')} & ${aux(g.right, 'and')}`;
        return context !== 'or' && context !== 'and' ? `(${s})` : s;
      }
      case 'or': {
        const s = `${aux(g.left, 'or')} | ${aux(g.right, 'or')}`;
        return context !== 'or' ? `(${s})` : s;
      }
      case 'not': {
        const s = `!${aux(g.arg, 'not')}`;
        return context === 'relop' ? `(${s})` : s;
      }
      case 'defined': {
        const s = `?${aux(g.arg, 'defined')}`;
        return context === 'relop' ? `(${s})` : s;
      }
    }
  };
  return aux(f, 'or');
}

// ---------------------------------------------------------------------------------------------------
// Filtered package formulas: `depends`, `depopts`, `conflicts`

function negRelop(op: RelOp): RelOp {
  switch (op) {
    case '=':
      return '!=';
    case '!=':
      return '=';
    case '<':
      return '>=';
    case '>=':
      return '<';
    case '>':
      return '<=';
    case '<=':
      return '>';
    case '~':
      return '~';
  }
}

/** The version of a constraint (`ext_version`): a string (may hold `%{…}%`) or a variable. */
function constraintVersion(v: Value): Filter {
  if (v.kind === 'string') {
    const probe = v.value.replace(/%\{[^}]*\}%/g, '-');
    if (!isValidVersion(probe)) throw errorAt(v.span, `invalid version string ${JSON.stringify(v.value)}`);
    return { kind: 'string', value: v.value };
  }
  if (v.kind === 'ident') return identFilter(v.name);
  throw errorAt(v.span, `expected a version (a string or a variable), found ${describe(v)}`);
}

/** `filtered_constraints`: the items inside `{ … }` after a package name, joined by `&`. */
export function filteredConstraintsFromValues(items: Value[]): Formula<FilterOrConstraint> {
  const aux = (v: Value): Formula<FilterOrConstraint> => {
    switch (v.kind) {
      case 'prefix-relop':
        checkRelopSupported(v.op, v.span);
        return { kind: 'atom', atom: { kind: 'constraint', op: v.op, version: constraintVersion(v.arg) } };
      case 'logop': {
        const l = aux(v.left);
        const r = aux(v.right);
        return v.op === '&' ? ands([l, r]) : orsOf(l, r);
      }
      case 'group':
        return { kind: 'block', inner: filteredConstraintsFromValues(v.items) };
      case 'pfxop':
        if (v.op === '!') {
          return negateFormula(filteredConstraintsFromValues([v.arg]), (a) =>
            a.kind === 'constraint'
              ? { kind: 'constraint', op: negRelop(a.op), version: a.version }
              : { kind: 'filter', filter: { kind: 'not', arg: a.filter } },
          );
        }
        return { kind: 'atom', atom: { kind: 'filter', filter: filterFromValue(v) } };
      default:
        return { kind: 'atom', atom: { kind: 'filter', filter: filterFromValue(v) } };
    }
  };
  return ands(items.map(aux));
}

function orsOf<A>(l: Formula<A>, r: Formula<A>): Formula<A> {
  if (l.kind === 'empty') return r;
  if (r.kind === 'empty') return l;
  return { kind: 'or', left: l, right: r };
}

const PACKAGE_NAME = /^[A-Za-z0-9_+-]*[A-Za-z][A-Za-z0-9_+-]*$/;
const VERSION = /^[A-Za-z0-9_+.~-]+$/;

/** `OpamPackage.Name.of_string`: letters, digits, `_`, `-`, `+`, and at least one letter. */
export function isValidPackageName(s: string): boolean {
  return PACKAGE_NAME.test(s);
}

/** `OpamPackage.Version.of_string`: non-empty, letters, digits and `-_+.~`. */
export function isValidVersion(s: string): boolean {
  return VERSION.test(s);
}

/** `"name" { constraints }` or `"name"`. */
export function packageAtomFromValue(v: Value): PackageAtom {
  const nameValue = v.kind === 'option' ? v.value : v;
  if (nameValue.kind !== 'string') {
    throw errorAt(nameValue.span, `expected a package name (a string), found ${describe(nameValue)}`);
  }
  if (!isValidPackageName(nameValue.value)) {
    throw errorAt(nameValue.span, `invalid package name ${JSON.stringify(nameValue.value)}`);
  }
  const constraint = v.kind === 'option' ? filteredConstraintsFromValues(v.options) : { kind: 'empty' as const };
  return { name: nameValue.value, constraint };
}

/** A `depends`-like field: `kind` is `conj` for depends, `disj` for depopts and conflicts. */
export function packageFormulaFromValue(v: Value, kind: FormulaListKind): Formula<PackageAtom> {
  return formulaFromValue(v, kind, (x) => {
    if (x.kind === 'string' || x.kind === 'option') return packageAtomFromValue(x);
    throw errorAt(x.span, `expected a package, a group or '&'/'|', found ${describe(x)}`);
  });
}

// ---------------------------------------------------------------------------------------------------
// Evaluating filtered package formulas (`OpamFilter.filter_formula`, `filter_deps`)

export interface VersionConstraint {
  op: RelOp;
  version: string;
}

export interface DependencyAtom {
  name: string;
  constraint: Formula<VersionConstraint>;
}

/**
 * `OpamFilter.filter_formula`: in each atom's constraint, filters evaluate to true/false (an
 * undefined or non-boolean filter counts as `defaultWhenUndefined`) and version constraints get their
 * string value (a constraint whose version is undefined is dropped, as opam does with a warning).
 * An atom whose constraint is false disappears; true leaves the bare name.
 */
export function filterDependencyFormula(
  f: Formula<PackageAtom>,
  lookup: VariableLookup,
  defaultWhenUndefined = false,
): Formula<DependencyAtom> {
  return mapFormula(f, (a): Formula<DependencyAtom> => {
    const r: PartialResult<VersionConstraint> = partialEval(a.constraint, (c): PartialResult<VersionConstraint> => {
      if (c.kind === 'filter') {
        return evalFilterToBool(c.filter, lookup, defaultWhenUndefined) ? { kind: 'true' } : { kind: 'false' };
      }
      // An undefined or invalid version (`""` from an undefined interpolation) drops the constraint.
      const version = evalFilterToString(c.version, lookup);
      if (version === undefined || !isValidVersion(version)) return { kind: 'formula', formula: { kind: 'empty' } };
      return { kind: 'formula', formula: { kind: 'atom', atom: { op: c.op, version } } };
    });
    if (r.kind === 'false') return { kind: 'empty' };
    if (r.kind === 'true') return { kind: 'atom', atom: { name: a.name, constraint: { kind: 'empty' } } };
    return { kind: 'atom', atom: { name: a.name, constraint: r.formula } };
  });
}

/** The flags of a dependency formula's evaluation: which kinds of dependency are wanted. */
export interface DependencyFlags {
  build: boolean;
  post: boolean;
  test: boolean;
  doc: boolean;
  /** `with-dev-setup` (opam 2.2); false when not given. */
  devSetup?: boolean;
  dev: boolean;
}

/** The value of a dependency-flag variable (`build`, `post`, `with-test`, …), or undefined for any other. */
export function dependencyFlagValue(flags: DependencyFlags, variable: string): boolean | undefined {
  switch (variable) {
    case 'build':
      return flags.build;
    case 'post':
      return flags.post;
    case 'with-test':
      return flags.test;
    case 'with-doc':
      return flags.doc;
    case 'with-dev-setup':
      return flags.devSetup ?? false;
    case 'dev':
      return flags.dev;
    default:
      return undefined;
  }
}

/** The variable environment opam uses for dependency filters (`OpamFilter.deps_var_env`). */
export function dependencyVariables(flags: DependencyFlags): VariableLookup {
  return (packages, variable) => (packages !== null ? undefined : dependencyFlagValue(flags, variable));
}

// ---------------------------------------------------------------------------------------------------
// Printing package formulas back in opam syntax

function constraintItemToString(c: FilterOrConstraint): string {
  if (c.kind === 'filter') return printFilter(c.filter);
  const v = c.version;
  const shown = v.kind === 'string' || v.kind === 'ident' ? printFilter(v) : `(${printFilter(v)})`;
  return `${c.op} ${shown}`;
}

/** `{>= "1.0" & with-test}` contents, in opam syntax. */
export function constraintFormulaToString(f: Formula<FilterOrConstraint>): string {
  return formulaToString(f, constraintItemToString, '');
}

/** A package formula in opam file syntax: `"a" {>= "1"} | ("b" & "c")`. */
export function packageFormulaToString(f: Formula<PackageAtom>): string {
  return formulaToString(
    f,
    (a) => (a.constraint.kind === 'empty' ? quoteString(a.name) : `${quoteString(a.name)} {${constraintFormulaToString(a.constraint)}}`),
    '',
  );
}

/** An evaluated dependency formula, same syntax: `"a" {>= "1.0"} & "b"`. */
export function dependencyFormulaToString(f: Formula<DependencyAtom>): string {
  return formulaToString(
    f,
    (a) =>
      a.constraint.kind === 'empty'
        ? quoteString(a.name)
        : `${quoteString(a.name)} {${formulaToString(a.constraint, (c) => `${c.op} ${quoteString(c.version)}`, '')}}`,
    '',
  );
}
