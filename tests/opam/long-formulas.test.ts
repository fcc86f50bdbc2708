/**
 * Formulas and filters of 100,000 terms: parsed without a recursion limit (chains of one operator are
 * built balanced), printed flat, read back equal, converted to the package model and evaluated, with
 * opam's answers. Deep explicit nesting is the one thing that cannot be balanced: a positioned error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Value } from '../../src/opam/ast.js';
import { parseOpamFile, parseOpamValue } from '../../src/opam/parser.js';
import { astEqual, printOpamFile, printValue } from '../../src/opam/printer.js';
import { OpamFormatError } from '../../src/opam/parse-error.js';
import { packageFromAst, type PackageMeta } from '../../src/opam/package-from-ast.js';
import { ands, atoms, evalFormula, FormulaTooLargeError, ors, toCNF, toDNF, formulaToString } from '../../src/opam/formula.js';
import {
  dependencyFormulaToString,
  dependencyVariables,
  evalFilterToBool,
  filterDependencyFormula,
  packageFormulaToString,
  printFilter,
  type VariableLookup,
} from '../../src/opam/filter.js';
import type { Formula } from '../../src/opam/package-model.js';

const N = 100_000;
const FILE = 'packages/big/big.1/opam';
const meta: PackageMeta = { name: 'big', version: '1', file: FILE, repository: '/r', filesDir: null, contentHash: 'h' };

function terms(make: (i: number) => string, sep: string, n = N): string {
  return Array.from({ length: n }, (_, i) => make(i)).join(sep);
}

/** The depth of a syntax tree, walked with a work list (so the check itself cannot overflow). */
function valueDepth(root: Value): number {
  let deepest = 0;
  const work: Array<[Value, number]> = [[root, 1]];
  while (work.length > 0) {
    const [v, d] = work.pop() as [Value, number];
    if (d > deepest) deepest = d;
    switch (v.kind) {
      case 'logop':
      case 'relop':
        work.push([v.left, d + 1], [v.right, d + 1]);
        break;
      case 'pfxop':
      case 'prefix-relop':
        work.push([v.arg, d + 1]);
        break;
      case 'list':
      case 'group':
        for (const x of v.items) work.push([x, d + 1]);
        break;
      case 'option':
        work.push([v.value, d + 1]);
        for (const x of v.options) work.push([x, d + 1]);
        break;
      default:
    }
  }
  return deepest;
}

function formulaDepth<A>(root: Formula<A>): number {
  let deepest = 0;
  const work: Array<[Formula<A>, number]> = [[root, 1]];
  while (work.length > 0) {
    const [f, d] = work.pop() as [Formula<A>, number];
    if (d > deepest) deepest = d;
    if (f.kind === 'and' || f.kind === 'or') work.push([f.left, d + 1], [f.right, d + 1]);
    else if (f.kind === 'block') work.push([f.inner, d + 1]);
  }
  return deepest;
}

const noVariables: VariableLookup = () => undefined;

test('a 100,000-term `|` or `&` chain parses balanced, prints flat and reads back equal', () => {
  for (const op of ['|', '&']) {
    const text = terms((i) => `a${i}`, ` ${op} `);
    const v = parseOpamValue(text, 'v.opam');
    assert.equal(v.kind, 'logop');
    assert.ok(valueDepth(v) <= 18, `depth ${valueDepth(v)}`);
    assert.equal(printValue(v), text);
    assert.ok(astEqual(parseOpamValue(printValue(v), 'p.opam'), v));
  }
  // Precedence holds inside long chains: `&` groups tighter than `|`, each chain balanced on its own.
  const mixed = terms((i) => `a${i} & b${i}`, ' | ', 20_000);
  const v = parseOpamValue(mixed, 'm.opam');
  assert.equal(printValue(v), mixed);
  assert.ok(valueDepth(v) <= 18);
});

test("short chains keep opam's left-nested shape; hand-built nestings of one operator print flat", () => {
  const a = parseOpamValue('a | b | c', 'v.opam');
  assert.ok(a.kind === 'logop' && a.left.kind === 'logop' && a.right.kind === 'ident');
  const right: Value = parseOpamValue('c', 'v.opam');
  const handBuilt: Value = {
    kind: 'logop',
    op: '|',
    left: parseOpamValue('a', 'v.opam'),
    right: { kind: 'logop', op: '|', left: parseOpamValue('b', 'v.opam'), right, span: right.span },
    span: right.span,
  };
  assert.equal(printValue(handBuilt), 'a | b | c');
  // Under a different operator the nested chain still needs its parentheses.
  assert.equal(printValue(parseOpamValue('a & (b | c) & d', 'v.opam')), 'a & (b | c) & d');
  assert.equal(printValue(parseOpamValue('(a | b) | c', 'v.opam')), '(a | b) | c');
});

test("100,000-term depends, conflicts and available: the package model, its printing and opam's answers", () => {
  const orDeps = terms((i) => `"x${i}"`, ' | ');
  const text = [
    'opam-version: "2.0"',
    `depends: [ ${orDeps} | "a" {>= "1"} ]`,
    `conflicts: [ ${terms((i) => `"c${i}"`, ' | ')} ]`,
    `depopts: [ ${terms((i) => `"o${i}"`, ' ')} ]`,
    `available: ${terms((i) => `os != "x${i}"`, ' & ')}`,
    '',
  ].join('\n');
  const ast = parseOpamFile(text, FILE);
  assert.ok(astEqual(parseOpamFile(printOpamFile(ast), FILE), ast));
  const p = packageFromAst(ast, meta);
  assert.ok(formulaDepth(p.depends) <= 19);
  assert.equal(atoms(p.depends).length, N + 1);
  assert.equal(atoms(p.depends)[N].name, 'a');
  assert.ok(packageFormulaToString(p.depends).endsWith('| "x99999" | "a" {>= "1"}'));
  assert.equal(atoms(p.conflicts).length, N);
  assert.equal(atoms(p.depopts).length, N);
  // Evaluation: any one disjunct; the available filter holds on linux, not on os x77.
  const lookupOs =
    (os: string): VariableLookup =>
    (_p, v) =>
      v === 'os' ? os : undefined;
  assert.equal(evalFilterToBool(p.available, lookupOs('linux'), false), true);
  assert.equal(evalFilterToBool(p.available, lookupOs('x77777'), false), false);
  assert.equal(
    evalFormula(p.depends, (x) => x.name === 'x99998'),
    true,
  );
  assert.equal(
    evalFormula(p.depends, (x) => x.name === 'nothing'),
    false,
  );
  assert.ok(printFilter(p.available).startsWith('os != "x0" & os != "x1" & '));
  // Normal forms: a disjunction is one clause of N+1 atoms, or N+1 conjunctions of one.
  const deps = filterDependencyFormula(
    p.depends,
    dependencyVariables({ build: true, post: true, test: false, doc: false, dev: false }),
    false,
  );
  assert.deepEqual(
    toCNF(deps).map((c) => c.length),
    [N + 1],
  );
  assert.equal(toDNF(deps).length, N + 1);
  assert.ok(dependencyFormulaToString(deps).startsWith('"x0" | "x1" | '));
});

test('100,000-term filters on a dependency and on a command, and a 100,000-item depends list', () => {
  const text = [
    'opam-version: "2.0"',
    `depends: [ "x" {${terms((i) => `v${i}`, ' | ')}} "y" {${terms((i) => `!v${i}`, ' & ')}} ${terms(() => '"a"', ' ')} ]`,
    `build: [ [ "make" ] {${terms((i) => `v${i}`, ' | ')} | v} ]`,
    '',
  ].join('\n');
  const ast = parseOpamFile(text, FILE);
  assert.ok(astEqual(parseOpamFile(printOpamFile(ast), FILE), ast));
  const p = packageFromAst(ast, meta);
  assert.ok(formulaDepth(p.depends) <= 19);
  // Undefined variables: the `|` filter is false (x dropped), the `!…&` filter too (y dropped, opam's
  // undefined is not true); with v77 set the first holds.
  const undefinedVars = filterDependencyFormula(p.depends, noVariables, false);
  assert.deepEqual([...new Set(atoms(undefinedVars).map((a) => a.name))], ['a']);
  const v77: VariableLookup = (_p, v) => (v === 'v77' ? true : v.startsWith('v') ? false : undefined);
  assert.deepEqual([...new Set(atoms(filterDependencyFormula(p.depends, v77, false)).map((a) => a.name))], ['x', 'a']);
  const command = p.build[0];
  assert.ok(command.filter !== undefined);
  assert.equal(evalFilterToBool(command.filter, noVariables, false), false);
  assert.equal(
    evalFilterToBool(command.filter, (_p, v) => (v === 'v' ? true : undefined), false),
    true,
  );
});

test("ands and ors of 100,000 formulas are balanced, and keep opam's left nesting for three", () => {
  const items = Array.from({ length: N }, (_, i) => ({ kind: 'atom', atom: i }) as Formula<number>);
  const f = ors(items);
  assert.ok(formulaDepth(f) <= 18);
  assert.equal(formulaToString(f, String).split(' | ').length, N);
  assert.equal(
    evalFormula(ands(items), (i) => i !== 54_321),
    false,
  );
  assert.equal(
    evalFormula(ands(items), () => true),
    true,
  );
  const three = ands(items.slice(0, 3));
  assert.ok(three.kind === 'and' && three.left.kind === 'and' && three.right.kind === 'atom');
  assert.deepEqual(ands([{ kind: 'empty' }, items[0], { kind: 'empty' }]), items[0]);
});

test('100,000 levels of explicit nesting: a positioned one-line error, never a stack overflow', () => {
  for (const [open, close] of [
    ['(', ')'],
    ['[', ']'],
    ['!', ''],
  ]) {
    const text = `opam-version: "2.0"\ndepends: [ ${open.repeat(N)}"a"${close.repeat(N)} ]\n`;
    assert.throws(
      () => parseOpamFile(text, FILE),
      (e: unknown) =>
        e instanceof OpamFormatError &&
        e.position.line === 2 &&
        /nesting deeper than \d+ levels/.test(e.message) &&
        !e.message.includes('\n'),
    );
  }
});

test('a normal form exponentially larger than its formula is refused, not built', () => {
  const pair = (i: number): Formula<number> => ({
    kind: 'and',
    left: { kind: 'atom', atom: 2 * i },
    right: { kind: 'atom', atom: 2 * i + 1 },
  });
  const f = ors(Array.from({ length: 40 }, (_, i) => pair(i)));
  assert.throws(() => toCNF(f), FormulaTooLargeError);
  assert.equal(toDNF(f).length, 40);
  const g = ands(
    Array.from({ length: 40 }, (_, i) =>
      ors([
        { kind: 'atom', atom: 2 * i },
        { kind: 'atom', atom: 2 * i + 1 },
      ]),
    ),
  );
  assert.throws(() => toDNF(g), FormulaTooLargeError);
  assert.equal(toCNF(g).length, 40);
  // Small products are still built: 2^10 clauses of 10 atoms.
  assert.equal(toCNF(ors(Array.from({ length: 10 }, (_, i) => pair(i)))).length, 1024);
});
