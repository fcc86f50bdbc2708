import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Span, Value } from '../../src/opam/ast.js';
import type { Filter, Formula, PackageAtom } from '../../src/opam/package-model.js';
import {
  evalFilter,
  evalFilterToBool,
  filterDependencyFormula,
  filterFromValue,
  filterFromValues,
  packageFormulaFromValue,
  packageFormulaToString,
  dependencyFormulaToString,
  printFilter,
  dependencyVariables,
  type VariableLookup,
  type VariableValue,
} from '../../src/opam/filter.js';
import { interpolate, parseFilterIdent, variablesOf } from '../../src/opam/interpolation.js';
import { ands, atoms, evalFormula, formulaToString, toCNF, toDNF, orsToList } from '../../src/opam/formula.js';
import { OpamFormatError } from '../../src/opam/parse-error.js';

// --- tiny builders for syntax trees and filters ----------------------------------------------------

let col = 1;
function sp(): Span {
  const start = { file: 't/opam', line: 3, column: col++ };
  return { start, end: start };
}
const S = (value: string): Value => ({ kind: 'string', value, span: sp() });
const I = (name: string): Value => ({ kind: 'ident', name, span: sp() });
const B = (value: boolean): Value => ({ kind: 'bool', value, span: sp() });
const N = (value: number): Value => ({ kind: 'int', value, span: sp() });
const AND = (left: Value, right: Value): Value => ({ kind: 'logop', op: '&', left, right, span: sp() });
const OR = (left: Value, right: Value): Value => ({ kind: 'logop', op: '|', left, right, span: sp() });
const REL = (op: '=' | '<' | '>=' | '!=', left: Value, right: Value): Value => ({ kind: 'relop', op, left, right, span: sp() });
const PRE = (op: '=' | '<' | '>=' | '<=' | '>' | '!=', arg: Value): Value => ({ kind: 'prefix-relop', op, arg, span: sp() });
const NOT = (arg: Value): Value => ({ kind: 'pfxop', op: '!', arg, span: sp() });
const DEF = (arg: Value): Value => ({ kind: 'pfxop', op: '?', arg, span: sp() });
const GRP = (...items: Value[]): Value => ({ kind: 'group', items, span: sp() });
const LIST = (...items: Value[]): Value => ({ kind: 'list', items, span: sp() });
const OPT = (value: Value, ...options: Value[]): Value => ({ kind: 'option', value, options, span: sp() });

const fb = (value: boolean): Filter => ({ kind: 'bool', value });
const fs = (value: string): Filter => ({ kind: 'string', value });
const fv = (variable: string, packages: string[] | null = null): Filter => ({ kind: 'ident', packages, variable });
const fand = (left: Filter, right: Filter): Filter => ({ kind: 'and', left, right });
const f_or = (left: Filter, right: Filter): Filter => ({ kind: 'or', left, right });
const fnot = (arg: Filter): Filter => ({ kind: 'not', arg });

function env(vars: Record<string, VariableValue>): VariableLookup {
  return (packages, variable) => {
    const key = packages === null ? variable : `${packages.join('+')}:${variable}`;
    return Object.prototype.hasOwnProperty.call(vars, key) ? vars[key] : undefined;
  };
}

const noVars = env({});

// --- three-valued logic -----------------------------------------------------------------------------

const U: Filter = fv('undefined-variable');
const T = fb(true);
const F = fb(false);
const label = (f: Filter) => (f === U ? 'U' : printFilter(f));

test('and: false absorbs undefined on both sides, otherwise undefined propagates', () => {
  const table: [Filter, Filter, boolean | undefined][] = [
    [T, T, true],
    [T, F, false],
    [F, T, false],
    [F, F, false],
    [F, U, false],
    [U, F, false],
    [T, U, undefined],
    [U, T, undefined],
    [U, U, undefined],
  ];
  for (const [a, b, want] of table) assert.equal(evalFilter(fand(a, b), noVars), want, `${label(a)} & ${label(b)}`);
});

test('or: true absorbs undefined on both sides, otherwise undefined propagates', () => {
  const table: [Filter, Filter, boolean | undefined][] = [
    [T, T, true],
    [T, F, true],
    [F, T, true],
    [F, F, false],
    [T, U, true],
    [U, T, true],
    [F, U, undefined],
    [U, F, undefined],
    [U, U, undefined],
  ];
  for (const [a, b, want] of table) assert.equal(evalFilter(f_or(a, b), noVars), want, `${label(a)} | ${label(b)}`);
});

test('not and ?: negation keeps undefined, ?v tests definedness', () => {
  assert.equal(evalFilter(fnot(T), noVars), false);
  assert.equal(evalFilter(fnot(F), noVars), true);
  assert.equal(evalFilter(fnot(U), noVars), undefined);
  assert.equal(evalFilter({ kind: 'defined', arg: U }, noVars), false);
  assert.equal(evalFilter({ kind: 'defined', arg: fv('os') }, env({ os: 'linux' })), true);
  assert.equal(evalFilter({ kind: 'defined', arg: fand(F, U) }, noVars), true);
});

test('strings "true"/"false" act as booleans; other strings make logic undefined; only the literal false absorbs', () => {
  assert.equal(evalFilter(fand(fs('true'), T), noVars), true);
  assert.equal(evalFilter(fnot(fs('false')), noVars), true);
  assert.equal(evalFilter(fand(fs('linux'), T), noVars), undefined);
  // opam's absorption only looks at reduced booleans, not at the string "false".
  assert.equal(evalFilter(fand(fs('false'), U), noVars), undefined);
  assert.equal(evalFilter(fv('x'), env({ x: 'false' })), 'false');
  assert.equal(evalFilterToBool(fv('x'), env({ x: 'false' }), true), false);
  assert.equal(evalFilterToBool(fs('linux'), noVars, true), true);
  assert.equal(evalFilterToBool(fs('linux'), noVars, false), false);
  assert.equal(evalFilterToBool(U, noVars, true), true);
  assert.equal(evalFilterToBool(U, noVars, false), false);
});

test('relational operators compare with the version order; undefined operands give undefined', () => {
  const op = (o: '=' | '<' | '>=' | '!=', l: Filter, r: Filter): Filter => ({ kind: 'op', op: o, left: l, right: r });
  const e = env({ 'ocaml:version': '4.14.1', os: 'linux', flag: true });
  assert.equal(evalFilter(op('>=', fv('version', ['ocaml']), fs('4.08')), e), true);
  assert.equal(evalFilter(op('<', fv('version', ['ocaml']), fs('4.14.1~rc1')), e), false);
  assert.equal(evalFilter(op('=', fs('1.0'), fs('1.00')), e), true);
  assert.equal(evalFilter(op('!=', fv('os'), fs('linux')), e), false);
  assert.equal(evalFilter(op('=', fv('flag'), fs('true')), e), true, 'a boolean compares as "true"');
  assert.equal(evalFilter(op('=', fv('nope'), fs('x')), e), undefined);
  assert.equal(evalFilter(fand(F, op('=', fv('nope'), fs('x'))), e), false);
});

test('strings and variable values in filters are interpolated; undefined parts become empty', () => {
  const e = env({ os: 'linux', 'ocaml:version': '5.1.0' });
  assert.equal(evalFilter(fs('%{os}%-x'), e), 'linux-x');
  assert.equal(evalFilter(fs('a%{nope}%b'), e), 'ab');
  assert.equal(evalFilter({ kind: 'op', op: '=', left: fs('%{ocaml:version}%'), right: fs('5.1.0') }, e), true);
  assert.equal(evalFilter(fv('y'), env({ y: 'v%{os}%', os: 'bsd' })), 'vbsd');
});

test('identifiers: lists join with spaces, converters, multi-package conjunction, enable', () => {
  const e = env({ l: ['a', 'b'], 'a:installed': true, 'b:installed': false, 'c:installed': 'true', '_:name': 'self' });
  assert.equal(evalFilter(fv('l'), e), 'a b');
  assert.equal(evalFilter({ kind: 'ident', packages: ['a'], variable: 'installed', converter: ['yes', 'no'] }, e), 'yes');
  assert.equal(evalFilter({ kind: 'ident', packages: ['zz'], variable: 'installed', converter: ['yes', 'no'] }, e), 'no');
  assert.equal(evalFilter(fv('installed', ['a', 'c']), e), true);
  assert.equal(evalFilter(fv('installed', ['a', 'b']), e), false);
  assert.equal(evalFilter(fv('installed', ['b', 'zz']), e), false, 'stops at the first false');
  assert.equal(evalFilter(fv('installed', ['zz', 'a']), e), undefined, 'undefined then true stays undefined');
  assert.equal(evalFilter(fv('enable', ['a']), e), 'enable');
  assert.equal(evalFilter(fv('enable', ['b']), e), 'disable');
  assert.equal(evalFilter(fv('name', ['_']), e), 'self');
});

// --- reading and printing filters -----------------------------------------------------------------

test('filterFromValue reads the filter language and printFilter prints it back with opam parentheses', () => {
  const v = OR(AND(REL('=', I('os'), S('linux')), NOT(I('with-test'))), DEF(I('foo:bar')));
  const f = filterFromValue(v);
  assert.equal(printFilter(f), 'os = "linux" & !with-test | ?foo:bar');
  const g = filterFromValue(AND(GRP(OR(I('a'), I('b'))), I('c')));
  assert.equal(printFilter(g), '(a | b) & c');
  assert.equal(printFilter(filterFromValue(REL('=', NOT(I('a')), B(false)))), '(!a) = false');
  assert.deepEqual(filterFromValue(N(42)), { kind: 'string', value: '42' });
  assert.deepEqual(filterFromValue(I('pkg?on:off')), { kind: 'ident', packages: null, variable: 'pkg', converter: ['on', 'off'] });
  assert.deepEqual(filterFromValues([], sp()), { kind: 'bool', value: true });
  assert.deepEqual(filterFromValues([GRP(I('x'))], sp()), fv('x'));
});

test('filterFromValue rejects non-filters with a positioned error', () => {
  const bad = LIST(S('x'));
  assert.throws(
    () => filterFromValue(bad),
    (e: unknown) => e instanceof OpamFormatError && e.position.column === bad.span.start.column && /filter/.test(e.detail),
  );
  const two = [I('a'), I('b')];
  assert.throws(
    () => filterFromValues(two, sp()),
    (e: unknown) => e instanceof OpamFormatError && e.position.column === two[1]!.span.start.column,
  );
});

// --- interpolation --------------------------------------------------------------------------------

test('interpolate: variables, package variables, converters, %%, unclosed and undefined', () => {
  const e = env({
    prefix: '/opt',
    'ocaml:version': '5.2.0',
    '_:name': 'foo',
    'a:installed': true,
    'b:installed': true,
    jobs: '4',
    l: ['x', 'y'],
  });
  assert.equal(interpolate('%{prefix}%/lib', e), '/opt/lib');
  assert.equal(interpolate('v%{ocaml:version}%', e), 'v5.2.0');
  assert.equal(interpolate('%{_:name}%.install', e), 'foo.install');
  assert.equal(interpolate('--%{a:enable}%-x', e), '--enable-x');
  assert.equal(interpolate('--%{z:enable}%-x', e), '--disable-x');
  assert.equal(interpolate('%{a+b:installed}%', e), 'true');
  assert.equal(interpolate('%{jobs?yes:no}%', e), 'no', 'a non-boolean value takes the else branch');
  assert.equal(interpolate('%{a:installed?with:without}%', e), 'with');
  assert.equal(interpolate('100%% %{l}%', e), '100% x y');
  assert.equal(interpolate('%{unclosed', e), '%{unclosed');
  assert.equal(interpolate('a%{nope}%b', e), 'ab');
  assert.equal(interpolate('a%{nope}%b', e, { undefined: 'keep' }), 'a%{nope}%b');
  const seen: string[] = [];
  interpolate('%{nope}% %{p:q}%', e, { onUndefined: (s) => seen.push(s) });
  assert.deepEqual(seen, ['nope', 'p:q']);
});

test('parseFilterIdent and variablesOf', () => {
  assert.deepEqual(parseFilterIdent('a+b:installed'), { packages: ['a', 'b'], variable: 'installed' });
  assert.deepEqual(parseFilterIdent('_:lib'), { packages: ['_'], variable: 'lib' });
  assert.deepEqual(parseFilterIdent('foo:installed?x:y'), { packages: ['foo'], variable: 'installed', converter: ['x', 'y'] });
  assert.deepEqual(
    variablesOf('%{a}% %% %{p:b}% %{c').map((i) => i.variable),
    ['a', 'b'],
  );
});

// --- package formulas ----------------------------------------------------------------------------

test('packageFormulaFromValue: list is a conjunction for depends, disjunction for depopts; & binds tighter than |', () => {
  const depends = LIST(
    OPT(S('ocaml'), PRE('>=', S('4.08'))),
    OR(OPT(S('a'), PRE('>=', S('1'))), GRP(AND(S('b'), S('c')))),
    OPT(S('alcotest'), I('with-test')),
    OPT(S('dune'), AND(I('build'), PRE('>=', S('3.0')))),
  );
  const f = packageFormulaFromValue(depends, 'conj');
  assert.equal(
    packageFormulaToString(f),
    '"ocaml" {>= "4.08"} & ("a" {>= "1"} | ("b" & "c")) & "alcotest" {with-test} & "dune" {build & >= "3.0"}',
  );
  const depopts = packageFormulaFromValue(LIST(S('x'), S('y')), 'disj');
  assert.equal(packageFormulaToString(depopts), '"x" | "y"');
  assert.deepEqual(orsToList(depopts).length, 2);
  // `!` over constraints negates the operators (De Morgan).
  const neg = packageFormulaFromValue(LIST(OPT(S('p'), NOT(GRP(AND(PRE('>=', S('1')), PRE('<', S('2'))))))), 'conj');
  assert.equal(packageFormulaToString(neg), '"p" {(< "1" | >= "2")}');
});

test('packageFormulaFromValue rejects bad atoms with a position', () => {
  const bad = I('notastring');
  assert.throws(
    () => packageFormulaFromValue(LIST(bad), 'conj'),
    (e: unknown) => e instanceof OpamFormatError && e.position.column === bad.span.start.column,
  );
  const digitsOnly = S('123-_');
  assert.throws(
    () => packageFormulaFromValue(LIST(digitsOnly), 'conj'),
    (e: unknown) => e instanceof OpamFormatError && /invalid package name/.test(e.detail),
    'a name needs a letter',
  );
  const badName = S('bad name!');
  assert.throws(
    () => packageFormulaFromValue(LIST(badName), 'conj'),
    (e: unknown) => e instanceof OpamFormatError && /invalid package name/.test(e.detail),
  );
  const badVersion = S('1.0 beta');
  assert.throws(
    () => packageFormulaFromValue(LIST(OPT(S('p'), PRE('>=', badVersion))), 'conj'),
    (e: unknown) => e instanceof OpamFormatError && e.position.column === badVersion.span.start.column,
  );
});

test('filterDependencyFormula: false filters drop the atom, versions are evaluated, undefined is the default', () => {
  const depends = packageFormulaFromValue(
    LIST(
      OPT(S('ocaml'), PRE('>=', S('4.08'))),
      OPT(S('alcotest'), I('with-test')),
      OPT(S('odoc'), I('with-doc')),
      OPT(S('dune'), AND(I('build'), PRE('>=', S('3.0')))),
      OPT(S('foo'), PRE('=', I('_:version'))),
      OPT(S('bar'), PRE('=', S('%{version}%'))),
      OPT(S('mystery'), I('unknown-var')),
      OPT(S('alt'), OR(I('with-test'), PRE('<', S('2')))),
    ),
    'conj',
  );
  const base = dependencyVariables({ build: true, post: false, test: false, doc: true, dev: false });
  const lookup: VariableLookup = (p, v) =>
    p && p[0] === '_' && v === 'version' ? '1.2' : p === null && v === 'version' ? '1.3' : base(p, v);
  const out = filterDependencyFormula(depends, lookup);
  assert.equal(
    dependencyFormulaToString(out),
    '"ocaml" {>= "4.08"} & "odoc" & "dune" {>= "3.0"} & "foo" {= "1.2"} & "bar" {= "1.3"} & "alt" {< "2"}',
  );
  const withDefaultTrue = filterDependencyFormula(depends, lookup, true);
  assert.ok(atoms(withDefaultTrue).some((a) => a.name === 'mystery'));
  // A version that cannot be evaluated, or evaluates to no valid version, leaves the bare name
  // (opam drops the constraint).
  const undefVersion = filterDependencyFormula(packageFormulaFromValue(LIST(OPT(S('q'), PRE('=', I('nowhere')))), 'conj'), noVars);
  assert.deepEqual(
    atoms(undefVersion).map((a) => a.name),
    ['q'],
  );
  assert.deepEqual(atoms(undefVersion)[0]!.constraint, { kind: 'empty' });
  const emptyVersion = filterDependencyFormula(packageFormulaFromValue(LIST(OPT(S('r'), PRE('>=', S('%{nowhere}%')))), 'conj'), noVars);
  assert.equal(dependencyFormulaToString(emptyVersion), '"r"');
  // Everything filtered out of an `|` leaves the other side.
  const disj = packageFormulaFromValue(LIST(OR(OPT(S('x'), I('with-test')), S('y'))), 'conj');
  assert.equal(dependencyFormulaToString(filterDependencyFormula(disj, lookup)), '"y"');
});

// --- generic formula helpers ---------------------------------------------------------------------

test('formula helpers: eval, DNF/CNF, printing parentheses', () => {
  const a = (x: string): Formula<string> => ({ kind: 'atom', atom: x });
  const f: Formula<string> = { kind: 'and', left: a('p'), right: { kind: 'or', left: a('q'), right: a('r') } };
  assert.equal(
    formulaToString(f, (x) => x),
    'p & (q | r)',
  );
  assert.equal(
    formulaToString({ kind: 'or', left: f, right: a('s') }, (x) => x),
    'p & (q | r) | s',
  );
  assert.deepEqual(toDNF(f), [
    ['p', 'q'],
    ['p', 'r'],
  ]);
  assert.deepEqual(toCNF(f), [['p'], ['q', 'r']]);
  assert.equal(
    evalFormula(f, (x) => x !== 'q'),
    true,
  );
  assert.equal(
    evalFormula(f, (x) => x === 'p'),
    false,
  );
  assert.equal(
    evalFormula({ kind: 'empty' }, () => false),
    true,
  );
  assert.equal(
    formulaToString(ands([a('x'), { kind: 'empty' }, a('y')]), (x) => x),
    'x & y',
  );
  const pf: Formula<PackageAtom> = { kind: 'empty' };
  assert.equal(packageFormulaToString(pf), '');
});

// --- oracle: real opam 2.1.2's verdict on `available:` filters ----------------------------------

test('available: filters evaluate as real opam 2.1.2 decided (fixtures/repos/filter-oracle)', async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { projectRoot } = await import('../support/snapshot.js');
  const { loadRepositories } = await import('../../src/opam/repository.js');
  const root = join(projectRoot, 'fixtures', 'repos', 'filter-oracle');
  const oracle = JSON.parse(readFileSync(join(root, 'opam-available.json'), 'utf8')) as {
    available: string[];
    notAvailable: string[];
    parseError: { package: string };
  };
  const load = loadRepositories([root]);
  // opam's own "undefined" logic: available when the filter is true; undefined counts as false.
  const lookup: VariableLookup = (packages, variable) => (packages === null && variable === 'os' ? 'linux' : undefined);
  const verdict = (name: string) => evalFilterToBool(load.packages.get(name)![0]!.available, lookup, false);
  assert.ok(oracle.available.length > 10 && oracle.notAvailable.length > 10);
  for (const name of oracle.available) assert.equal(verdict(name), true, name);
  for (const name of oracle.notAvailable) assert.equal(verdict(name), false, name);
  // The file opam refuses to parse is refused here too, at the same place (opam counts columns from 0).
  assert.deepEqual(
    load.errors.map((e) => [e.file.includes(oracle.parseError.package), e.line, e.column]),
    [[true, 2, 27]],
  );
});
