/**
 * Helpers over opam's generic formula (`OpamFormula`): building (`and`/`or` dropping empties the way
 * `make_and`/`make_or` do), mapping, evaluation, partial evaluation, normal forms, printing with the
 * parentheses opam prints, and the generic part of reading a formula from the syntax tree.
 */
import type { Span, Value } from './ast.js';
import type { Formula } from './package-model.js';
import { OpamFormatError } from './parse-error.js';
import { OpamError } from './opam-error.js';

export const emptyFormula: Formula<never> = { kind: 'empty' };

export function atom<A>(a: A): Formula<A> {
  return { kind: 'atom', atom: a };
}

/** `OpamFormula.make_and`: an empty side disappears. */
export function makeAnd<A>(left: Formula<A>, right: Formula<A>): Formula<A> {
  if (left.kind === 'empty') return right;
  if (right.kind === 'empty') return left;
  return { kind: 'and', left, right };
}

/** `OpamFormula.make_or`: an empty side disappears (empty is not assumed true). */
export function makeOr<A>(left: Formula<A>, right: Formula<A>): Formula<A> {
  if (left.kind === 'empty') return right;
  if (right.kind === 'empty') return left;
  return { kind: 'or', left, right };
}

/**
 * `OpamFormula.ands`: the conjunction of the list, empties dropped. opam nests it to the left; this
 * builds it balanced (left-nested up to three items, like the parser's chains), so a 100,000-item
 * `depends` is 17 levels deep, not 100,000: `&` is associative, no answer changes.
 */
export function ands<A>(items: Formula<A>[]): Formula<A> {
  return balanced(
    'and',
    items.filter((f) => f.kind !== 'empty'),
  );
}

/** `OpamFormula.ors`: the disjunction of the list, empties dropped, balanced as `ands` is. */
export function ors<A>(items: Formula<A>[]): Formula<A> {
  return balanced(
    'or',
    items.filter((f) => f.kind !== 'empty'),
  );
}

function balanced<A>(kind: 'and' | 'or', items: Formula<A>[]): Formula<A> {
  if (items.length === 0) return { kind: 'empty' };
  const build = (lo: number, hi: number): Formula<A> => {
    if (hi - lo === 1) return items[lo];
    const mid = lo + Math.ceil((hi - lo) / 2);
    return { kind, left: build(lo, mid), right: build(mid, hi) };
  };
  return build(0, items.length);
}

/** `OpamFormula.map`: each atom becomes a formula; empties are dropped, an emptied block disappears. */
export function mapFormula<A, B>(f: Formula<A>, fn: (a: A) => Formula<B>): Formula<B> {
  switch (f.kind) {
    case 'empty':
      return { kind: 'empty' };
    case 'atom':
      return fn(f.atom);
    case 'and':
      return makeAnd(mapFormula(f.left, fn), mapFormula(f.right, fn));
    case 'or':
      return makeOr(mapFormula(f.left, fn), mapFormula(f.right, fn));
    case 'block': {
      const inner = mapFormula(f.inner, fn);
      return inner.kind === 'empty' ? inner : { kind: 'block', inner };
    }
  }
}

/** Maps every atom to another atom, keeping the shape (blocks included). */
export function mapAtoms<A, B>(f: Formula<A>, fn: (a: A) => B): Formula<B> {
  switch (f.kind) {
    case 'empty':
      return f;
    case 'atom':
      return { kind: 'atom', atom: fn(f.atom) };
    case 'block':
      return { kind: 'block', inner: mapAtoms(f.inner, fn) };
    case 'and':
    case 'or':
      return { kind: f.kind, left: mapAtoms(f.left, fn), right: mapAtoms(f.right, fn) };
  }
}

/** The atoms, left to right. */
export function atoms<A>(f: Formula<A>): A[] {
  const out: A[] = [];
  const walk = (g: Formula<A>): void => {
    switch (g.kind) {
      case 'empty':
        return;
      case 'atom':
        out.push(g.atom);
        return;
      case 'block':
        walk(g.inner);
        return;
      case 'and':
      case 'or':
        walk(g.left);
        walk(g.right);
    }
  };
  walk(f);
  return out;
}

/** `OpamFormula.eval`: an empty formula is true. */
export function evalFormula<A>(f: Formula<A>, pred: (a: A) => boolean): boolean {
  switch (f.kind) {
    case 'empty':
      return true;
    case 'atom':
      return pred(f.atom);
    case 'block':
      return evalFormula(f.inner, pred);
    case 'and':
      return evalFormula(f.left, pred) && evalFormula(f.right, pred);
    case 'or':
      return evalFormula(f.left, pred) || evalFormula(f.right, pred);
  }
}

export type PartialResult<B> = { kind: 'true' } | { kind: 'false' } | { kind: 'formula'; formula: Formula<B> };

/** `OpamFormula.partial_eval`: atoms decide true, false, or a residual formula; blocks are dropped. */
export function partialEval<A, B>(f: Formula<A>, fn: (a: A) => PartialResult<B>): PartialResult<B> {
  switch (f.kind) {
    case 'empty':
      return { kind: 'formula', formula: { kind: 'empty' } };
    case 'atom':
      return fn(f.atom);
    case 'block':
      return partialEval(f.inner, fn);
    case 'and': {
      const l = partialEval(f.left, fn);
      const r = partialEval(f.right, fn);
      if (l.kind === 'false' || r.kind === 'false') return { kind: 'false' };
      if (l.kind === 'true') return r;
      if (r.kind === 'true') return l;
      return { kind: 'formula', formula: { kind: 'and', left: l.formula, right: r.formula } };
    }
    case 'or': {
      const l = partialEval(f.left, fn);
      const r = partialEval(f.right, fn);
      if (l.kind === 'true' || r.kind === 'true') return { kind: 'true' };
      if (l.kind === 'false') return r;
      if (r.kind === 'false') return l;
      return { kind: 'formula', formula: { kind: 'or', left: l.formula, right: r.formula } };
    }
  }
}

/** `OpamFormula.neg`: De Morgan, negating each atom. */
export function negateFormula<A>(f: Formula<A>, negAtom: (a: A) => A): Formula<A> {
  switch (f.kind) {
    case 'empty':
      return f;
    case 'atom':
      return { kind: 'atom', atom: negAtom(f.atom) };
    case 'block':
      return { kind: 'block', inner: negateFormula(f.inner, negAtom) };
    case 'and':
      return { kind: 'or', left: negateFormula(f.left, negAtom), right: negateFormula(f.right, negAtom) };
    case 'or':
      return { kind: 'and', left: negateFormula(f.left, negAtom), right: negateFormula(f.right, negAtom) };
  }
}

/** The conjuncts of a formula (`OpamFormula.ands_to_list`, blocks are looked through). */
export function andsToList<A>(f: Formula<A>): Formula<A>[] {
  if (f.kind === 'empty') return [];
  if (f.kind === 'and') return [...andsToList(f.left), ...andsToList(f.right)];
  if (f.kind === 'block') return andsToList(f.inner);
  return [f];
}

/** The disjuncts of a formula (`OpamFormula.ors_to_list`, blocks are looked through). */
export function orsToList<A>(f: Formula<A>): Formula<A>[] {
  if (f.kind === 'empty') return [];
  if (f.kind === 'or') return [...orsToList(f.left), ...orsToList(f.right)];
  if (f.kind === 'block') return orsToList(f.inner);
  return [f];
}

/**
 * Atoms (summed over clauses) beyond which a normal form is refused: a formula such as
 * `a1 & b1 | a2 & b2 | …` has a CNF exponentially larger than itself (2^n clauses), which would exhaust
 * memory. 100,000-term chains and lists are far inside (their normal forms are as long as they are).
 */
export const NORMAL_FORM_LIMIT = 4_000_000;

/** A formula whose normal form is larger than NORMAL_FORM_LIMIT atoms (the caller decides what that means). */
export class FormulaTooLargeError extends OpamError {
  constructor(
    readonly form: 'CNF' | 'DNF',
    readonly atomCount: number,
  ) {
    super(
      `its formula's ${form} would hold more than ${NORMAL_FORM_LIMIT.toLocaleString('en-US')} atoms (${atomCount >= NORMAL_FORM_LIMIT * 2 ? 'far ' : ''}more than ecocheck encodes)`,
    );
  }
}

/**
 * The size of a normal form without building it: clauses (capped) and atoms (capped) of the CNF
 * (`form` 'CNF') or of the DNF (the dual: `and` and `or` swap roles).
 */
function normalFormSize<A>(f: Formula<A>, form: 'CNF' | 'DNF'): { clauses: number; atoms: number } {
  const cap = (n: number) => Math.min(n, NORMAL_FORM_LIMIT * 2);
  const sum = form === 'CNF' ? 'and' : 'or';
  const aux = (g: Formula<A>): { clauses: number; atoms: number } => {
    switch (g.kind) {
      case 'empty':
        return form === 'CNF' ? { clauses: 0, atoms: 0 } : { clauses: 1, atoms: 0 };
      case 'atom':
        return { clauses: 1, atoms: 1 };
      case 'block':
        return aux(g.inner);
      case 'and':
      case 'or': {
        const l = aux(g.left);
        const r = aux(g.right);
        if (g.kind === sum) return { clauses: cap(l.clauses + r.clauses), atoms: cap(l.atoms + r.atoms) };
        // The product: every clause of one side joined with every clause of the other.
        if (form === 'CNF' && (l.clauses === 0 || r.clauses === 0)) return { clauses: 0, atoms: 0 };
        return { clauses: cap(l.clauses * r.clauses), atoms: cap(l.atoms * r.clauses + r.atoms * l.clauses) };
      }
    }
  };
  return aux(f);
}

function checkNormalFormSize<A>(f: Formula<A>, form: 'CNF' | 'DNF'): void {
  const size = normalFormSize(f, form);
  if (size.atoms > NORMAL_FORM_LIMIT || size.clauses > NORMAL_FORM_LIMIT)
    throw new FormulaTooLargeError(form, Math.max(size.atoms, size.clauses));
}

/**
 * Disjunctive normal form: a list of conjunctions of atoms (empty formula = one empty conjunction).
 * Throws FormulaTooLargeError rather than build one of more than NORMAL_FORM_LIMIT atoms.
 */
export function toDNF<A>(f: Formula<A>): A[][] {
  checkNormalFormSize(f, 'DNF');
  return dnf(f);
}

function dnf<A>(f: Formula<A>): A[][] {
  switch (f.kind) {
    case 'empty':
      return [[]];
    case 'atom':
      return [[f.atom]];
    case 'block':
      return dnf(f.inner);
    case 'or':
      return [...dnf(f.left), ...dnf(f.right)];
    case 'and': {
      const l = dnf(f.left);
      const r = dnf(f.right);
      const out: A[][] = [];
      for (const a of l) for (const b of r) out.push([...a, ...b]);
      return out;
    }
  }
}

/**
 * Conjunctive normal form: a list of disjunctions of atoms (empty formula = no clause). Throws
 * FormulaTooLargeError rather than build one of more than NORMAL_FORM_LIMIT atoms.
 */
export function toCNF<A>(f: Formula<A>): A[][] {
  checkNormalFormSize(f, 'CNF');
  return cnf(f);
}

function cnf<A>(f: Formula<A>): A[][] {
  switch (f.kind) {
    case 'empty':
      return [];
    case 'atom':
      return [[f.atom]];
    case 'block':
      return cnf(f.inner);
    case 'and':
      return [...cnf(f.left), ...cnf(f.right)];
    case 'or': {
      const l = cnf(f.left);
      const r = cnf(f.right);
      if (l.length === 0 || r.length === 0) return [];
      const out: A[][] = [];
      for (const a of l) for (const b of r) out.push([...a, ...b]);
      return out;
    }
  }
}

/**
 * Prints like `OpamFormula.string_of_formula`: `&` binds tighter than `|`, so an `|` under an `&` is
 * parenthesised, blocks keep their parentheses; the empty formula prints as `emptyText` (opam: `[]`).
 */
export function formulaToString<A>(f: Formula<A>, atomToString: (a: A) => string, emptyText = '[]'): string {
  const aux = (g: Formula<A>, inAnd: boolean): string => {
    switch (g.kind) {
      case 'empty':
        return emptyText;
      case 'atom':
        return atomToString(g.atom);
      case 'block':
        return `(${aux(g.inner, false)})`;
      case 'and':
        return `${aux(g.left, true)} & ${aux(g.right, true)}`;
      case 'or': {
        const s = `${aux(g.left, false)} | ${aux(g.right, false)}`;
        return inAnd ? `(${s})` : s;
      }
    }
  };
  return aux(f, false);
}

/** How the top-level items of a list are joined: `depends` is a conjunction, `depopts`/`conflicts` a disjunction. */
export type FormulaListKind = 'conj' | 'disj';

/**
 * Reads a formula from the syntax tree the way `OpamFormat.V.package_formula` does: a list's items are
 * joined by `kind`, `(…)` is a block, `&`/`|` are binary; `atomFromValue` reads every other node (it
 * throws a positioned error for what it does not accept).
 */
export function formulaFromValue<A>(v: Value, kind: FormulaListKind, atomFromValue: (v: Value) => A): Formula<A> {
  const join = kind === 'conj' ? ands : ors;
  const items = v.kind === 'list' ? v.items : [v];
  const aux = (x: Value): Formula<A> => {
    switch (x.kind) {
      case 'group':
        return { kind: 'block', inner: join(x.items.map(aux)) };
      case 'logop': {
        const left = aux(x.left);
        const right = aux(x.right);
        return { kind: x.op === '&' ? 'and' : 'or', left, right };
      }
      default:
        return { kind: 'atom', atom: atomFromValue(x) };
    }
  };
  return join(items.map(aux));
}

/** A positioned format error at the start of a node. */
export function formatErrorAt(span: Span, message: string): OpamFormatError {
  return new OpamFormatError(span.start, message);
}
