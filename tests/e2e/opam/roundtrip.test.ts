import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseOpamFile, parseOpamValue } from '../../../src/opam/parser.js';
import { astEqual, printOpamFile, printValue } from '../../../src/opam/printer.js';
import { OpamFormatError } from '../../../src/opam/parse-error.js';
import type { Span, Value } from '../../../src/opam/ast.js';
import { opamFiles, snapshotRepo } from '../../support/snapshot.js';
import { skipWithoutSnapshot } from '../../support/missing-setup.js';

const noSpan: Span = { start: { file: 'h', line: 1, column: 1 }, end: { file: 'h', line: 1, column: 1 } };
const id = (name: string): Value => ({ kind: 'ident', name, span: noSpan });
const str = (value: string): Value => ({ kind: 'string', value, span: noSpan });

function roundTripValue(text: string): void {
  const v = parseOpamValue(text, 'v.opam');
  const printed = printValue(v);
  assert.ok(astEqual(parseOpamValue(printed, 'p.opam'), v), `${text} printed as ${printed}`);
}

test('every opam file of the snapshot parses and round-trips through the printer', { skip: skipWithoutSnapshot() }, () => {
  const files = opamFiles(snapshotRepo());
  assert.equal(files.length, 18_793);
  const errors: string[] = [];
  const mismatches: string[] = [];
  for (const file of files) {
    let ast;
    try {
      ast = parseOpamFile(readFileSync(file, 'utf8'), file);
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
      continue;
    }
    const printed = printOpamFile(ast);
    try {
      if (!astEqual(parseOpamFile(printed, `${file} (printed)`), ast)) mismatches.push(file);
    } catch (err) {
      mismatches.push(`${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  assert.deepEqual(errors.slice(0, 5), []);
  assert.equal(errors.length, 0);
  assert.deepEqual(mismatches.slice(0, 5), []);
});

test('tricky values round-trip', () => {
  for (const text of [
    '!a & b | c',
    'a | b & c',
    '(a | b) & c',
    '!(a & b)',
    '!a {x} & b',
    '!?a',
    '! = a',
    '!(= a)',
    '[a = b = c]',
    '[a (>= b)]',
    '[a & b (>= c)]',
    '"pkg" {>= "1" & (< "2" | = "3") & !with-test}',
    'a {x} {y} {}',
    '[[] () {}]',
    'FOO =+= "x"',
    '[A += "1" B := "2" C =: "3" D =+ "4"]',
    '-1',
    '[1 -2 _:x a+b:c]',
    'true & false',
    '"a\\\\b\\"c\\r\\n\\td\\000\\255"',
    '"""x"y"""',
    '"é ü 漢字 😀"',
    '~ "1.0"',
  ]) {
    roundTripValue(text);
  }
});

test('strings with every byte value round-trip', () => {
  let all = '';
  for (let c = 0; c < 256; c++) all += String.fromCharCode(c);
  for (const s of [all, '\r\n', '\\\n  x', '"""', '\\', '"', '\r', `${all}\u2028\ud83d\ude00`]) {
    const printed = printValue(str(s));
    assert.equal(printed.startsWith('"'), true);
    const back = parseOpamValue(printed, 's.opam');
    assert.deepEqual(back.kind === 'string' ? back.value : undefined, s, JSON.stringify(printed));
  }
});

test('hand-built trees that need parentheses print as groups that keep their meaning', () => {
  const or: Value = { kind: 'logop', op: '|', left: id('a'), right: id('b'), span: noSpan };
  const cases: Array<[Value, string]> = [
    [{ kind: 'logop', op: '&', left: or, right: id('c'), span: noSpan }, '(a | b) & c'],
    [{ kind: 'logop', op: '&', left: id('c'), right: or, span: noSpan }, 'c & (a | b)'],
    [{ kind: 'pfxop', op: '!', arg: or, span: noSpan }, '!(a | b)'],
    [{ kind: 'option', value: { kind: 'pfxop', op: '!', arg: id('a'), span: noSpan }, options: [id('x')], span: noSpan }, '(!a) {x}'],
    [{ kind: 'option', value: or, options: [], span: noSpan }, '(a | b) {}'],
    [{ kind: 'pfxop', op: '!', arg: { kind: 'prefix-relop', op: '=', arg: id('a'), span: noSpan }, span: noSpan }, '! = a'],
    [{ kind: 'list', items: [id('a'), { kind: 'prefix-relop', op: '>=', arg: id('b'), span: noSpan }], span: noSpan }, '[a (>= b)]'],
  ];
  for (const [tree, expected] of cases) {
    const printed = printValue(tree);
    assert.equal(printed, expected);
    // Reading it back keeps the meaning: same tree once the added groups are unwrapped.
    assert.ok(astEqual(unwrapSingletonGroups(parseOpamValue(printed, 'h.opam')), tree), printed);
  }
});

test('a hand-built chain of one operator prints flat, whatever its nesting (the operators are associative)', () => {
  const or: Value = { kind: 'logop', op: '|', left: id('a'), right: id('b'), span: noSpan };
  const rightNested: Value = { kind: 'logop', op: '|', left: id('c'), right: or, span: noSpan };
  assert.equal(printValue(rightNested), 'c | a | b');
  // Reads back as the parser's shape of the same chain.
  assert.ok(astEqual(parseOpamValue(printValue(rightNested), 'h.opam'), parseOpamValue('c | a | b', 'h.opam')));
});

test('relational and environment operators on non-atoms have no opam syntax and are refused', () => {
  const or: Value = { kind: 'logop', op: '|', left: id('a'), right: id('b'), span: noSpan };
  const list: Value = { kind: 'list', items: [], span: noSpan };
  for (const tree of [
    { kind: 'relop', op: '<', left: or, right: str('1'), span: noSpan },
    { kind: 'relop', op: '<', left: str('1'), right: list, span: noSpan },
    { kind: 'prefix-relop', op: '>=', arg: list, span: noSpan },
    { kind: 'env-binding', name: id('A'), op: '+=', value: or, span: noSpan },
  ] satisfies Value[]) {
    assert.throws(() => printValue(tree), TypeError);
  }
});

test('trees the parser produces never get extra parentheses', () => {
  const printed = printValue(parseOpamValue('a | b & !c {x} | ?d & e = "1" {>= "2"}', 'n.opam'));
  assert.equal(printed, 'a | b & !c {x} | ?d & e = "1" {>= "2"}');
});

test('astEqual ignores positions but sees every other difference', () => {
  const base = 'x: [a "b" 1 true (c) d {e} f = "g" >= "h" !i j & k l | m N += "o"]\ns "n" {y: z}\n';
  const a = parseOpamFile(base, 'a.opam');
  assert.ok(astEqual(a, parseOpamFile(`# moved\n\n  ${base.replace(/ /g, '   ')}`, 'b.opam')));
  for (const changed of [
    base.replace('"b"', '"B"'),
    base.replace(' 1 ', ' 2 '),
    base.replace('true', 'false'),
    base.replace('(c)', '[c]'),
    base.replace('{e}', '{e e}'),
    base.replace('= "g"', '!= "g"'),
    base.replace('>= "h"', '> "h"'),
    base.replace('!i', '?i'),
    base.replace('j & k', 'j | k'),
    base.replace('+=', ':='),
    base.replace('"n"', '"m"'),
    base.replace('y: z', 'y: w'),
    base.replace('y: z', 'w: z'),
    base.replace('s "n"', 's'),
    base.replace(' l ', ' '),
    `${base}t: 1\n`,
    base.replace('x:', 'X:'),
    base.replace('{e}', '{}'),
  ]) {
    assert.notEqual(changed, base);
    assert.equal(astEqual(a, parseOpamFile(changed, 'c.opam')), false, changed);
  }
});

test('printing very long operator chains does not exhaust the stack', () => {
  const text = Array.from({ length: 100_000 }, (_, i) => `a${i}`).join(' & ');
  const v = parseOpamValue(text, 'l.opam');
  assert.equal(printValue(v), text);
  assert.ok(astEqual(parseOpamValue(printValue(v), 'l.opam'), v));
  assert.throws(() => parseOpamValue(`${text} &`, 'l.opam'), OpamFormatError);
});

/** Replaces each one-element group by its element (what the printer's added parentheses read back as). */
function unwrapSingletonGroups(v: Value): Value {
  switch (v.kind) {
    case 'group':
      return v.items.length === 1 ? unwrapSingletonGroups(v.items[0]) : { ...v, items: v.items.map(unwrapSingletonGroups) };
    case 'list':
      return { ...v, items: v.items.map(unwrapSingletonGroups) };
    case 'relop':
    case 'logop':
      return { ...v, left: unwrapSingletonGroups(v.left), right: unwrapSingletonGroups(v.right) };
    case 'pfxop':
    case 'prefix-relop':
      return { ...v, arg: unwrapSingletonGroups(v.arg) };
    case 'option':
      return { ...v, value: unwrapSingletonGroups(v.value), options: v.options.map(unwrapSingletonGroups) };
    case 'env-binding':
      return { ...v, name: unwrapSingletonGroups(v.name), value: unwrapSingletonGroups(v.value) };
    default:
      return v;
  }
}
